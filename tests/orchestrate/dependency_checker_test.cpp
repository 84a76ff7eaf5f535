#include <chrono>
#include <map>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "pipeline/core/manual_clock.hpp"
#include "pipeline/orchestrate/dependency_checker.hpp"

namespace pipeline {
namespace dependency_checker_test {

using std::chrono::hours;

// A warehouse in a map: rows and update times per table (one date is enough here).
class FakeWarehouse final : public DependencyDataSource {
 public:
  std::map<std::string, std::int64_t, std::less<>> rows;
  std::map<std::string, TimePoint, std::less<>> updated;
  bool down = false;

  Result<std::int64_t> row_count(std::string_view table, CalendarDate) override {
    if (down) return fail(ErrorCode::kUnavailable, "warehouse is down");
    auto it = rows.find(table);
    if (it == rows.end()) return fail(ErrorCode::kNotFound, "no table {}", table);
    return it->second;
  }
  Result<std::optional<TimePoint>> last_updated(std::string_view table, CalendarDate) override {
    if (down) return fail(ErrorCode::kUnavailable, "warehouse is down");
    auto it = updated.find(table);
    if (it == updated.end()) return std::optional<TimePoint>{};
    return std::optional<TimePoint>(it->second);
  }
};

DependencySpec spec(std::string table, bool critical, std::int64_t min, std::optional<double> warn,
                    std::optional<double> fail_after) {
  DependencySpec s;
  s.table = std::move(table);
  s.critical = critical;
  s.expected_count_min = min;
  s.max_age_hours_warn = warn;
  s.max_age_hours_fail = fail_after;
  return s;
}

class DependencyCheckerTest : public ::testing::Test {
 protected:
  ManualClock clock;
  FakeWarehouse warehouse;
  DependencyChecker checker = DependencyChecker::create(clock, warehouse).value();
  CalendarDate date = *CalendarDate::parse("2025-11-18");

  void SetUp() override {
    ASSERT_TRUE(checker.declare(
        "upcoming_player_game_context",
        {spec("nbac_injury_report", true, 30, 6, 24), spec("odds_api_player_points_props", false, 100, {}, 12)}));
  }
};

TEST_F(DependencyCheckerTest, AllFreshAndBigEnoughIsOk) {
  warehouse.rows = {{"nbac_injury_report", 40}, {"odds_api_player_points_props", 300}};
  warehouse.updated = {{"nbac_injury_report", clock.now() - hours(1)},
                       {"odds_api_player_points_props", clock.now() - hours(2)}};
  auto r = checker.check("upcoming_player_game_context", date);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->overall, DependencyLevel::kOk);
  EXPECT_TRUE(r->ok());
  ASSERT_EQ(r->inputs.size(), 2u);
  EXPECT_EQ(r->inputs[0].sentence, "nbac_injury_report has 40 rows for 2025-11-18, updated 1.0 hours ago; ok");
  EXPECT_EQ(r->problems(), "");
  EXPECT_EQ(r->checked_at, clock.now());
}

TEST_F(DependencyCheckerTest, CriticalTableWithTooFewRowsFailsWithASentence) {
  warehouse.rows = {{"nbac_injury_report", 0}, {"odds_api_player_points_props", 300}};
  auto r = checker.check("upcoming_player_game_context", date);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->overall, DependencyLevel::kFail);
  EXPECT_FALSE(r->ok());
  EXPECT_EQ(r->inputs[0].sentence, "nbac_injury_report has 0 rows for 2025-11-18 (expected at least 30); critical");
  EXPECT_EQ(r->inputs[0].level, DependencyLevel::kFail);
  EXPECT_NE(r->problems().find("expected at least 30"), std::string::npos);
}

TEST_F(DependencyCheckerTest, MissingTableIsZeroRows) {
  warehouse.rows = {{"odds_api_player_points_props", 300}};
  auto r = checker.check("upcoming_player_game_context", date);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->overall, DependencyLevel::kFail);
  EXPECT_EQ(r->inputs[0].row_count, 0);
  EXPECT_NE(r->inputs[0].sentence.find("does not exist"), std::string::npos);
}

