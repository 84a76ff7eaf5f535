#include <gtest/gtest.h>

#include "pipeline/core/calendar_date.hpp"
#include "pipeline/core/timestamp.hpp"
#include "pipeline/core/trace_context.hpp"

namespace pipeline {
namespace {

TEST(CalendarDate, ParsesAndFormatsARealDay) {
  auto d = CalendarDate::parse("2025-11-18");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->to_string(), "2025-11-18");
  EXPECT_EQ(d->plus_days(13).to_string(), "2025-12-01");
  EXPECT_EQ(d->days_until(d->plus_days(-3)), -3);
}

TEST(CalendarDate, RejectsDaysThatDoNotExistWithAClearMessage) {
  auto d = CalendarDate::parse("2025-02-30");
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(d.error().message, "'2025-02-30' is not a calendar date (no such day)");
  EXPECT_TRUE(CalendarDate::parse("2024-02-29"));
  EXPECT_FALSE(CalendarDate::parse("2025-02-29"));
  EXPECT_FALSE(CalendarDate::parse("2025-1-01"));
  EXPECT_FALSE(CalendarDate::parse("2025-13-01"));
  EXPECT_FALSE(CalendarDate::parse("２０２５-01-01"));
  EXPECT_FALSE(CalendarDate::parse(""));
}

TEST(CalendarDate, FromPartsIsCheckedAsParseIsAndNeverRollsOver) {
  auto leap = CalendarDate::from_ymd(2024, 2, 29);
  ASSERT_TRUE(leap) << leap.error().to_string();
  EXPECT_EQ(leap->to_string(), "2024-02-29");
  auto bad = CalendarDate::from_ymd(2024, 2, 30);
  ASSERT_FALSE(bad) << "2024-02-30 must not become 2024-03-01";
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(bad.error().message.find("2024-02-30"), std::string::npos) << bad.error().message;
  EXPECT_FALSE(CalendarDate::from_ymd(2025, 13, 1));
  EXPECT_FALSE(CalendarDate::from_ymd(1899, 12, 31));
  EXPECT_FALSE(CalendarDate::from_ymd(10000, 1, 1));
}

TEST(CalendarDate, ADefaultMadeDateIsUnsetAndNeverPassesAsARealDay) {
  const CalendarDate unset;
  EXPECT_FALSE(unset.is_set());
  EXPECT_TRUE(CalendarDate::parse("1970-01-01")->is_set());
  EXPECT_NE(unset, *CalendarDate::parse("1970-01-01"));
  EXPECT_LT(unset, *CalendarDate::parse("1900-01-01"));
  EXPECT_EQ(unset.to_string(), "unset");
}

TEST(Timestamp, FormatsUtcWithZAndRoundTrips) {
  auto t = parse_rfc3339("2025-11-15T02:30:00Z");
  ASSERT_TRUE(t);
  EXPECT_EQ(format_rfc3339(*t), "2025-11-15T02:30:00Z");
  auto offset = parse_rfc3339("2025-11-14T21:30:00.250-05:00");
  ASSERT_TRUE(offset);
  EXPECT_EQ(format_rfc3339(*offset), "2025-11-15T02:30:00.250000Z");
  EXPECT_FALSE(parse_rfc3339("2025-11-15T02:30:00"));
  EXPECT_FALSE(parse_rfc3339("2025-11-15T24:00:00Z"));
}

TEST(TraceContext, CreateChildAndParseRoundTrip) {
  const auto root = TraceContext::create();
  const auto child = root.child();
  EXPECT_EQ(child.trace_id, root.trace_id);
  EXPECT_NE(child.parent_id, root.parent_id);
  auto parsed = TraceContext::parse(child.to_string());
  ASSERT_TRUE(parsed);
  EXPECT_EQ(*parsed, child);
}

TEST(TraceContext, RejectsInvalidHeadersPerTheSpec) {
  EXPECT_TRUE(TraceContext::parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
  EXPECT_FALSE(TraceContext::parse("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
  EXPECT_FALSE(TraceContext::parse("00-00000000000000000000000000000000-00f067aa0ba902b7-01"));
  EXPECT_FALSE(TraceContext::parse("00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01"));
  EXPECT_FALSE(TraceContext::parse("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"));
  EXPECT_FALSE(TraceContext::parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra"));
  EXPECT_TRUE(TraceContext::parse("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra"));
}

}  // namespace
}  // namespace pipeline
