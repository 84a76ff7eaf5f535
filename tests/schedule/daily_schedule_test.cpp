#include "pipeline/schedule/daily_schedule.hpp"

#include <gtest/gtest.h>

#include "pipeline/core/timestamp.hpp"
#include "pipeline/schedule/local_time.hpp"

namespace daily_schedule_test {

using namespace std::chrono_literals;
using pipeline::CalendarDate;
using pipeline::DailySchedule;
using pipeline::LocalTimeResolution;
using pipeline::ScheduledInstant;

CalendarDate date(std::string_view s) { return *CalendarDate::parse(s); }
pipeline::TimePoint at(std::string_view s) { return *pipeline::parse_rfc3339(s); }

std::vector<std::string> utc_of(const std::vector<ScheduledInstant>& v) {
  std::vector<std::string> out;
  for (const auto& i : v) out.push_back(pipeline::format_rfc3339(i.at));
  return out;
}

std::vector<ScheduledInstant> phase5_on(std::string_view day) {
  auto s = DailySchedule::phase5();
  EXPECT_TRUE(s) << s.error().to_string();
  auto r = s->instants(date(day), date(day));
  EXPECT_TRUE(r) << r.error().to_string();
  return *r;
}

TEST(DailySchedule, Phase5PresetIsPacificWithFourJobs) {
  auto s = DailySchedule::phase5();
  ASSERT_TRUE(s);
  EXPECT_EQ(s->zone_name(), "America/Los_Angeles");
  ASSERT_EQ(s->jobs().size(), 4u);
  EXPECT_EQ(s->jobs()[0].name, "backup");
  EXPECT_EQ(s->jobs()[3].name, "status_check");
}

TEST(DailySchedule, DayBeforeSpringForwardUsesPst) {
  const auto v = phase5_on("2025-03-08");
  EXPECT_EQ(utc_of(v), (std::vector<std::string>{"2025-03-08T14:00:00Z", "2025-03-08T14:15:00Z",
                                                   "2025-03-08T14:30:00Z", "2025-03-08T15:00:00Z"}));
  EXPECT_EQ(v[0].wall.abbreviation, "PST");
  EXPECT_EQ(v[0].wall.offset_string(), "-08:00");
}

TEST(DailySchedule, SpringForwardDayUsesPdtForMorningJobs) {
  // The transition is at 02:00 local, so 06:00 on the day itself is already PDT.
  const auto v = phase5_on("2025-03-09");
  EXPECT_EQ(utc_of(v), (std::vector<std::string>{"2025-03-09T13:00:00Z", "2025-03-09T13:15:00Z",
                                                   "2025-03-09T13:30:00Z", "2025-03-09T14:00:00Z"}));
  EXPECT_EQ(v[0].wall.abbreviation, "PDT");
  EXPECT_EQ(v[0].wall.to_string(), "2025-03-09 06:00:00 PDT (UTC-07:00)");
  EXPECT_EQ(v[0].resolution, LocalTimeResolution::kExact);
}

TEST(DailySchedule, FallBackDayUsesPstForMorningJobs) {
  const auto before = phase5_on("2025-11-01");
  EXPECT_EQ(pipeline::format_rfc3339(before[0].at), "2025-11-01T13:00:00Z");
  const auto v = phase5_on("2025-11-02");
  EXPECT_EQ(utc_of(v), (std::vector<std::string>{"2025-11-02T14:00:00Z", "2025-11-02T14:15:00Z",
                                                   "2025-11-02T14:30:00Z", "2025-11-02T15:00:00Z"}));
  EXPECT_EQ(v[3].wall.to_string(), "2025-11-02 07:00:00 PST (UTC-08:00)");
}

TEST(DailySchedule, RangeAcrossSpringForwardChangesOffsetOnce) {
  auto s = DailySchedule::create("America/Los_Angeles", {{"backup", 6h}});
  ASSERT_TRUE(s);
  auto r = s->instants(date("2025-03-07"), date("2025-03-10"));
  ASSERT_TRUE(r);
  EXPECT_EQ(utc_of(*r), (std::vector<std::string>{"2025-03-07T14:00:00Z", "2025-03-08T14:00:00Z",
                                                    "2025-03-09T13:00:00Z", "2025-03-10T13:00:00Z"}));
  // Consecutive instants are 24h apart except across the transition, which is 23h.
  EXPECT_EQ((*r)[2].at - (*r)[1].at, 23h);
}

TEST(DailySchedule, NonExistentLocalTimeShiftsForwardByTheGap) {
  auto s = DailySchedule::create("America/Los_Angeles", {{"gap_job", 2h + 30min}, {"three", 3h}});
  ASSERT_TRUE(s);
  auto r = s->instants(date("2025-03-09"), date("2025-03-09"));
  ASSERT_TRUE(r);
  ASSERT_EQ(r->size(), 2u);
  // 03:00 PDT (10:00Z) comes before 02:30 shifted to 03:30 PDT (10:30Z): sorted by instant.
  EXPECT_EQ((*r)[0].job, "three");
  EXPECT_EQ(pipeline::format_rfc3339((*r)[0].at), "2025-03-09T10:00:00Z");
  const auto& gap = (*r)[1];
  EXPECT_EQ(gap.job, "gap_job");
  EXPECT_EQ(pipeline::format_rfc3339(gap.at), "2025-03-09T10:30:00Z");
  EXPECT_EQ(gap.resolution, LocalTimeResolution::kShiftedOverGap);
  EXPECT_EQ(gap.scheduled_time, 2h + 30min);
  EXPECT_EQ(gap.wall.time_string(), "03:30:00");
  EXPECT_EQ(gap.wall.abbreviation, "PDT");
  EXPECT_EQ(gap.local_date, date("2025-03-09"));
}

TEST(DailySchedule, RepeatedLocalTimeUsesEarlierOccurrence) {
  auto s = DailySchedule::create("America/Los_Angeles", {{"overlap_job", 1h + 30min}});
  ASSERT_TRUE(s);
  auto r = s->instants(date("2025-11-01"), date("2025-11-03"));
  ASSERT_TRUE(r);
  ASSERT_EQ(r->size(), 3u);  // once per local date, never twice on the repeated day
  const auto& rep = (*r)[1];
  EXPECT_EQ(pipeline::format_rfc3339(rep.at), "2025-11-02T08:30:00Z");  // 01:30 PDT, not 09:30Z PST
  EXPECT_EQ(rep.resolution, LocalTimeResolution::kEarlierOfRepeated);
  EXPECT_EQ(rep.wall.abbreviation, "PDT");
  EXPECT_EQ((*r)[0].resolution, LocalTimeResolution::kExact);
  EXPECT_EQ(pipeline::format_rfc3339((*r)[2].at), "2025-11-03T09:30:00Z");
}

TEST(DailySchedule, UnknownZoneIsInvalidArgumentNamingIt) {
  auto s = DailySchedule::create("America/Los_Angles", {{"backup", 6h}});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, pipeline::ErrorCode::kInvalidArgument);
  EXPECT_NE(s.error().message.find("America/Los_Angles"), std::string::npos);
}

