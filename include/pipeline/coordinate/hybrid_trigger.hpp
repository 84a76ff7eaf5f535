#pragma once
/// @file
/// `HybridTrigger`: the Phase 4 completion event plus the daily scheduler backup.

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "pipeline/coordinate/batch_coordinator.hpp"
#include "pipeline/coordinate/fired_jobs.hpp"
#include "pipeline/core/config.hpp"
#include "pipeline/coordinate/scheduler.hpp"
#include "pipeline/core/message_codec.hpp"
#include "pipeline/core/transport.hpp"
#include "pipeline/orchestrate/idempotent_consumer.hpp"

namespace pipeline::inline v0 {

/// Settings of a `HybridTrigger`. The defaults are neutral names; a pipeline sets its own
/// upstream topic (the examples' are in examples/phase5_coordinator).
struct HybridTriggerOptions {
  std::string phase4_topic = "phase4-precompute-complete";  ///< The upstream completion (event path).
  std::string subscription = "phase5-trigger-sub";
  SubscriptionSettings settings;
  std::string consumer_name = "phase5-trigger";
  /// Names this process in the fired-job records (`FiredJobs`); give each instance its own.
  std::string instance = "phase5-trigger";
  /// On `start`, today's jobs already past due by at most this much run once (catch-up);
  /// older ones are recorded as `skipped`. Zero turns catch-up off.
  Duration catch_up_grace = std::chrono::hours(24);
};

/// Drives a `BatchCoordinator` from both paths of the hybrid trigger:
/// - **event:** subscribes to the Phase 4 completion topic; each message id is handled
///   once (`IdempotentConsumer` marker) and passed to `BatchCoordinator::trigger`;
/// - **scheduler:** a `Scheduler` over the Phase 5 jobs — `backup` (06:00) →
///   `start(date, false, scheduler)`, which finds `already_complete` when the event path
///   already predicted; `retry` (06:15, 06:30) → `retry(date)`; `status_check` (07:00) →
///   `status_check(date)`. Other job names are logged as ignored.
///
/// **Each job once, across restarts and processes.** Before running a job the trigger
/// claims it in `FiredJobs` (rows `<key_prefix>/fired/<date>/...` of the coordinator's
/// store): a job already claimed (by another instance, or by this one before a restart) is recorded
/// as `already_fired` and not run.
/// `start()` first runs, in order, each job of today (the game date of now) that is past
/// due by at most `catch_up_grace` and was not claimed — a coordinator restarted at 06:05
/// runs the 06:00 backup at once — claiming them all in one transaction, so two instances
/// started together run the catch-up in one of them; then it arms the scheduler from the
/// same instant, so no job falls between. `fired_jobs().forget(date)` makes a date's jobs
/// fire again (a backfill re-running the date).
///
/// **Which game date a job serves:** `game_date_of(scheduled instant)`. With
/// `DailySchedule::phase5()` pass `[s](TimePoint t) { return s.wall_time(t).date; }`:
/// a Phase 5 job at a Pacific local time on day D serves game date D (the jobs run in
/// the morning before that day's games; game dates are US/Eastern days, and 06:00–07:00
/// Pacific is 09:00–10:00 Eastern on the same calendar day). The coordinate layer takes
/// the function instead of the schedule so it needs no time-zone database.
///
/// The event message is processed *before* its marker commits (the coordinator uses
/// its own transactions and dedups by itself); a crash in between re-delivers it and
/// `start` answers `running` / `already_complete`. An invalid message (wrong phase, a
/// failed Phase 4 run) is nacked with the error and ends in the dead-letter topic.
///
/// **Thread safety:** `start`/`stop` from any thread; handlers run on the transport's
/// and the clock's threads; `runs()` is safe any time. Calls into the coordinator are
/// made without the trigger's lock. The coordinator, transport and clock must outlive it.
/// **Performance:** one coordinator call per event or job.
/// **Errors:** `create`: `kInvalidArgument` for an empty name in the options, a negative
/// `catch_up_grace` or an empty function. `start` returns the subscribe error; job errors
/// are recorded in `runs()`.
///
/// **Example:**
/// @snippet schedule_snippets_test.cpp hybrid_trigger
class HybridTrigger {
 public:
  using GameDateOf = std::function<CalendarDate(TimePoint)>;

