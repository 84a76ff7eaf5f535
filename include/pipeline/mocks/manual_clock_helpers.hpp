#pragma once
/// @file
/// Helpers around `ManualClock` for tests that drive components running on other threads.

#include <cstddef>
#include <thread>

#include "pipeline/core/manual_clock.hpp"

namespace pipeline::inline v0::mocks {

/// Advances `clock` by `step` until `done()` holds, at most `max_steps` times; between
/// steps it yields so worker threads woken by fired timers can run. Returns whether
/// `done()` held. Use it when another thread waits on the clock (a publisher's retry
/// timer, a flush deadline): the outcome depends only on simulated time, never on speed.
///
/// **Thread safety:** as `ManualClock::advance`. **Example:**
/// @snippet mocks_snippets_test.cpp advance_until
template <class Predicate>
bool advance_until(ManualClock& clock, Duration step, std::size_t max_steps, Predicate done) {
  for (std::size_t i = 0; i < max_steps; ++i) {
    if (done()) return true;
    clock.advance(step);
    std::this_thread::yield();
  }
  return done();
}

/// Waits (yielding, without moving time) until `done()` holds — for a state another
/// thread reaches without needing time to pass (a worker draining a queue). Bounded by
/// `max_spins` yields so a broken test fails instead of hanging. Returns whether it held.
template <class Predicate>
bool spin_until(Predicate done, std::size_t max_spins = 50'000'000) {
  for (std::size_t i = 0; i < max_spins; ++i) {
    if (done()) return true;
    std::this_thread::yield();
  }
  return done();
}

/// Fires every pending timer, jumping time to each one's due time, including timers
/// those callbacks schedule, up to `max_timers`. Returns how many fired.
inline std::size_t run_all_timers(ManualClock& clock, std::size_t max_timers = 1'000'000) {
  std::size_t fired = 0;
  while (fired < max_timers) {
    auto next = clock.next_due();
    if (!next) break;
    const std::size_t n = clock.advance_to(*next);
    if (n == 0) break;
    fired += n;
  }
  return fired;
}

}  // namespace pipeline::inline v0::mocks
