#pragma once
/// @file
/// `Scheduler`: fires due jobs on the injected clock.

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>

#include "pipeline/core/clock.hpp"

namespace pipeline::inline v0 {

/// Fires named jobs at the instants a schedule source names, on the injected `Clock`.
///
/// It asks the source for the next instant, arms one clock timer for it, and when the
/// timer fires calls the callback with the job's name and scheduled instant, then asks
/// the source for the next instant *after the one just fired* and arms that. The source
/// is usually `DailySchedule::next_after` (pipeline::schedule); this header needs only
/// the core `Clock`, so the coordinate layer does not depend on date-tz:
///
/// @code
///   auto schedule = pipeline::DailySchedule::phase5();   // America/Los_Angeles
///   pipeline::Scheduler scheduler(clock,
///       [s = *schedule](pipeline::TimePoint t) -> std::optional<pipeline::Scheduler::Due> {
///         if (auto i = s.next_after(t)) return pipeline::Scheduler::Due{i->job, i->at};
///         return std::nullopt;
///       },
///       [&](const std::string& job, pipeline::TimePoint at) { coordinator.on_schedule(job, at); });
///   scheduler.start();
/// @endcode
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
/// **Errors:** none; the callback and the source must not throw (the clock terminates).
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

  Scheduler(Clock& clock, NextDue next_due, OnDue on_due)
      : state_(std::make_shared<State>(clock, std::move(next_due), std::move(on_due))) {}

  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  /// Stops (see `stop`).
  ~Scheduler() { stop(); }

  /// Arms the first instant at or after `clock.now()`. Returns false when already running.
  bool start() {
    std::uint64_t generation;
    {
      std::lock_guard lock(state_->mu);
      if (state_->running) return false;
      state_->running = true;
      generation = ++state_->generation;
    }
    // "At or after now": the source answers strictly after its argument.
    auto first = state_->next_due(state_->clock.now() - Duration(1));
    std::lock_guard lock(state_->mu);
    if (state_->running && state_->generation == generation) arm(state_, generation, std::move(first));
    return true;
  }

  /// Cancels the armed timer; waits for a callback running on another thread.
  void stop() {
    std::unique_lock lock(state_->mu);
    if (state_->running) {
      state_->running = false;
      ++state_->generation;
      if (state_->timer != 0) state_->clock.cancel(state_->timer);
      state_->timer = 0;
      state_->armed.reset();
    }
    state_->idle.wait(lock, [&] { return !state_->in_flight || state_->firing_thread == std::this_thread::get_id(); });
  }

  [[nodiscard]] bool running() const {
    std::lock_guard lock(state_->mu);
    return state_->running;
  }

  /// The job the scheduler will fire next, if one is armed.
  [[nodiscard]] std::optional<Due> armed() const {
    std::lock_guard lock(state_->mu);
    return state_->armed;
  }

  /// How many jobs have fired since construction.
  [[nodiscard]] std::uint64_t fired() const {
    std::lock_guard lock(state_->mu);
    return state_->fired;
  }

 private:
  // Shared with the armed timer's callback, so a timer that fires while the scheduler
  // is being destroyed finds valid (stopped) state instead of a dangling pointer.
  struct State {
    State(Clock& c, NextDue n, OnDue o) : clock(c), next_due(std::move(n)), on_due(std::move(o)) {}
    Clock& clock;
    const NextDue next_due;
    const OnDue on_due;
    mutable std::mutex mu;
    std::condition_variable idle;
    bool running = false;
    std::uint64_t generation = 0;  // bumped by start/stop: stale timers see a mismatch
    TimerId timer = 0;
    std::optional<Due> armed;
    bool in_flight = false;
    std::thread::id firing_thread;
    std::uint64_t fired = 0;
  };

  // Called with `st->mu` held. Clocks never run a callback inside `schedule_at`, so
  // arming under the lock cannot re-enter.
  static void arm(const std::shared_ptr<State>& st, std::uint64_t generation, std::optional<Due> due) {
    st->armed = std::move(due);
    st->timer = 0;
    if (!st->armed) return;
    st->timer = st->clock.schedule_at(st->armed->at, [st, generation] { fire(st, generation); });
  }

  static void fire(const std::shared_ptr<State>& st, std::uint64_t generation) {
    Due due;
    {
      std::lock_guard lock(st->mu);
      if (!st->running || st->generation != generation || !st->armed) return;
      due = *st->armed;
      st->timer = 0;
      st->in_flight = true;
      st->firing_thread = std::this_thread::get_id();
    }
    st->on_due(due.job, due.at);
    auto next = st->next_due(due.at);
    if (next && next->at <= due.at) next.reset();  // a source that does not advance would spin
    {
      std::lock_guard lock(st->mu);
      st->in_flight = false;
      ++st->fired;
      if (st->running && st->generation == generation) arm(st, generation, std::move(next));
    }
    st->idle.notify_all();
  }

  std::shared_ptr<State> state_;
};

}  // namespace pipeline::inline v0