  /// One event or job handled, for logs, demos and tests.
  struct Run {
    std::string source;   ///< "event" or the job name.
    TimePoint at;         ///< The job's scheduled instant, or the clock's time for events.
    CalendarDate game_date;
    std::string outcome;  ///< A `BatchOutcome` name, "status_ok" / "status_alerted", "duplicate",
                          ///< "already_fired", "skipped" (past the grace), or "error: ...".
    std::string message;
    bool catch_up = false;  ///< Run by `start` because it was past due.
  };

  /// Checks the options and the functions, then builds the trigger (not started). Its
  /// fired-job records live under `<coordinator key_prefix>/fired`.
  /// **Errors:** `kInvalidArgument` naming the first bad option or the empty function.
  static Result<std::unique_ptr<HybridTrigger>> create(Clock& clock, StateStore& store, Transport& transport,
                                                      BatchCoordinator& coordinator, Scheduler::NextDue next_due,
                                                      GameDateOf game_date_of,
                                                      const HybridTriggerOptions& options = default_options());

  ~HybridTrigger() { stop(); }

  /// The defaults (a named object: g++ 12 misreports a defaulted temporary as uninitialized).
  static const HybridTriggerOptions& default_options() {
    static const HybridTriggerOptions kDefaults;
    return kDefaults;
  }
  HybridTrigger(const HybridTrigger&) = delete;
  HybridTrigger& operator=(const HybridTrigger&) = delete;

  /// Subscribes to the Phase 4 topic, runs today's past-due jobs nobody fired (see the
  /// class comment), and starts the scheduler from the same instant.
  Status start();

  /// Stops the scheduler and closes the subscription.
  void stop();

  [[nodiscard]] Scheduler& scheduler() noexcept { return *scheduler_; }

  /// The fired-job records this trigger claims jobs in.
  [[nodiscard]] FiredJobs& fired_jobs() noexcept { return fired_; }

  /// Everything handled so far, in order.
  [[nodiscard]] std::vector<Run> runs() const {
    std::lock_guard lock(mu_);
    return runs_;
  }

  /// Handles one Phase 4 completion delivery (what the subscription calls).
  void on_event(const DeliveryPtr& d);

  /// Claims one job for the game date of `at` and runs it (what the scheduler calls).
  void on_job(const std::string& job, TimePoint at);

 private:
  HybridTrigger(Clock& clock, Transport& transport, BatchCoordinator& coordinator, Scheduler::NextDue next_due,
                GameDateOf game_date_of, const HybridTriggerOptions& options, IdempotentConsumer consumer,
                FiredJobs fired)
      : coordinator_(coordinator),
        transport_(transport),
        clock_(clock),
        game_date_of_(std::move(game_date_of)),
        options_(options),
        consumer_(std::move(consumer)),
        fired_(std::move(fired)),
        next_due_(std::move(next_due)) {}

  /// Runs today's jobs past due at `now` (within the grace) that nobody claimed.
  void catch_up(TimePoint now);

  /// Runs a claimed job and records it.
  void run_job(const std::string& job, TimePoint at, CalendarDate date, bool catch_up);

  void record(Run run) {
    std::lock_guard lock(mu_);
    runs_.push_back(std::move(run));
  }

  BatchCoordinator& coordinator_;
  Transport& transport_;
  Clock& clock_;
  GameDateOf game_date_of_;
  HybridTriggerOptions options_;
  IdempotentConsumer consumer_;
  FiredJobs fired_;
  Scheduler::NextDue next_due_;  // a copy for the catch-up's look back
  mutable std::mutex mu_;
  std::vector<Run> runs_;
  std::unique_ptr<Subscription> subscription_;
  std::unique_ptr<Scheduler> scheduler_;  // last: stopped and destroyed before the members its jobs use
};

}  // namespace pipeline::inline v0

#ifdef PIPELINE_HEADER_ONLY
#include "pipeline/coordinate/hybrid_trigger-inl.hpp"
#endif