TEST(DailySchedule, RejectsBadJobs) {
  EXPECT_FALSE(DailySchedule::create("UTC", {{"late", 24h}}));
  EXPECT_FALSE(DailySchedule::create("UTC", {{"early", -1min}}));
  EXPECT_FALSE(DailySchedule::create("UTC", {{"", 6h}}));
  EXPECT_FALSE(DailySchedule::create("UTC", {}));
  EXPECT_FALSE(DailySchedule::create("UTC", {{"a", 6h}, {"b", 6h}}));
  EXPECT_TRUE(DailySchedule::create("UTC", {{"a", 23h + 59min}}));
}

TEST(DailySchedule, InstantsRejectsReversedRange) {
  auto s = DailySchedule::phase5();
  ASSERT_TRUE(s);
  auto r = s->instants(date("2025-03-10"), date("2025-03-09"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, pipeline::ErrorCode::kInvalidArgument);
}

TEST(DailySchedule, NextAfterIsStrictlyAfter) {
  auto s = DailySchedule::phase5();
  ASSERT_TRUE(s);
  auto n = s->next_after(at("2025-03-09T13:00:00Z"));  // exactly the backup instant
  ASSERT_TRUE(n);
  EXPECT_EQ(n->job, "retry");
  EXPECT_EQ(pipeline::format_rfc3339(n->at), "2025-03-09T13:15:00Z");
  // After the day's last job: tomorrow's backup.
  n = s->next_after(at("2025-03-09T14:00:00Z"));
  ASSERT_TRUE(n);
  EXPECT_EQ(n->job, "backup");
  EXPECT_EQ(pipeline::format_rfc3339(n->at), "2025-03-10T13:00:00Z");
  // Late evening Pacific is already the next UTC day; still tomorrow's local backup.
  n = s->next_after(at("2025-11-02T05:30:00Z"));  // 2025-11-01 22:30 PDT
  ASSERT_TRUE(n);
  EXPECT_EQ(pipeline::format_rfc3339(n->at), "2025-11-02T14:00:00Z");
}

TEST(GameDate, EasternDayNotUtcDay) {
  auto d = pipeline::game_date_of(at("2025-11-19T03:30:00Z"));
  ASSERT_TRUE(d);
  EXPECT_EQ(*d, date("2025-11-18"));
  d = pipeline::game_date_of(at("2025-11-19T05:00:00Z"));  // 00:00 EST
  ASSERT_TRUE(d);
  EXPECT_EQ(*d, date("2025-11-19"));
  d = pipeline::game_date_of(at("2025-11-19T04:59:59Z"));
  ASSERT_TRUE(d);
  EXPECT_EQ(*d, date("2025-11-18"));
  // In summer the Eastern day ends at 04:00Z.
  d = pipeline::game_date_of(at("2025-07-01T03:59:59Z"));
  ASSERT_TRUE(d);
  EXPECT_EQ(*d, date("2025-06-30"));
}

TEST(GameDate, UnknownZoneIsAnError) {
  auto d = pipeline::game_date_of(at("2025-11-19T03:30:00Z"), "Mars/Olympus_Mons");
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().code, pipeline::ErrorCode::kInvalidArgument);
}

TEST(LocalWallTime, FormatsAbbreviationAndOffset) {
  auto w = pipeline::local_wall_time(at("2025-11-18T14:00:00Z"), "America/New_York");
  ASSERT_TRUE(w);
  EXPECT_EQ(w->to_string(), "2025-11-18 09:00:00 EST (UTC-05:00)");
  EXPECT_EQ(w->to_rfc3339(), "2025-11-18T09:00:00-05:00");
  auto k = pipeline::local_wall_time(at("2025-11-18T14:00:00Z"), "Asia/Kolkata");
  ASSERT_TRUE(k);
  EXPECT_EQ(k->offset_string(), "+05:30");
}

TEST(TimeOfDay, ParsesAndRejects) {
  EXPECT_EQ(*pipeline::parse_time_of_day("06:15"), 6h + 15min);
  EXPECT_FALSE(pipeline::parse_time_of_day("24:00"));
  EXPECT_FALSE(pipeline::parse_time_of_day("6:15"));
  EXPECT_FALSE(pipeline::parse_time_of_day("06:60"));
  EXPECT_EQ(pipeline::format_time_of_day(6h + 5min), "06:05");
}

}  // namespace daily_schedule_test
