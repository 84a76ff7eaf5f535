#include <gtest/gtest.h>

#include "pipeline/core/alert_sink.hpp"
#include "pipeline/core/enum_names.hpp"
#include "pipeline/core/error.hpp"
#include "pipeline/core/message.hpp"

namespace pipeline::enum_names_test {

TEST(EnumNames, EveryEnumeratorRoundTripsThroughItsName) {
  for (const auto& e : EnumNames<ErrorCode>::kTable) EXPECT_EQ(enum_from_name<ErrorCode>(to_string(e.value)), e.value);
  for (const auto& e : EnumNames<Severity>::kTable) EXPECT_EQ(enum_from_name<Severity>(to_string(e.value)), e.value);
  for (const auto& e : EnumNames<CompletionStatus>::kTable)
    EXPECT_EQ(*parse_completion_status(to_string(e.value)), e.value);
  EXPECT_EQ(std::size(EnumNames<ErrorCode>::kTable), 11u);
}

TEST(EnumNames, NamesAreTheStableWireNames) {
  EXPECT_EQ(to_string(ErrorCode::kInvalidArgument), "invalid_argument");
  EXPECT_EQ(to_string(ErrorCode::kDeadlineExceeded), "deadline_exceeded");
  EXPECT_EQ(to_string(Severity::kWarning), "warning");
  EXPECT_EQ(to_string(CompletionStatus::kNoData), "no_data");
  EXPECT_EQ(to_string(static_cast<ErrorCode>(99)), "unknown");
  EXPECT_EQ(to_string(static_cast<CompletionStatus>(99)), "failed");
}

TEST(EnumNames, UnknownNamesAreRefusedWithTheListOfKnownOnes) {
  EXPECT_FALSE(enum_from_name<Severity>("Warning"));
  EXPECT_FALSE(enum_from_name<ErrorCode>(""));
  auto s = parse_completion_status("done");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().message, "unknown status 'done' (expected success, partial, no_data or failed)");
}

}  // namespace pipeline::enum_names_test
