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

ExponentialBackoff::Options with_random(ExponentialBackoff::Options o, RandomSource random) {
  o.random = std::move(random);
  return o;
}

TEST(ExponentialBackoff, CeilingDoublesUpToMaxDelay) {
  auto b = ExponentialBackoff::create(opts()).value();
  EXPECT_EQ(b->ceiling(1), milliseconds(100));
  EXPECT_EQ(b->ceiling(2), milliseconds(200));
  EXPECT_EQ(b->ceiling(4), milliseconds(800));
  EXPECT_EQ(b->ceiling(5), seconds(1));
  EXPECT_EQ(b->ceiling(60), seconds(1));
}

TEST(ExponentialBackoff, FullJitterSpansZeroToTheCeiling) {
  std::uint64_t next = 0;
  auto b = ExponentialBackoff::create(with_random(opts(), [&] { return next; })).value();
  next = 0;
  EXPECT_EQ(b->next_delay(3, {}), Duration::zero());
  next = std::numeric_limits<std::uint64_t>::max();
  const auto top = b->next_delay(3, {});
  ASSERT_TRUE(top);
  EXPECT_LE(*top, milliseconds(400));
  EXPECT_GE(*top, milliseconds(399));
  next = std::uint64_t{1} << 63;  // one half
  const auto half = b->next_delay(3, {});
  ASSERT_TRUE(half);
  const double half_ms = std::chrono::duration<double, std::milli>(*half).count();
  EXPECT_NEAR(half_ms, 200.0, 0.01);
}

TEST(ExponentialBackoff, WithoutJitterTheDelayIsExact) {
  auto o = opts();
  o.jitter = false;
  auto b = ExponentialBackoff::create(o).value();
  EXPECT_EQ(b->next_delay(2, {}), milliseconds(200));
}

TEST(ExponentialBackoff, GivesUpAfterMaxAttempts) {
  auto b = ExponentialBackoff::create(with_random(opts(3), [] { return std::uint64_t{0}; })).value();
  EXPECT_TRUE(b->next_delay(1, {}));
  EXPECT_TRUE(b->next_delay(2, {}));
  EXPECT_FALSE(b->next_delay(3, {}));
}

TEST(ExponentialBackoff, GivesUpAfterMaxElapsedAndNeverWaitsPastIt) {
  auto o = opts(0, seconds(5));
  o.jitter = false;
  auto b = ExponentialBackoff::create(o).value();
  EXPECT_EQ(b->next_delay(10, milliseconds(4500)), milliseconds(500));
  EXPECT_FALSE(b->next_delay(2, seconds(5)));
  EXPECT_TRUE(b->next_delay(1000, seconds(1)));  // unlimited attempts
}

TEST(ExponentialBackoff, CreateRejectsNegativeDelaysAShrinkingMultiplierAndNegativeAttempts) {
  auto negative = opts();
  negative.initial_delay = -milliseconds(1);
  auto shrinking = opts();
  shrinking.multiplier = 0.5;
  for (const auto& bad : {negative, shrinking, opts(-1), opts(10, -seconds(1))}) {
    auto b = ExponentialBackoff::create(bad);
    ASSERT_FALSE(b);
    EXPECT_EQ(b.error().code, ErrorCode::kInvalidArgument);
  }
}

}  // namespace retry_policy_test
}  // namespace pipeline
