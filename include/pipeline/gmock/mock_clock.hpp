#pragma once
/// @file
/// `mocks::MockClock`: a GoogleMock mock of the `Clock` port (target `pipeline::gmock`,
/// which links GoogleTest's gmock).

#include <functional>
#include <utility>

#include <gmock/gmock.h>

#include "pipeline/core/clock.hpp"

namespace pipeline::inline v0::mocks {

/// A GoogleMock `Clock`, for a test that checks which timers a component schedules or
/// cancels (`EXPECT_CALL(clock, schedule_at(start + 30min, _))`). To move time and fire
/// timers, `ManualClock` is the tool: `delegate_to(manual)` forwards every call without
/// an action of its own to it, so a test can watch the timers of a component that runs
/// on a manual clock. Without it, `now()` is the epoch, `schedule_at` returns timer id 1
/// and never runs the callback, and `cancel` returns false.
///
/// **Thread safety:** as any GoogleMock mock: its members may be called from any thread;
/// set expectations before other threads call. **Performance:** for unit tests (each
/// call, `now()` too, takes GoogleMock's lock and matches expectations).
/// **Errors:** none (the port has none).
///
/// **Example:**
/// @code
///   pipeline::ManualClock manual;
///   ::testing::NiceMock<pipeline::mocks::MockClock> clock;
///   clock.delegate_to(manual);
///   EXPECT_CALL(clock, schedule_at(manual.now() + std::chrono::minutes(30), ::testing::_));
/// @endcode
class MockClock : public Clock {
 public:
  MockClock() { ON_CALL(*this, schedule_at).WillByDefault(::testing::Return(TimerId{1})); }

  /// Every call without an action of its own goes to `real` (which must outlive this).
  void delegate_to(Clock& real) {
    ON_CALL(*this, now).WillByDefault([&real] { return real.now(); });
    ON_CALL(*this, schedule_at).WillByDefault([&real](TimePoint due, std::function<void()> fn) {
      return real.schedule_at(due, std::move(fn));
    });
    ON_CALL(*this, cancel).WillByDefault([&real](TimerId id) { return real.cancel(id); });
  }

  MOCK_METHOD(TimePoint, now, (), (const, noexcept, override));
  MOCK_METHOD(TimerId, schedule_at, (TimePoint due, std::function<void()> fn), (override));
  MOCK_METHOD(bool, cancel, (TimerId id), (noexcept, override));
};

}  // namespace pipeline::inline v0::mocks
