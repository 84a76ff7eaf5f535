#include <chrono>
#include <string>

#include <gtest/gtest.h>

#include "pipeline/core/state_store.hpp"
#include "pipeline/core/timestamp.hpp"

namespace pipeline::write_validation_test {

TEST(WriteValidation, RefusesWritesInReadOnlyTransactionsBadKeysAndOversizedValues) {
  EXPECT_TRUE(validate_write("a/b", "v", false));
  EXPECT_EQ(validate_write("a/b", "v", true).error().code, ErrorCode::kFailedPrecondition);
  EXPECT_EQ(validate_write("", "v", false).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(validate_write("a\nb", "v", false).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(validate_write(std::string(Transaction::kMaxKeyBytes + 1, 'k'), "", false).error().code,
            ErrorCode::kInvalidArgument);
  const std::string big(Transaction::kMaxValueBytes + 1, 'v');
  auto st = validate_write("k", big, false);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().message, fmt::format("value of 'k' is {} bytes, more than the {} allowed", big.size(),
                                            Transaction::kMaxValueBytes));
}

TEST(WriteValidation, PrefixesMayBeEmptyAndEnqueueChecksTheEntry) {
  EXPECT_TRUE(validate_prefix(""));
  EXPECT_FALSE(validate_prefix("a\x01"));
  OutboxMessage entry{"topic", OutgoingMessage{"id-1", "{}", {}}};
  EXPECT_TRUE(validate_enqueue(entry, false));
  EXPECT_EQ(validate_enqueue(entry, true).error().message, "enqueue in a read-only transaction");
  entry.topic.clear();
  EXPECT_EQ(validate_enqueue(entry, false).error().code, ErrorCode::kInvalidArgument);
}

TEST(UnixNanos, RoundTripsEveryInstantExactly) {
  using namespace std::chrono;
  const TimePoint t = sys_days(year(2025) / 11 / 18) + hours(6) + nanoseconds(123456789);
  EXPECT_EQ(to_unix_nanos(t), 1763445600123456789);
  EXPECT_EQ(from_unix_nanos(to_unix_nanos(t)), t);
  EXPECT_EQ(to_unix_nanos(TimePoint{}), 0);
  EXPECT_EQ(from_unix_nanos(-1), TimePoint{} - nanoseconds(1));
  static_assert(to_unix_nanos(from_unix_nanos(42)) == 42);
}

}  // namespace pipeline::write_validation_test
