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

#include "pipeline/core/calendar_date.hpp"
#include "pipeline/core/result.hpp"
#include "pipeline/core/state_store.hpp"

namespace demo {

/// What `acquire_date` found.
struct DateLease {
  /// The holder the lease was taken from: it died with the date half-run (empty when the
  /// date was free). The caller recovers what that run left: its sent messages, its leases.
  std::string taken_from;
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

/// Gives the lease on `date` back (a no-op when this process does not hold it).
/// **Errors:** the store's.
pipeline::Status release_date(pipeline::StateStore& store, pipeline::CalendarDate date);

}  // namespace demo
