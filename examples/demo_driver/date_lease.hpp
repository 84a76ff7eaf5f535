#pragma once
/// @file
/// A lease on one game date of a shared store, so two operators' backfills (or demos) on
/// one store never run the same date at once. Include as "demo_driver/date_lease.hpp".
///
/// The lease is the row `backfill/lease/<date>`: its holder (host, pid, a start stamp) and
/// its end on the **system** clock — never the simulated one, which every run of a date
/// replays from the same morning. A holder is alive until its lease ends, or, on this
/// host, until its pid is gone (a kill -9 is seen at once, not after the lease).

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <utility>

#include "pipeline/core/calendar_date.hpp"
#include "pipeline/core/result.hpp"
#include "pipeline/core/state_store.hpp"

namespace demo {

/// The lease on one date, held by this process until destroyed (the destructor gives it
/// back, so every way out of a date releases it). Move-only.
class DateLease {
 public:
  DateLease(pipeline::StateStore& store, pipeline::CalendarDate date, std::string taken_from)
      : store_(&store), date_(date), taken_from_(std::move(taken_from)) {}
  DateLease(DateLease&& other) noexcept
      : store_(std::exchange(other.store_, nullptr)), date_(other.date_), taken_from_(std::move(other.taken_from_)) {}
  DateLease& operator=(DateLease&&) = delete;
  DateLease(const DateLease&) = delete;
  DateLease& operator=(const DateLease&) = delete;
  ~DateLease();

  /// The holder the lease was taken from: it died with the date half-run (empty when the
  /// date was free). The caller recovers what that run left (`recover_date`).
  [[nodiscard]] const std::string& taken_from() const noexcept { return taken_from_; }

 private:
  pipeline::StateStore* store_;
  pipeline::CalendarDate date_;
  std::string taken_from_;
};

/// Options of `acquire_date`.
struct DateLeaseOptions {
  std::chrono::seconds lease{600};                   ///< Longer than one date takes to run.
  std::chrono::milliseconds poll{50};                ///< How often a waiter looks again.
  /// Returns true when the waiter should stop waiting (the date got done meanwhile).
  std::function<pipeline::Result<bool>()> done;
};

/// Takes the lease on `date` for this process, waiting while another live holder has it.
/// Returns nullopt when `options.done` said the date got done while waiting.
/// **Errors:** the store's.
pipeline::Result<std::optional<DateLease>> acquire_date(pipeline::StateStore& store, pipeline::CalendarDate date,
                                                        const DateLeaseOptions& options = {});

/// Recovers what a holder that died in `date` left (`DateLease::taken_from()` names it):
/// its runs' leases are ended (they were its own, and the simulated clock of a re-run
/// replays the same morning, so they would look live), and what the outbox had sent since
/// the day began is sent again — the dead process's in-memory transport took it; consumers
/// skip what they already did by its stable id. The caller also runs the date with
/// `DemoOptions::take_over`, so a Phase 5 batch left waiting gets a waiter.
/// **Errors:** the store's.
pipeline::Status recover_date(pipeline::StateStore& store, pipeline::CalendarDate date, const std::string& taken_from);


}  // namespace demo
