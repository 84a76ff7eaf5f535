#pragma once
/// @file
/// Bodies of pipeline/core/manual_clock.hpp (see pipeline/core/config.hpp).

#include "pipeline/core/manual_clock.hpp"

#include <utility>

namespace pipeline::inline v0 {

PIPELINE_INLINE TimerId ManualClock::schedule_at(TimePoint due, std::function<void()> fn) {
  std::lock_guard lock(mu_);
  return timers_.add(due, std::move(fn));
}

PIPELINE_INLINE bool ManualClock::cancel(TimerId id) noexcept {
  std::lock_guard lock(mu_);
  return timers_.cancel(id);
}

PIPELINE_INLINE std::size_t ManualClock::advance_to(TimePoint target) {
  std::lock_guard serial(advance_mu_);
  std::size_t fired = 0;
  for (;;) {
    std::optional<std::pair<TimePoint, std::function<void()>>> next;
    {
      std::lock_guard lock(mu_);
      next = timers_.pop_due(target);
    }
    if (!next) break;
    if (next->first > now()) now_.store(next->first, std::memory_order_release);
    next->second();
    ++fired;
  }
  if (target > now()) now_.store(target, std::memory_order_release);
  return fired;
}

PIPELINE_INLINE std::optional<TimePoint> ManualClock::next_due() const {
  std::lock_guard lock(mu_);
  return timers_.next_due();
}

PIPELINE_INLINE std::size_t ManualClock::pending_timers() const {
  std::lock_guard lock(mu_);
  return timers_.size();
}

}  // namespace pipeline::inline v0
