#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "pipeline/alert/rate_limiter.hpp"
#include "pipeline/core/manual_clock.hpp"

namespace pipeline {
namespace rate_limiter_test {

using std::chrono::minutes;
using std::chrono::seconds;

RateLimiterOptions warning_limit(Duration interval, std::uint32_t burst) {
  RateLimiterOptions c;
  c.warning = {interval, burst};
  return c;
}

TEST(RateLimiter, BurstPassesThenSuppressesUntilATokenIsRegained) {
  auto limiter = RateLimiter::create(warning_limit(minutes(5), 3)).value();
  ManualClock clock;
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter->decide("k", Severity::kWarning, clock.now()).allowed) << i;
  EXPECT_FALSE(limiter->decide("k", Severity::kWarning, clock.now()).allowed);
  clock.advance(minutes(5) - seconds(1));
  EXPECT_FALSE(limiter->decide("k", Severity::kWarning, clock.now()).allowed);
  clock.advance(seconds(1));
  EXPECT_TRUE(limiter->decide("k", Severity::kWarning, clock.now()).allowed);
  EXPECT_FALSE(limiter->decide("k", Severity::kWarning, clock.now()).allowed);
}

TEST(RateLimiter, BucketRefillsToBurstAndNoFurther) {
  auto limiter = RateLimiter::create(warning_limit(minutes(1), 2)).value();
  ManualClock clock;
  limiter->decide("k", Severity::kWarning, clock.now());
  limiter->decide("k", Severity::kWarning, clock.now());
  clock.advance(minutes(60));
  EXPECT_TRUE(limiter->decide("k", Severity::kWarning, clock.now()).allowed);
  EXPECT_TRUE(limiter->decide("k", Severity::kWarning, clock.now()).allowed);
  EXPECT_FALSE(limiter->decide("k", Severity::kWarning, clock.now()).allowed);
}

TEST(RateLimiter, KeysAreLimitedIndependently) {
  auto limiter = RateLimiter::create(warning_limit(minutes(5), 1)).value();
  ManualClock clock;
  EXPECT_TRUE(limiter->decide("a", Severity::kWarning, clock.now()).allowed);
  EXPECT_FALSE(limiter->decide("a", Severity::kWarning, clock.now()).allowed);
  EXPECT_TRUE(limiter->decide("b", Severity::kWarning, clock.now()).allowed);
}

TEST(RateLimiter, EachSeverityAppliesItsOwnLimit) {
  RateLimiterOptions c;
  c.info = {minutes(10), 1};
  c.error = {minutes(1), 4};
  auto limiter = RateLimiter::create(c).value();
  ManualClock clock;
  EXPECT_TRUE(limiter->decide("i", Severity::kInfo, clock.now()).allowed);
  EXPECT_FALSE(limiter->decide("i", Severity::kInfo, clock.now()).allowed);
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(limiter->decide("e", Severity::kError, clock.now()).allowed);
  EXPECT_FALSE(limiter->decide("e", Severity::kError, clock.now()).allowed);
}

TEST(RateLimiter, ZeroIntervalIsUnlimited) {
  RateLimiterOptions c;
  c.critical = {Duration::zero(), 1};
  auto limiter = RateLimiter::create(c).value();
  ManualClock clock;
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(limiter->decide("c", Severity::kCritical, clock.now()).allowed);
}

TEST(RateLimiter, CountsSuppressionsAndHandsThemToTheNextAllowedDecision) {
  auto limiter = RateLimiter::create(warning_limit(minutes(5), 1)).value();
  ManualClock clock;
  EXPECT_EQ(limiter->decide("k", Severity::kWarning, clock.now()).suppressed_count, 0u);
  clock.advance(minutes(1));
  const TimePoint first = clock.now();
  auto d = limiter->decide("k", Severity::kWarning, clock.now());
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.suppressed_count, 1u);
  EXPECT_EQ(d.suppressed_since, first);
  clock.advance(minutes(1));
  d = limiter->decide("k", Severity::kWarning, clock.now());
  EXPECT_EQ(d.suppressed_count, 2u);
  EXPECT_EQ(d.suppressed_since, first);
  EXPECT_EQ(limiter->pending("k"), 2u);
  clock.advance(minutes(3));
  d = limiter->decide("k", Severity::kWarning, clock.now());
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.suppressed_count, 2u);
  EXPECT_EQ(d.suppressed_since, first);
  EXPECT_EQ(limiter->pending("k"), 0u);
}

