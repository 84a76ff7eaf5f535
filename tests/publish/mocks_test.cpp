#include <chrono>
#include <string>

#include <gtest/gtest.h>

#include "pipeline/mocks/failing_transport.hpp"
#include "pipeline/mocks/manual_clock_helpers.hpp"
#include "pipeline/mocks/recording_transport.hpp"

namespace pipeline {
namespace mocks_test {

TEST(RecordingTransport, RecordsAndDeliversSynchronously) {
  mocks::RecordingTransport transport;
  std::string got;
  auto sub = transport.subscribe({"s", "t", {}}, [&](DeliveryPtr d) {
    got = d->id();
    (void)d->ack();
  });
  ASSERT_TRUE(sub.has_value());
  ASSERT_TRUE(transport.publish("t", {"id-1", "{}", {}}));
  ASSERT_TRUE(transport.publish("other", {"id-2", "{}", {}}));
  EXPECT_EQ(got, "id-1");
  EXPECT_EQ(transport.published_count(), 2u);
  ASSERT_EQ(transport.deliveries().size(), 1u);
  EXPECT_EQ(transport.deliveries()[0]->outcome(), "acked");
  EXPECT_EQ(transport.deliveries()[0]->ack().error().code, ErrorCode::kFailedPrecondition);
}

TEST(FailingTransport, FailsTheNextCallsThenPassesThrough) {
  mocks::RecordingTransport inner{false};
  mocks::FailingTransport transport{inner};
  transport.fail_next(2, ErrorCode::kBackpressure);
  EXPECT_EQ(transport.publish("t", {"a", "{}", {}}).error().code, ErrorCode::kBackpressure);
  EXPECT_EQ(transport.publish("t", {"b", "{}", {}}).error().code, ErrorCode::kBackpressure);
  EXPECT_TRUE(transport.publish("t", {"c", "{}", {}}).has_value());
  transport.set_down(true);
  EXPECT_EQ(transport.publish("t", {"d", "{}", {}}).error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(transport.calls(), 4u);
  EXPECT_EQ(transport.failures(), 3u);
  EXPECT_EQ(inner.published_count(), 1u);
}

TEST(ManualClockHelpers, RunAllTimersFollowsTimersScheduledByCallbacks) {
  ManualClock clock;
  const auto start = clock.now();
  int fired = 0;
  clock.schedule_after(std::chrono::minutes(5), [&] {
    ++fired;
    clock.schedule_after(std::chrono::hours(2), [&] { ++fired; });
  });
  EXPECT_EQ(mocks::run_all_timers(clock), 2u);
  EXPECT_EQ(fired, 2);
  EXPECT_EQ(clock.now(), start + std::chrono::minutes(125));
}

TEST(ManualClockHelpers, AdvanceUntilStopsWhenThePredicateHolds) {
  ManualClock clock;
  const auto start = clock.now();
  EXPECT_TRUE(mocks::advance_until(clock, std::chrono::seconds(1), 100,
                                   [&] { return clock.now() >= start + std::chrono::seconds(7); }));
  EXPECT_EQ(clock.now(), start + std::chrono::seconds(7));
  EXPECT_FALSE(mocks::advance_until(clock, std::chrono::seconds(1), 3, [] { return false; }));
}

}  // namespace mocks_test
}  // namespace pipeline
