#pragma once
/// @file
/// `ManualClock`: simulated time for tests, the demo and backfill.

#include <atomic>
#include <mutex>
#include <optional>

#include "pipeline/core/clock.hpp"
#include "pipeline/core/config.hpp"
#include "pipeline/core/timer_queue.hpp"

namespace pipeline::inline v0 {

/// A clock that moves only when told to. `advance(d)` fires every timer due within
/// the step, in (due time, scheduling order), on the caller's thread, setting `now()`
/// to each timer's due time as it fires — so a timer scheduled by a callback for a time
/// inside the step fires in the same call.
///
/// **Thread safety:** all members may be called from any thread; `advance` and
/// `set_time` are serialized (a second caller waits). Callbacks run without the clock's
/// lock held. Time never goes backwards: `set_time` to the past is ignored.
/// **Performance:** O(log n) per timer; no threads.
///
/// **Example:**
/// @snippet core_snippets_test.cpp manual_clock
class ManualClock final : public Clock {
 public:
  /// 2025-01-01T00:00:00Z: a fixed default so runs are reproducible.
  static constexpr TimePoint kDefaultStart = TimePoint(std::chrono::seconds(1735689600));

  explicit ManualClock(TimePoint start = kDefaultStart) : now_(start) {}

  [[nodiscard]] TimePoint now() const noexcept override { return now_.load(std::memory_order_acquire); }

  TimerId schedule_at(TimePoint due, std::function<void()> fn) override;

  bool cancel(TimerId id) noexcept override;

  /// Moves time forward by `step`, firing due timers in order. Returns how many fired.
  std::size_t advance(Duration step) { return advance_to(now() + step); }

  /// Moves time forward to `target` (no-op if it is in the past), firing due timers.
  std::size_t advance_to(TimePoint target);

  /// Fires timers already due at `now()` without moving time.
  std::size_t run_due() { return advance_to(now()); }

  /// Jumps to `t` like `advance_to`; kept for readability at call sites that set a time.
  std::size_t set_time(TimePoint t) { return advance_to(t); }

  /// The due time of the earliest pending timer, if any.
  [[nodiscard]] std::optional<TimePoint> next_due() const;

  /// How many timers are pending.
  [[nodiscard]] std::size_t pending_timers() const;

 private:
  std::atomic<TimePoint> now_;
  mutable std::mutex mu_;
  std::mutex advance_mu_;
  internal::TimerQueue timers_;
};

}  // namespace pipeline::inline v0

#ifdef PIPELINE_HEADER_ONLY
#include "pipeline/core/manual_clock-inl.hpp"
#endif
