#pragma once
/// @file
/// `Scheduler`: fires due jobs on the injected clock.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "pipeline/core/clock.hpp"
#include "pipeline/core/config.hpp"
#include "pipeline/core/result.hpp"

namespace pipeline::inline v0 {

/// Fires named jobs at the instants a schedule source names, on the injected `Clock`.
///
/// It asks the source for the next instant, arms one clock timer for it, and when the
/// timer fires calls the callback with the job's name and scheduled instant, then asks
/// the source for the next instant *after the one just fired* and arms that. The source
/// is usually `DailySchedule::next_after` (pipeline::schedule); this header needs only
/// the core `Clock`, so the coordinate layer does not depend on date-tz:
///
/// @snippet schedule_snippets_test.cpp scheduler
///
/// **Which instants fire:** `start()` arms the first instant at or after `clock.now()`.
/// **Missed instants:** when the clock jumps over several instants (a suspended host,
/// a late timer thread), each missed instant fires once, in order, as soon as the
/// clock runs the timer — the scheduler chains from the instant it fired, never from
/// `now()`, so none is skipped and none fires twice. With `ManualClock::advance` each
/// fires with `now()` equal to its instant. The source must return instants strictly
/// after its argument (one that does not is treated as having none); jobs sharing one instant are not supported (the source can name
/// only one of them).
///
/// **Thread safety:** `start`, `stop`, `running`, `armed` and `fired` may be called from
/// any thread. The callback and the source run on the clock's timer thread
/// (`SystemClock`) or on the thread calling `ManualClock::advance`, one at a time, never
/// under the scheduler's lock; they may call `stop()` or `start()`. After `stop()`
/// returns no callback starts, and one already running has finished (unless `stop()`
/// was called from inside it). The clock must outlive the scheduler.
/// **Performance:** one pending clock timer at a time; each firing allocates a timer
/// callback and calls the source once.
/// **Errors:** `create`: `kInvalidArgument` when the source or the callback is empty. The
/// callback and the source must not throw (the clock terminates).
class Scheduler {
 public:
  /// A job due at an instant.
  struct Due {
    std::string job;
    TimePoint at;
  };
  /// Returns the first job due strictly after `after`, or nothing when none ever is.
  using NextDue = std::function<std::optional<Due>(TimePoint after)>;
  /// Called once per due job with its name and scheduled instant.
  using OnDue = std::function<void(const std::string& job, TimePoint scheduled_at)>;

  /// **Errors:** `kInvalidArgument` when `next_due` or `on_due` is empty.
  static Result<std::unique_ptr<Scheduler>> create(Clock& clock, NextDue next_due, OnDue on_due);

  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  /// Stops (see `stop`).
  ~Scheduler() { stop(); }

  /// Arms the first instant at or after `clock.now()`. Returns false when already running.
  bool start() { return start(clock_now()); }

  /// Arms the first instant at or after `from` (an instant before now fires as soon as the
  /// clock runs its timers): a caller that ran the jobs due before `from` itself starts
  /// here so that none falls between. Returns false when already running.
  bool start(TimePoint from);

  /// Cancels the armed timer; waits for a callback running on another thread.
  void stop();

  [[nodiscard]] bool running() const;

  /// The job the scheduler will fire next, if one is armed.
  [[nodiscard]] std::optional<Due> armed() const;

  /// How many jobs have fired since construction.
  [[nodiscard]] std::uint64_t fired() const;

 private:
  // Shared with the armed timer's callback (defined in scheduler-inl.hpp).
  struct State;

  Scheduler(Clock& clock, NextDue next_due, OnDue on_due);

  // Called with `st->mu` held. Clocks never run a callback inside `schedule_at`, so
  // arming under the lock cannot re-enter.
  static void arm(const std::shared_ptr<State>& st, std::uint64_t generation, std::optional<Due> due);

  static void fire(const std::shared_ptr<State>& st, std::uint64_t generation);

  [[nodiscard]] TimePoint clock_now() const;

  std::shared_ptr<State> state_;
};

}  // namespace pipeline::inline v0

#ifdef PIPELINE_HEADER_ONLY
#include "pipeline/coordinate/scheduler-inl.hpp"
#endif