TEST(RateLimiter, QuietDigestsOnlyForKeysWhoseBucketWouldPass) {
  auto limiter = RateLimiter::create(warning_limit(minutes(5), 1)).value();
  ManualClock clock;
  limiter->decide("quiet", Severity::kWarning, clock.now());
  limiter->decide("quiet", Severity::kWarning, clock.now());
  limiter->decide("idle", Severity::kWarning, clock.now());  // nothing suppressed
  EXPECT_TRUE(limiter->take_quiet_digests(clock.now()).empty());  // still limited
  clock.advance(minutes(5));
  const auto digests = limiter->take_quiet_digests(clock.now());
  ASSERT_EQ(digests.size(), 1u);
  EXPECT_EQ(digests[0].key, "quiet");
  EXPECT_EQ(digests[0].suppressed_count, 1u);
  EXPECT_EQ(digests[0].suppressed_since, ManualClock::kDefaultStart);
  EXPECT_TRUE(limiter->take_quiet_digests(clock.now()).empty());
  // The digest spent the token.
  EXPECT_FALSE(limiter->decide("quiet", Severity::kWarning, clock.now()).allowed);
}

TEST(RateLimiter, DigestCarriesTheHighestSuppressedSeverity) {
  RateLimiterOptions c;
  c.warning = {minutes(5), 1};
  c.error = {minutes(5), 1};
  auto limiter = RateLimiter::create(c).value();
  ManualClock clock;
  limiter->decide("k", Severity::kWarning, clock.now());
  limiter->decide("k", Severity::kError, clock.now());
  limiter->decide("k", Severity::kWarning, clock.now());
  clock.advance(minutes(5));
  const auto digests = limiter->take_quiet_digests(clock.now());
  ASSERT_EQ(digests.size(), 1u);
  EXPECT_EQ(digests[0].severity, Severity::kError);
  EXPECT_EQ(digests[0].suppressed_count, 2u);
}

TEST(RateLimiter, ManyKeysStayDistinctAcrossGrowthAndIdleKeysAreDropped) {
  RateLimiterOptions options = warning_limit(minutes(1), 1);
  options.shards = 4;
  auto limiter = RateLimiter::create(options).value();
  ManualClock clock;
  for (int i = 0; i < 2000; ++i) ASSERT_TRUE(limiter->decide("key" + std::to_string(i), Severity::kWarning, clock.now()).allowed);
  for (int i = 0; i < 2000; ++i)
    ASSERT_FALSE(limiter->decide("key" + std::to_string(i), Severity::kWarning, clock.now()).allowed) << i;
  for (int i = 0; i < 2000; ++i) ASSERT_EQ(limiter->pending("key" + std::to_string(i)), 1u);
  EXPECT_EQ(limiter->tracked_keys(), 2000u);
  clock.advance(minutes(2));
  EXPECT_EQ(limiter->take_quiet_digests(clock.now()).size(), 2000u);
  clock.advance(minutes(2));
  // All old keys are idle now; new keys force rebuilds that drop them.
  for (int i = 0; i < 3000; ++i) limiter->decide("new" + std::to_string(i), Severity::kWarning, clock.now());
  EXPECT_EQ(limiter->tracked_keys(), 3000u);
}

TEST(RateLimiter, ConcurrentDecisionsOnOneKeyAllowExactlyTheBurst) {
  auto limiter = RateLimiter::create(warning_limit(minutes(5), 10)).value();
  ManualClock clock;
  std::atomic<int> allowed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i)
        if (limiter->decide("shared", Severity::kWarning, clock.now()).allowed) ++allowed;
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(allowed.load(), 10);
  EXPECT_EQ(limiter->pending("shared"), 3990u);
}

TEST(RateLimiter, CreateRejectsANegativeIntervalAndZeroShards) {
  auto negative = RateLimiter::create(warning_limit(-minutes(1), 3));
  ASSERT_FALSE(negative);
  EXPECT_EQ(negative.error().code, ErrorCode::kInvalidArgument);
  RateLimiterOptions no_shards;
  no_shards.shards = 0;
  auto zero = RateLimiter::create(no_shards);
  ASSERT_FALSE(zero);
  EXPECT_EQ(zero.error().code, ErrorCode::kInvalidArgument);
}

}  // namespace rate_limiter_test
}  // namespace pipeline
