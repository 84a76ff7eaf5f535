#pragma once
/// @file
/// `SystemClock`: real time, for long-running servers.

#include <chrono>
#include <functional>
#include <memory>

#include "pipeline/core/clock.hpp"
#include "pipeline/core/config.hpp"

namespace pipeline::inline v0 {

/// The wall clock, with a timer thread started on the first `schedule_at`.
///
/// **Thread safety:** all members may be called from any thread. Callbacks run one at a
/// time on the clock's timer thread, without the clock's lock held; a slow callback
/// delays the timers after it. The destructor stops the thread; timers not yet due are
/// dropped (destroy components that schedule before the clock they use).
/// **Performance:** `now()` reads `std::chrono::system_clock` and adds the offset; one
/// thread per instance.
///
/// **Example:**
/// @snippet core_snippets_test.cpp system_clock
class SystemClock final : public Clock {
 public:
  /// The system clock shifted by `offset` (zero: the system clock itself). An offset lets
  /// a demo or a replay run in real time on another day: every process given the same
  /// offset agrees on `now()`, and timers fall due on the shifted time.
  explicit SystemClock(Duration offset = Duration::zero());
  SystemClock(const SystemClock&) = delete;
  SystemClock& operator=(const SystemClock&) = delete;
  ~SystemClock() override;

  [[nodiscard]] TimePoint now() const noexcept override;
  TimerId schedule_at(TimePoint due, std::function<void()> fn) override;
  bool cancel(TimerId id) noexcept override;

 private:
  struct State;  // the timer queue and its thread (system_clock-inl.hpp)
  std::unique_ptr<State> state_;
};

}  // namespace pipeline::inline v0

#ifdef PIPELINE_HEADER_ONLY
#include "pipeline/core/system_clock-inl.hpp"
#endif