TEST_F(DependencyCheckerTest, StalenessWarnsThenFailsOnTheInjectedClock) {
  warehouse.rows = {{"nbac_injury_report", 40}, {"odds_api_player_points_props", 300}};
  warehouse.updated = {{"nbac_injury_report", clock.now()}, {"odds_api_player_points_props", clock.now()}};
  clock.advance(hours(7));
  auto warn = checker.check("upcoming_player_game_context", date);
  ASSERT_TRUE(warn);
  EXPECT_EQ(warn->inputs[0].level, DependencyLevel::kWarn);
  EXPECT_EQ(warn->inputs[0].sentence,
            "nbac_injury_report was last updated 7.0 hours ago (warning after 6 hours); critical");
  EXPECT_EQ(warn->overall, DependencyLevel::kWarn);
  EXPECT_TRUE(warn->ok());
  clock.advance(hours(18));
  auto bad = checker.check("upcoming_player_game_context", date);
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->inputs[0].level, DependencyLevel::kFail);
  EXPECT_EQ(bad->inputs[0].sentence, "nbac_injury_report was last updated 25.0 hours ago (limit 24 hours); critical");
  ASSERT_TRUE(bad->inputs[0].age_hours);
  EXPECT_DOUBLE_EQ(*bad->inputs[0].age_hours, 25.0);
}

TEST_F(DependencyCheckerTest, OptionalInputOnlyWarns) {
  warehouse.rows = {{"nbac_injury_report", 40}, {"odds_api_player_points_props", 3}};
  warehouse.updated = {{"nbac_injury_report", clock.now()}};
  auto r = checker.check("upcoming_player_game_context", date);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->inputs[1].level, DependencyLevel::kWarn);
  EXPECT_EQ(r->inputs[1].sentence,
            "odds_api_player_points_props has 3 rows for 2025-11-18 (expected at least 100); optional");
  EXPECT_EQ(r->overall, DependencyLevel::kWarn);
  auto j = r->to_json();
  EXPECT_EQ(j["overall"], "warn");
  EXPECT_EQ(j["inputs"][1]["critical"], false);
  EXPECT_EQ(j["checked_at"], "2025-01-01T00:00:00Z");
}

TEST_F(DependencyCheckerTest, UnknownUpdateTimeWarnsWhenAnAgeLimitIsSet) {
  warehouse.rows = {{"nbac_injury_report", 40}, {"odds_api_player_points_props", 300}};
  auto r = checker.check("upcoming_player_game_context", date);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->inputs[0].level, DependencyLevel::kWarn);
  EXPECT_NE(r->inputs[0].sentence.find("no known update time"), std::string::npos);
}

TEST_F(DependencyCheckerTest, SourceErrorsAndUndeclaredProcessorsAreErrors) {
  warehouse.down = true;
  auto r = checker.check("upcoming_player_game_context", date);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(r.error().context.at("table"), "nbac_injury_report");
  auto u = checker.check("nope", date);
  ASSERT_FALSE(u);
  EXPECT_EQ(u.error().code, ErrorCode::kNotFound);
}

TEST_F(DependencyCheckerTest, BadDeclarationsAreRefused) {
  EXPECT_EQ(checker.declare("upcoming_player_game_context", {}).error().code, ErrorCode::kAlreadyExists);
  EXPECT_FALSE(checker.declare("p", {spec("", true, 1, {}, {})}));
  EXPECT_FALSE(checker.declare("p", {spec("t", true, -1, {}, {})}));
  auto st = checker.declare("p", {spec("t", true, 1, 30, 24)});
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message.find("above max_age_hours_fail"), std::string::npos);
  EXPECT_EQ(checker.inputs("p"), nullptr);
  ASSERT_NE(checker.inputs("upcoming_player_game_context"), nullptr);
}

}  // namespace dependency_checker_test
}  // namespace pipeline
