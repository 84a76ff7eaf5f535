#include <chrono>
#include <cstdint>
#include <limits>

#include <gtest/gtest.h>

#include "pipeline/publish/retry_policy.hpp"

namespace pipeline {
namespace retry_policy_test {

using std::chrono::milliseconds;
using std::chrono::seconds;

ExponentialBackoff::Options opts(int max_attempts = 10, Duration max_elapsed = Duration::zero()) {
  ExponentialBackoff::Options o;
  o.initial_delay = milliseconds(100);
  o.multiplier = 2.0;
  o.max_delay = seconds(1);
  o.max_attempts = max_attempts;
  o.max_elapsed = max_elapsed;
  return o;
}

TEST(ExponentialBackoff, CeilingDoublesUpToMaxDelay) {
  ExponentialBackoff b{opts()};
  EXPECT_EQ(b.ceiling(1), milliseconds(100));
  EXPECT_EQ(b.ceiling(2), milliseconds(200));
  EXPECT_EQ(b.ceiling(4), milliseconds(800));
  EXPECT_EQ(b.ceiling(5), seconds(1));
  EXPECT_EQ(b.ceiling(60), seconds(1));
}

TEST(ExponentialBackoff, FullJitterSpansZeroToTheCeiling) {
  std::uint64_t next = 0;
  ExponentialBackoff b{opts(), [&] { return next; }};
  next = 0;
  EXPECT_EQ(b.next_delay(3, {}), Duration::zero());
  next = std::numeric_limits<std::uint64_t>::max();
  const auto top = b.next_delay(3, {});
  ASSERT_TRUE(top);
  EXPECT_LE(*top, milliseconds(400));
  EXPECT_GE(*top, milliseconds(399));
  next = std::uint64_t{1} << 63;  // one half
  const auto half = b.next_delay(3, {});
  ASSERT_TRUE(half);
  const double half_ms = std::chrono::duration<double, std::milli>(*half).count();
  EXPECT_NEAR(half_ms, 200.0, 0.01);
}

TEST(ExponentialBackoff, WithoutJitterTheDelayIsExact) {
  auto o = opts();
  o.jitter = false;
  ExponentialBackoff b{o};
  EXPECT_EQ(b.next_delay(2, {}), milliseconds(200));
}

TEST(ExponentialBackoff, GivesUpAfterMaxAttempts) {
  ExponentialBackoff b{opts(3), [] { return std::uint64_t{0}; }};
  EXPECT_TRUE(b.next_delay(1, {}));
  EXPECT_TRUE(b.next_delay(2, {}));
  EXPECT_FALSE(b.next_delay(3, {}));
}

TEST(ExponentialBackoff, GivesUpAfterMaxElapsedAndNeverWaitsPastIt) {
  auto o = opts(0, seconds(5));
  o.jitter = false;
  ExponentialBackoff b{o};
  EXPECT_EQ(b.next_delay(10, milliseconds(4500)), milliseconds(500));
  EXPECT_FALSE(b.next_delay(2, seconds(5)));
  EXPECT_TRUE(b.next_delay(1000, seconds(1)));  // unlimited attempts
}

}  // namespace retry_policy_test
}  // namespace pipeline
