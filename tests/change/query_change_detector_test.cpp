// QueryChangeDetector over a fake runner: what it binds, how rows become a change set,
// and the "process everything" fallback on every kind of error.
#include "pipeline/change/query_change_detector.hpp"

#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "pipeline/memory/metrics_registry.hpp"

namespace query_change_detector_test {

using pipeline::CalendarDate;
using pipeline::ChangeQueryRow;
using pipeline::ChangeSet;
using pipeline::ErrorCode;
using pipeline::QueryChangeDetector;
using pipeline::QueryParam;
using pipeline::Result;

const CalendarDate kDate = *CalendarDate::parse("2025-11-18");
constexpr const char* kSql = "SELECT id, change FROM diff WHERE game_date = :date";

/// Answers with `rows` (or `error`) and records what it was asked.
class FakeRunner final : public pipeline::ChangeQueryRunner {
 public:
  std::vector<ChangeQueryRow> rows;
  std::optional<pipeline::Error> error;
  std::string seen_sql;
  std::vector<QueryParam> seen_params;
  int calls = 0;

  Result<std::vector<ChangeQueryRow>> changed_entities(std::string_view sql,
                                                       std::span<const QueryParam> params) override {
    ++calls;
    seen_sql = sql;
    seen_params.assign(params.begin(), params.end());
    if (error) return pipeline::fail(*error);
    return rows;
  }
};

ChangeQueryRow row(std::string id, std::optional<std::string> change = std::nullopt) {
  return {std::move(id), std::move(change)};
}

QueryChangeDetector make(FakeRunner& runner, std::vector<QueryParam> params = {}, pipeline::MetricsSink* metrics = nullptr,
                         std::function<void(std::string_view)> log = {}) {
  auto d = QueryChangeDetector::create(runner, {"players", kSql, std::move(params), metrics, std::move(log)});
  EXPECT_TRUE(d.has_value()) << d.error().to_string();
  return std::move(*d);
}

TEST(QueryChangeDetector, SortsRowsIntoAddedChangedAndRemoved) {
  FakeRunner runner;
  runner.rows = {row("zed", "changed"), row("rookie", "added"), row("amy", "changed"), row("gone", "removed"),
                 row("bob", "added")};
  auto d = make(runner);
  const ChangeSet cs = d.detect(kDate, {});
  EXPECT_FALSE(cs.full_fallback);
  EXPECT_EQ(cs.entity_kind, "players");
  EXPECT_EQ(cs.date, kDate);
  EXPECT_EQ(cs.added, (std::vector<std::string>{"bob", "rookie"}));
  EXPECT_EQ(cs.changed, (std::vector<std::string>{"amy", "zed"}));
  EXPECT_EQ(cs.removed, (std::vector<std::string>{"gone"}));
  EXPECT_EQ(cs.unchanged, 0u);
  EXPECT_EQ(cs.ids_to_process(), (std::vector<std::string>{"amy", "bob", "rookie", "zed"}));
  // Nothing for a fingerprint commit to write, should the set reach one.
  EXPECT_EQ(cs.commit_mode, pipeline::FingerprintCommit::kKeepStored);
  EXPECT_TRUE(cs.updates.empty());
  EXPECT_FALSE(d.uses_snapshot());
}

TEST(QueryChangeDetector, OneColumnRowsAreChanged) {
  FakeRunner runner;
  runner.rows = {row("b"), row("a")};
  auto cs = make(runner).detect(kDate, {});
  EXPECT_FALSE(cs.full_fallback);
  EXPECT_EQ(cs.changed, (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(cs.added.empty());
}

TEST(QueryChangeDetector, EmptyResultIsNothingChangedNotAFallback) {
  FakeRunner runner;
  auto cs = make(runner).detect(kDate, {});
  EXPECT_TRUE(cs.nothing_changed());
  EXPECT_EQ(cs.entities_changed(), pipeline::ChangedEntities(pipeline::EntityChanges{}));
}

TEST(QueryChangeDetector, BindsTheDateAndTheConfiguredParametersByName) {
  FakeRunner runner;
  auto d = make(runner, {{"team", std::string("LAL")}, {"version", std::int64_t{3}}});
  (void)d.detect(kDate, {});
  EXPECT_EQ(runner.seen_sql, kSql);  // the statement as given: nothing pasted into it
  ASSERT_EQ(runner.seen_params.size(), 3u);
  EXPECT_EQ(runner.seen_params[0].name, "date");
  EXPECT_EQ(std::get<std::string>(runner.seen_params[0].value), "2025-11-18");
  EXPECT_EQ(runner.seen_params[1].name, "team");
  EXPECT_EQ(std::get<std::string>(runner.seen_params[1].value), "LAL");
  EXPECT_EQ(runner.seen_params[2].name, "version");
  EXPECT_EQ(std::get<std::int64_t>(runner.seen_params[2].value), 3);
}

TEST(QueryChangeDetector, RunnerErrorFallsBackToFullAndSaysSo) {
  FakeRunner runner;
  runner.error = pipeline::Error{ErrorCode::kUnavailable, "warehouse is down", {}};
  pipeline::MetricsRegistry metrics = pipeline::MetricsRegistry::create().value();
  std::vector<std::string> logs;
  auto d = make(runner, {}, &metrics, [&](std::string_view line) { logs.emplace_back(line); });

  auto direct = d.query(kDate);
  ASSERT_FALSE(direct);
  EXPECT_EQ(direct.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(direct.error().context.at("kind"), "players");

  const ChangeSet cs = d.detect(kDate, {});
  EXPECT_TRUE(cs.full_fallback);
  EXPECT_NE(cs.fallback_reason.find("warehouse is down"), std::string::npos) << cs.fallback_reason;
  EXPECT_TRUE(cs.added.empty() && cs.changed.empty() && cs.removed.empty());
  EXPECT_FALSE(cs.entities_changed().has_value());  // a full run
  EXPECT_EQ(cs.commit_mode, pipeline::FingerprintCommit::kKeepStored);
  EXPECT_EQ(metrics.counter_value("pipeline_change_fallbacks_total", {{"kind", "players"}}), 1u);
  EXPECT_EQ(metrics.event_count("change_detection_fallback"), 1u);
  ASSERT_EQ(logs.size(), 1u);
  EXPECT_NE(logs[0].find("players"), std::string::npos);

  runner.error.reset();
  runner.rows = {row("a", "changed")};
  EXPECT_EQ(d.detect(kDate, {}).changed, std::vector<std::string>{"a"});
  EXPECT_EQ(metrics.counter_value("pipeline_change_fallbacks_total", {{"kind", "players"}}), 1u);
}

TEST(QueryChangeDetector, AnIdTheEntityRuleRefusesIsAnErrorValueAndAFallback) {
  for (const std::string& bad : {std::string(), std::string("a/b"), std::string("a b"), std::string("tab\there"),
                                std::string("nul\0id", 6), std::string(129, 'x'), std::string("caf\xc3\xa9")}) {
    FakeRunner runner;
    runner.rows = {row("fine", "changed"), row(bad, "changed")};
    auto d = make(runner);
    auto direct = d.query(kDate);
    ASSERT_FALSE(direct) << "accepted '" << bad << "'";
    EXPECT_EQ(direct.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(direct.error().message.find("row 2"), std::string::npos) << direct.error().message;
    const ChangeSet cs = d.detect(kDate, {});
    EXPECT_TRUE(cs.full_fallback);
    EXPECT_TRUE(cs.changed.empty());
  }
  // The longest id the rule allows is fine.
  FakeRunner runner;
  runner.rows = {row(std::string(128, 'x'))};
  EXPECT_FALSE(make(runner).detect(kDate, {}).full_fallback);
}

TEST(QueryChangeDetector, UnknownChangeNameFallsBack) {
  FakeRunner runner;
  runner.rows = {row("a", "modified")};
  auto d = make(runner);
  auto direct = d.query(kDate);
  ASSERT_FALSE(direct);
  EXPECT_NE(direct.error().message.find("'modified'"), std::string::npos) << direct.error().message;
  EXPECT_TRUE(d.detect(kDate, {}).full_fallback);
}

TEST(QueryChangeDetector, RepeatedIdFallsBackWhetherOrNotTheChangeAgrees) {
  for (const auto& rows : {std::vector<ChangeQueryRow>{row("a", "changed"), row("a", "changed")},
                           std::vector<ChangeQueryRow>{row("a", "added"), row("b"), row("a", "removed")}}) {
    FakeRunner runner;
    runner.rows = rows;
    auto d = make(runner);
    auto direct = d.query(kDate);
    ASSERT_FALSE(direct);
    EXPECT_NE(direct.error().message.find("'a' appears more than once"), std::string::npos) << direct.error().message;
    EXPECT_TRUE(d.detect(kDate, {}).full_fallback);
  }
}

TEST(QueryChangeDetector, RejectsBadConfiguration) {
  FakeRunner runner;
  using Config = pipeline::QueryChangeDetectorOptions;
  const std::vector<Config> bad = {
      {"", kSql, {}},
      {"players/x", kSql, {}},
      {"players", "  \n ", {}},
      {"players", kSql, {{":team", std::string("LAL")}}},   // written without the ':'
      {"players", kSql, {{"1team", std::string("LAL")}}},
      {"players", kSql, {{"date", std::string("2025-01-01")}}},  // reserved: the detector binds it
      {"players", kSql, {{"team", std::string("LAL")}, {"team", std::string("BOS")}}},
  };
  for (const auto& config : bad) {
    auto d = QueryChangeDetector::create(runner, config);
    ASSERT_FALSE(d) << config.entity_kind << " / " << config.sql;
    EXPECT_EQ(d.error().code, ErrorCode::kInvalidArgument);
  }
  EXPECT_EQ(runner.calls, 0);
  EXPECT_TRUE(QueryChangeDetector::create(runner, {"players", kSql, {{"team_2", std::string("LAL")}}}));
}

TEST(QueryChangeDetector, WorksThroughTheInterface) {
  FakeRunner runner;
  runner.rows = {row("a", "added")};
  auto concrete = make(runner);
  const pipeline::ChangeDetector& d = concrete;
  EXPECT_EQ(d.entity_kind(), "players");
  const ChangeSet cs = d.detect(kDate, {});
  EXPECT_EQ(cs.added, std::vector<std::string>{"a"});
}

}  // namespace query_change_detector_test
