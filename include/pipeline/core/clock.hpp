#pragma once
/// @file
/// `Clock`: the injected source of time and timers every component uses.

#include <chrono>
#include <cstdint>
#include <functional>

namespace pipeline::inline v0 {

/// An instant: UTC, system-clock based, so it converts to calendar time and RFC 3339.
using TimePoint = std::chrono::system_clock::time_point;
/// A span of time at the system clock's resolution.
using Duration = std::chrono::system_clock::duration;
/// Identifies a scheduled timer for `Clock::cancel`. Never 0.
using TimerId = std::uint64_t;

/// The time source and timer service every component takes by reference.
///
/// Components never read the wall clock or sleep: they ask `now()` and schedule timers.
/// Production code injects `SystemClock`; tests, the demo and backfill inject
/// `ManualClock`, whose `advance()` fires due timers, so a 30-minute wait is tested
/// without sleeping.
///
/// **Thread safety:** every member may be called from any thread. Timer callbacks run
/// on the clock's own thread (`SystemClock`) or on the thread that calls
/// `ManualClock::advance` — never while the clock holds a lock, so a callback may
/// schedule or cancel timers.
/// **Performance:** `now()` is a few nanoseconds; scheduling is O(log n) and allocates
/// the callback.
/// **Errors:** none; a callback must not throw (the clock terminates if it does).
///
/// **Example:**
/// @snippet core_snippets_test.cpp clock
class Clock {
 public:
  virtual ~Clock() = default;

  /// The current instant.
  [[nodiscard]] virtual TimePoint now() const noexcept = 0;

  /// Runs `fn` once at or after `due` (at once on the next tick if `due` has passed).
  virtual TimerId schedule_at(TimePoint due, std::function<void()> fn) = 0;

  /// Runs `fn` once after `delay`.
  TimerId schedule_after(Duration delay, std::function<void()> fn) {
    return schedule_at(now() + delay, std::move(fn));
  }

  /// Cancels a timer that has not started to run. Returns false when it already ran,
  /// is running, or never existed.
  virtual bool cancel(TimerId id) noexcept = 0;
};

}  // namespace pipeline::inline v0
