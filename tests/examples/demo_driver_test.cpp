// The demo driver end to end: assertions on its JSON summary (the report at its edge, never its text).
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "demo_driver/demo_driver.hpp"
#include "nba_service_common/wall_clock.hpp"
#include "nba_synthetic/nba_preset.hpp"
#include "nba_synthetic/season.hpp"
#include "nba_synthetic/warehouse.hpp"
#include "phase1_scraper/scrapers.hpp"
#include "phase2_raw/raw_processors.hpp"
#include "phase3_analytics/analytics_processors.hpp"
#include "phase4_precompute/precompute_processors.hpp"
#include "pipeline/core/timestamp.hpp"
#include "pipeline/orchestrate/dead_letter_recorder.hpp"
#include "pipeline/sqlite/sqlite_state_store.hpp"
#include "temp_dir.hpp"

namespace demo_driver_test {

using nlohmann::json;
using Names = std::set<std::string>;
const auto kDate = *pipeline::CalendarDate::parse("2025-11-18");

using pipeline::testing::TempDir;

// Runs the demo on the SQLite store and warehouse under `dir` (reused when run again).
json run_demo(const std::filesystem::path& dir, bool update = true, bool lose_phase4_event = false,
             bool inject_faults = false, pipeline::CalendarDate date = kDate) {
  auto store = pipeline::SqliteStateStore::open((dir / "state.db").string());
  EXPECT_TRUE(store) << store.error().to_string();
  if (!store) return {};
  demo::DemoOptions o;
  o.date = date;
  o.store = store->get();
  o.store_label = "sqlite:" + (dir / "state.db").string();
  o.warehouse_path = dir / "warehouse.db";
  o.data_dir = dir / "scraped";
  o.injury_update = update;
  o.lose_phase4_event = lose_phase4_event;
  o.inject_faults = inject_faults;
  auto report = demo::run_demo(o);
  EXPECT_TRUE(report) << report.error().to_string();
  return report ? demo::to_json(*report) : json{};
}

const json& phase_of(const json& summary, int wave, const std::string& phase) {
  for (const auto& w : summary["waves"])
    if (w["wave"] == wave)
      for (const auto& p : w["phases"])
        if (p["phase"] == phase) return p;
  static const json kNone;
  ADD_FAILURE() << "no phase " << phase << " in wave " << wave;
  return kNone;
}

// Processor -> how many runs of it completed in (wave, phase).
std::map<std::string, int> completed_runs(const json& summary, int wave, const std::string& phase) {
  std::map<std::string, int> out;
  for (const auto& r : phase_of(summary, wave, phase)["runs"])
    if (r["outcome"] == "completed") ++out[r["processor"].get<std::string>()];
  return out;
}

// (source, outcome) of every Phase 5 event and job, in order.
std::vector<std::string> phase5_jobs(const json& summary) {
  std::vector<std::string> out;
  for (const auto& j : summary["phase5"]["jobs"])
    out.push_back(j["source"].get<std::string>() + ":" + j["outcome"].get<std::string>());
  return out;
}

Names names_of(const std::vector<std::string>& v) { return {v.begin(), v.end()}; }
Names keys_of(const std::map<std::string, int>& m) {
  Names out;
  for (const auto& [k, v] : m) out.insert(k);
  return out;
}
Names scraper_names() {
  Names out;
  for (const auto& f : phase1::feeds()) out.insert(phase1::scraper_name(f));
  return out;
}

const json* run_of(const json& summary, int wave, const std::string& phase, const std::string& processor) {
  for (const auto& r : phase_of(summary, wave, phase)["runs"])
    if (r["processor"] == processor) return &r;
  return nullptr;
}

}  // namespace demo_driver_test

using namespace demo_driver_test;

TEST(DemoDriver, FullDayRunsEveryProcessorOnceAndDecidesEachTriggerOnce) {
  TempDir dir;
  const json s = run_demo(dir.path(), /*update=*/false);
  ASSERT_TRUE(s.contains("waves"));
  const std::map<std::string, Names> expected{{"phase1_scrapers", scraper_names()},
                                              {"phase2_raw", names_of(phase2::raw_processors())},
                                              {"phase3_analytics", names_of(phase3::analytics_processors())},
                                              {"phase4_precompute", names_of(phase4::precompute_processors())}};
  for (const auto& [phase, names] : expected) {
    const auto runs = completed_runs(s, 0, phase);
    EXPECT_EQ(keys_of(runs), names) << phase;
    for (const auto& [p, n] : runs) EXPECT_EQ(n, 1) << p;
    EXPECT_EQ(phase_of(s, 0, phase)["runs"].size(), names.size()) << phase << ": a run that did not complete";
  }
  for (const std::string phase : {"phase3_analytics", "phase4_precompute"}) {
    const json& t = phase_of(s, 0, phase)["trigger"];
    ASSERT_FALSE(t.is_null()) << phase;
    EXPECT_EQ(t["trigger_id"], phase + "/2025-11-18/w0");
    EXPECT_EQ(t["reason"], "complete");
    EXPECT_EQ(t["deliveries_seen"], 1);
    EXPECT_TRUE(t["entities_changed"].is_null()) << "a full day triggers a full run";
    const auto& waves = s["trackers"][phase]["waves"];
    ASSERT_EQ(waves.size(), 1u);
    EXPECT_TRUE(waves[0]["decided"].get<bool>());
  }
  // The Phase 2→3 tracker waits for exactly the raw processors that exist: the seeds' 21,
  // each of which loaded rows for the day.
  EXPECT_EQ(names_of(s["trackers"]["phase3_analytics"]["expected"].get<std::vector<std::string>>()),
            names_of(phase2::raw_processors()));
  EXPECT_EQ(names_of(phase2::raw_processors()), names_of(nba::raw_processors()));
  EXPECT_EQ(phase2::raw_processors().size(), 21u);
  for (const auto& table : phase2::raw_processors()) EXPECT_GT(s["tables"][table].get<std::int64_t>(), 0) << table;
  EXPECT_TRUE(s["trackers"]["phase3_analytics"]["missing"].empty());
}

TEST(DemoDriver, RecordCountsMatchTheSyntheticDay) {
  TempDir dir;
  const json s = run_demo(dir.path(), /*update=*/false);
  ASSERT_TRUE(s.contains("tables"));
  const nba::Season season;
  const auto boxes = season.box_scores(kDate);
  const auto games = season.games_on(kDate).size();
  ASSERT_GT(games, 0u);
  std::int64_t players = 0, played = 0;
  for (const auto& b : boxes) {
    players += static_cast<std::int64_t>(b.players.size());
    for (const auto& p : b.players) played += p.minutes > 0;
  }
  const auto& t = s["tables"];
  EXPECT_EQ(t["nbac_gamebook_player_stats"], players);
  EXPECT_EQ(t["bdl_player_boxscores"], played);
  EXPECT_EQ(t["player_game_summary"], played);
  EXPECT_EQ(t["nbac_schedule"], games);
  EXPECT_EQ(t["nbac_scoreboard_v2"], games);
  EXPECT_EQ(t["nbac_team_stats"], 2 * games);
  EXPECT_EQ(t["team_offense_game_summary"], 2 * games);
  EXPECT_EQ(t["team_defense_game_summary"], 2 * games);
  EXPECT_EQ(t["upcoming_team_game_context"], 2 * games);
  EXPECT_EQ(t["upcoming_player_game_context"], 15 * 2 * games);
  EXPECT_EQ(t["ml_feature_store"], 15 * 2 * games);
  EXPECT_EQ(t["nbac_injury_report"], season.players().size());
  EXPECT_EQ(t["odds_api_player_points_props"], season.player_props(kDate).size());
  EXPECT_EQ(t["odds_api_game_lines"], season.game_lines(kDate).size());
  // Each raw processor reports the rows it wrote.
  for (const auto& raw : phase2::raw_processors()) {
    const json* r = run_of(s, 0, "phase2_raw", raw);
    ASSERT_NE(r, nullptr) << raw;
    EXPECT_EQ((*r)["records"], t[raw]) << raw;
  }
}

TEST(DemoDriver, InjuryUpdateReprocessesOnlyThatPlayerAndTeam) {
  TempDir dir;
  const json s = run_demo(dir.path());
  ASSERT_TRUE(s.contains("waves"));
  const nba::Season season;
  const auto update = season.injury_update(kDate);
  const json player_only{{"players", {update.player_id}}};
  const json player_and_team{{"players", {update.player_id}}, {"teams", {update.team}}};

  // Phase 1 re-scrapes only the injury report; Phase 2 loads only the changed row.
  EXPECT_EQ(keys_of(completed_runs(s, 1, "phase1_scrapers")), Names{phase1::scraper_name("nbac_injury_report")});
  EXPECT_EQ(keys_of(completed_runs(s, 1, "phase2_raw")), Names{"nbac_injury_report"});
  const json* raw = run_of(s, 1, "phase2_raw", "nbac_injury_report");
  ASSERT_NE(raw, nullptr);
  EXPECT_EQ((*raw)["entity_ids"], player_and_team);
  EXPECT_EQ((*raw)["records"], 1);
  EXPECT_FALSE((*raw)["full"].get<bool>());

  // The Phase 2→3 tracker opens wave 1 and triggers the contexts for that player and team.
  const json& t3 = phase_of(s, 1, "phase3_analytics")["trigger"];
  ASSERT_FALSE(t3.is_null());
  EXPECT_EQ(t3["trigger_id"], "phase3_analytics/2025-11-18/w1");
  EXPECT_EQ(t3["reason"], "debounce");
  EXPECT_EQ(t3["deliveries_seen"], 1);
  EXPECT_EQ(t3["entities_changed"], player_and_team);
  EXPECT_EQ(keys_of(completed_runs(s, 1, "phase3_analytics")),
            (Names{"upcoming_player_game_context", "upcoming_team_game_context"}));
  EXPECT_EQ((*run_of(s, 1, "phase3_analytics", "upcoming_player_game_context"))["entity_ids"], player_only);
  EXPECT_EQ((*run_of(s, 1, "phase3_analytics", "upcoming_team_game_context"))["entity_ids"],
            (json{{"teams", {update.team}}}));

  // Phase 4 recomputes the player's factors and features, nothing else.
  const json& t4 = phase_of(s, 1, "phase4_precompute")["trigger"];
  ASSERT_FALSE(t4.is_null());
  EXPECT_EQ(t4["deliveries_seen"], 1);
  EXPECT_EQ(keys_of(completed_runs(s, 1, "phase4_precompute")), (Names{"ml_feature_store", "player_composite_factors"}));
  for (const char* p : {"ml_feature_store", "player_composite_factors"}) {
    const json* r = run_of(s, 1, "phase4_precompute", p);
    ASSERT_NE(r, nullptr) << p;
    EXPECT_EQ((*r)["entity_ids"], player_only) << p;
    EXPECT_EQ((*r)["records"], 1) << p;
  }
  for (const std::string phase : {"phase3_analytics", "phase4_precompute"}) {
    const auto& waves = s["trackers"][phase]["waves"];
    ASSERT_EQ(waves.size(), 2u) << phase;
    for (const auto& w : waves) EXPECT_TRUE(w["decided"].get<bool>()) << phase;
  }
  // The work is measured: the update is a small fraction of the full day.
  EXPECT_GT(s["work"]["phase3_analytics"]["full"].get<int>(), 100 * s["work"]["phase3_analytics"]["injury_update"].get<int>());

  // And the warehouse holds the new status for that player.
  auto wh = nba::Warehouse::open((dir.path() / "warehouse.db").string());
  ASSERT_TRUE(wh);
  auto rows = wh->read_rows("upcoming_player_game_context", kDate, *nba::entity_filter("player_lookup", {update.player_id}));
  ASSERT_TRUE(rows);
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ(nba::as_text(rows->at(0, "injury_status")), std::string(nba::to_string(update.after)));
  auto team = wh->read_rows("upcoming_team_game_context", kDate, *nba::entity_filter("team_abbr", {update.team}));
  ASSERT_TRUE(team);
  ASSERT_EQ(team->size(), 1u);
  std::int64_t out = 0, questionable = 0;
  for (const auto& e : season.injury_report_after_update(kDate)) {
    if (e.team != update.team) continue;
    out += e.status == nba::InjuryStatus::kOut || e.status == nba::InjuryStatus::kDoubtful;
    questionable += e.status == nba::InjuryStatus::kQuestionable;
  }
  EXPECT_EQ(nba::as_int(team->at(0, "players_out")), out);
  EXPECT_EQ(nba::as_int(team->at(0, "players_questionable")), questionable);
}

// Every feed's scraped file reads back as that feed's items (one table maps a feed to
// its fetch and its item type); an unknown feed or a malformed item is refused.
TEST(DemoDriver, ScrapedFilesReadBackAsTheirFeedsItems) {
  TempDir dir;
  const json s = run_demo(dir.path(), /*update=*/false);
  ASSERT_TRUE(s.contains("tables"));
  ASSERT_EQ(names_of(phase1::feeds()), names_of(nba::raw_processors()));
  for (const auto& feed : phase1::feeds()) {
    std::ifstream in(dir.path() / "scraped" / feed / kDate.to_string() / "w0.json");
    ASSERT_TRUE(in) << feed;
    const json file = json::parse(in, nullptr, /*allow_exceptions=*/false);
    ASSERT_TRUE(file.is_object()) << feed;
    EXPECT_EQ(file["feed"], feed);
    auto items = phase1::items_from_json(feed, file["items"]);
    ASSERT_TRUE(items) << feed << ": " << items.error().to_string();
    const auto n = std::visit([](const auto& v) { return v.size(); }, *items);
    EXPECT_EQ(n, file["items"].size()) << feed;
    EXPECT_GT(n, 0u) << feed;
    const json* run = run_of(s, 0, "phase1_scrapers", phase1::scraper_name(feed));
    ASSERT_NE(run, nullptr) << feed;
    EXPECT_EQ((*run)["records"], n) << feed;
  }
  auto unknown = phase1::items_from_json("no_such_feed", json::array());
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, pipeline::ErrorCode::kInvalidArgument);
  auto malformed = phase1::items_from_json("nbac_schedule", json::array({json{{"game_id", 7}}}));
  ASSERT_FALSE(malformed);
  EXPECT_EQ(malformed.error().code, pipeline::ErrorCode::kInvalidArgument);
}

// The feature vectors are written as text, not through a JSON tree: each must parse, in
// key order, with as many features as it says, and carry the values of its source rows.
TEST(DemoDriver, FeatureVectorsAreJsonOfTheirSourceRows) {
  TempDir dir;
  const json s = run_demo(dir.path(), /*update=*/false);
  ASSERT_TRUE(s.contains("tables"));
  auto wh = nba::Warehouse::open((dir.path() / "warehouse.db").string());
  ASSERT_TRUE(wh);
  auto rows = wh->query(
      "SELECT m.features_json, m.feature_count, u.injury_status, u.is_home, u.points_line, c.points_avg_last_10, "
      "f.total_composite_adjustment FROM ml_feature_store m "
      "JOIN upcoming_player_game_context u USING (game_date, player_lookup) "
      "LEFT JOIN player_daily_cache c USING (game_date, player_lookup) "
      "LEFT JOIN player_composite_factors f USING (game_date, player_lookup) WHERE m.game_date = ?",
      {kDate.to_string()});
  ASSERT_TRUE(rows) << rows.error().to_string();
  ASSERT_GT(rows->size(), 0u);
  std::size_t with_line = 0;
  for (std::size_t i = 0; i < rows->size(); ++i) {
    const json f = json::parse(nba::as_text(rows->at(i, std::size_t{0})), nullptr, /*allow_exceptions=*/false);
    ASSERT_TRUE(f.is_object()) << nba::as_text(rows->at(i, std::size_t{0}));
    EXPECT_EQ(static_cast<std::int64_t>(f.size()), nba::as_int(rows->at(i, 1)));
    EXPECT_EQ(f.dump().size(), nba::as_text(rows->at(i, std::size_t{0})).size());  // compact, keys in order
    EXPECT_EQ(f["injury_status"], nba::as_text(rows->at(i, 2)));
    EXPECT_EQ(f["is_home"], nba::as_int(rows->at(i, 3)));
    if (std::holds_alternative<std::monostate>(rows->at(i, 4))) {
      EXPECT_TRUE(f["points_line"].is_null());
    } else {
      EXPECT_EQ(f["points_line"].get<double>(), nba::as_double(rows->at(i, 4)));  // read back exactly
      ++with_line;
    }
    if (!std::holds_alternative<std::monostate>(rows->at(i, 5))) {
      EXPECT_EQ(f["points_avg_last_10"].get<double>(), nba::as_double(rows->at(i, 5)));
    }
    if (!std::holds_alternative<std::monostate>(rows->at(i, 6))) {
      EXPECT_EQ(f["total_composite_adjustment"].get<double>(), nba::as_double(rows->at(i, 6)));
    }
  }
  EXPECT_GT(with_line, 0u);
}

TEST(DemoDriver, RerunOnTheSameStoreRunsNoProcessorTwiceAndDecidesNothingNew) {
  TempDir dir;
  const json first = run_demo(dir.path());
  ASSERT_TRUE(first.contains("runs_total"));
  std::int64_t ran = 0;
  for (const auto& [p, n] : first["runs_total"].items()) ran += n.get<std::int64_t>();
  EXPECT_GT(ran, 0);

  const json again = run_demo(dir.path());
  ASSERT_TRUE(again.contains("runs_total"));
  for (const auto& [p, n] : again["runs_total"].items()) EXPECT_EQ(n, 0) << p << " ran again";
  for (int wave : {0, 1}) {
    // Scrapers and raw processors answer from run history; nothing reaches Phases 3–4.
    for (const std::string phase : {"phase1_scrapers", "phase2_raw"}) {
      EXPECT_FALSE(phase_of(again, wave, phase)["runs"].empty()) << phase;
      for (const auto& r : phase_of(again, wave, phase)["runs"]) EXPECT_EQ(r["outcome"], "already_done") << r.dump();
    }
    for (const std::string phase : {"phase3_analytics", "phase4_precompute"}) {
      EXPECT_TRUE(phase_of(again, wave, phase)["runs"].empty()) << phase;
      const json& t = phase_of(again, wave, phase)["trigger"];
      ASSERT_FALSE(t.is_null());  // decided by the first run ...
      EXPECT_EQ(t["deliveries_seen"], 0) << "... and not decided (or published) again";
      EXPECT_EQ(t["trigger_id"], phase_of(first, wave, phase)["trigger"]["trigger_id"]);
    }
  }
  EXPECT_EQ(again["trackers"], first["trackers"]);
  EXPECT_EQ(again["tables"], first["tables"]);
}

// ---- Phase 5: the hybrid trigger, the Pacific schedule, the injury re-prediction.

TEST(DemoDriverPhase5, EventPathPredictsEveryPlayerWithFeaturesInOneBatch) {
  TempDir dir;
  const json s = run_demo(dir.path());
  ASSERT_TRUE(s.contains("phase5"));
  const json& p = s["phase5"];
  EXPECT_EQ(p["batches"], 1);
  EXPECT_EQ(p["triggered_by"], "event");
  EXPECT_EQ(p["state"], "complete");
  const auto players = s["tables"]["player_daily_cache"].get<std::int64_t>();
  ASSERT_GT(players, 50);
  EXPECT_EQ(p["predictions"], players);
  EXPECT_EQ(p["expected"], players);
  EXPECT_EQ(p["done"], players);
  EXPECT_DOUBLE_EQ(p["coverage"].get<double>(), 1.0);
  // The first prediction is version 1 for every player; the update adds one row of history.
  EXPECT_EQ(p["batch_version"], 1);
  EXPECT_EQ(p["prediction_versions"], players + p["update"]["count"].get<std::int64_t>());
  // Phase 4 completed and the batch completed in the same simulated instant (11:00Z).
  EXPECT_EQ(p["phase4_completed_at"], "2025-11-18T11:00:00Z");
  EXPECT_DOUBLE_EQ(p["phase4_to_phase5_latency_seconds"].get<double>(), 0.0);
  EXPECT_TRUE(p["alerts"].empty()) << p["alerts"].dump();
}

TEST(DemoDriverPhase5, PacificBackupFindsAlreadyCompleteAndStatusCheckReportsFullCoverage) {
  TempDir dir;
  const json s = run_demo(dir.path());
  ASSERT_TRUE(s.contains("phase5"));
  EXPECT_EQ(phase5_jobs(s), (std::vector<std::string>{"event:started", "backup:already_complete", "retry:complete",
                                                      "retry:complete", "status_check:status_ok", "event:running"}));
  const json& jobs = s["phase5"]["jobs"];
  // 2025-11-18 is standard time: 06:00 PST = 14:00Z, 07:00 PST = 15:00Z.
  EXPECT_EQ(jobs[1]["at"], "2025-11-18T14:00:00Z");
  EXPECT_EQ(jobs[1]["local"], "06:00 PST");
  EXPECT_EQ(jobs[1]["game_date"], "2025-11-18");
  EXPECT_EQ(jobs[4]["at"], "2025-11-18T15:00:00Z");
  const json& check = s["phase5"]["status_check"];
  ASSERT_TRUE(check.is_object());
  EXPECT_EQ(check["outcome"], "status_ok");
  EXPECT_DOUBLE_EQ(check["coverage"].get<double>(), 1.0);
  EXPECT_EQ(check["done"], s["tables"]["player_daily_cache"]);
}

TEST(DemoDriverPhase5, InjuryUpdateRePredictsOnlyThatPlayerAsTheNextVersion) {
  TempDir dir;
  const json s = run_demo(dir.path());
  ASSERT_TRUE(s.contains("phase5"));
  const json& p = s["phase5"];
  ASSERT_TRUE(p["update"].is_object()) << p.dump();
  EXPECT_EQ(p["update"]["count"], 1);
  EXPECT_EQ(p["update"]["players"], json::array({s["waves"][1]["update"]["player"]}));
  EXPECT_EQ(p["update"]["version"], 2);
  EXPECT_EQ(p["version_after_update"], 2);
  EXPECT_EQ(p["batches"], 1) << "an incremental re-prediction is not a new batch";
  // The batch's completion and the incremental one's: one message each.
  EXPECT_EQ(p["completions"], 2);
  EXPECT_EQ(p["predictions"], s["tables"]["player_daily_cache"]);
}

TEST(DemoDriverPhase5, LostPhase4EventMeansTheSchedulerBackupProducesTheBatch) {
  TempDir dir;
  const json s = run_demo(dir.path(), true, true);
  ASSERT_TRUE(s.contains("phase5"));
  const json& p = s["phase5"];
  EXPECT_EQ(p["lost_phase4_event"], true);
  EXPECT_EQ(p["triggered_by"], "scheduler");
  EXPECT_EQ(p["batches"], 1);
  EXPECT_EQ(phase5_jobs(s), (std::vector<std::string>{"event_lost:lost", "backup:started", "retry:complete",
                                                      "retry:complete", "status_check:status_ok", "event:running"}));
  EXPECT_EQ(p["predictions"], s["tables"]["player_daily_cache"]);
  EXPECT_EQ(p["completed_at"], "2025-11-18T14:00:00Z");
  // Phase 4 finished at 11:00Z; the backup made it three hours late.
  EXPECT_DOUBLE_EQ(p["phase4_to_phase5_latency_seconds"].get<double>(), 3 * 3600.0);
  EXPECT_EQ(p["update"]["count"], 1);
}

// ---- One correlation id from Phase 1 to Phase 5.

// The correlation id of `wave`'s Phase 1 scraper messages (from the trace), after checking
// that every hop of the trace carries it.
std::string scraper_correlation(const json& summary, const std::string& wave) {
  std::string corr;
  for (const auto& hop : summary["trace"][wave])
    if (hop["phase"] == "phase1_scrapers") corr = hop["correlation_id"];
  EXPECT_FALSE(corr.empty()) << "no scraper message in the " << wave << " trace";
  for (const auto& hop : summary["trace"][wave]) EXPECT_EQ(hop["correlation_id"], corr) << hop.dump();
  return corr;
}

TEST(DemoDriverPhase5, TheScrapersCorrelationIdReachesTheCompletionAndEveryPredictionRow) {
  TempDir dir;
  const json s = run_demo(dir.path());
  ASSERT_TRUE(s.contains("phase5"));
  const std::string full = scraper_correlation(s, "full"), update = scraper_correlation(s, "injury_update");
  ASSERT_NE(full, update) << "each wave is its own run";
  const json& p = s["phase5"];
  EXPECT_EQ(p["correlation_id"], full);
  const std::string batch = p["batch_id"];
  auto wh = nba::Warehouse::open((dir.path() / "warehouse.db").string());
  ASSERT_TRUE(wh) << wh.error().to_string();
  // (correlation_id, batch_id, version) -> rows: the batch's version under the full day's
  // id, the injury update's re-prediction under the update's; the batch id beside both.
  auto groups = [&](const std::string& table, const std::string& version) {
    std::map<std::string, std::int64_t> out;
    auto rows = wh->query("SELECT correlation_id, batch_id, " + version + " AS v, COUNT(*) AS n FROM " + table +
                              " WHERE game_date = ? GROUP BY correlation_id, batch_id, v ORDER BY v",
                          {kDate.to_string()});
    EXPECT_TRUE(rows) << rows.error().to_string();
    if (!rows) return out;
    for (std::size_t i = 0; i < rows->size(); ++i)
      out[fmt::format("{} {} v{}", nba::as_text(rows->at(i, "correlation_id")), nba::as_text(rows->at(i, "batch_id")),
                      nba::as_text(rows->at(i, "v")))] = nba::as_int(rows->at(i, "n"));
    return out;
  };
  const std::int64_t predictions = p["predictions"];
  EXPECT_EQ(groups("player_prop_prediction_versions", "CAST(version AS TEXT)"),
            (std::map<std::string, std::int64_t>{{fmt::format("{} {} v1", full, batch), predictions},
                                                 {fmt::format("{} {} v2", update, batch), 1}}));
  // The current rows: every player's v1, the re-predicted player's v2.
  EXPECT_EQ(groups("player_prop_predictions", "substr(source_hash, length(batch_id) + 3)"),
            (std::map<std::string, std::int64_t>{{fmt::format("{} {} v1", full, batch), predictions - 1},
                                                 {fmt::format("{} {} v2", update, batch), 1}}));
}

// ---- Eastern and Pacific times are zones, not offsets.

TEST(WallClock, EasternTimesMoveWithDaylightTime) {
  const auto summer = *pipeline::CalendarDate::parse("2025-10-28");  // EDT, UTC-4
  auto at = [](pipeline::CalendarDate d, int hour) {
    auto t = nba_services::eastern_time(d, std::chrono::hours(hour));
    EXPECT_TRUE(t) << t.error().to_string();
    return t ? pipeline::format_rfc3339(*t) : std::string();
  };
  EXPECT_EQ(at(kDate, 6), "2025-11-18T11:00:00Z");
  EXPECT_EQ(at(summer, 6), "2025-10-28T10:00:00Z");
  EXPECT_EQ(pipeline::format_rfc3339(*phase1::injury_update_time(kDate)), "2025-11-18T19:00:00Z");
  EXPECT_EQ(pipeline::format_rfc3339(*phase1::injury_update_time(summer)), "2025-10-28T18:00:00Z");
  // 02:30 does not exist on 2026-03-08 in New York: moved over the gap to 03:30 EDT.
  EXPECT_EQ(at(*pipeline::CalendarDate::parse("2026-03-08"), 0), "2026-03-08T05:00:00Z");
  auto gap = nba_services::eastern_time(*pipeline::CalendarDate::parse("2026-03-08"), std::chrono::minutes(150));
  ASSERT_TRUE(gap);
  EXPECT_EQ(pipeline::format_rfc3339(*gap), "2026-03-08T07:30:00Z");
  EXPECT_EQ(nba_services::zoned_clock_text(*gap, nba_services::kEasternZone), "03:30 EDT");
  EXPECT_EQ(nba_services::zoned_clock_text(*gap, nba_services::kPacificZone), "23:30 PST");  // Los Angeles has not sprung forward yet
  EXPECT_FALSE(nba_services::zoned_time(kDate, std::chrono::hours(6), "America/Nowhere"));
}

// The same demo day on a standard-time date and a daylight-time one: 06:00 ET, 14:00 ET
// and 06:00 / 07:00 PT are the local times on both, their UTC instants an hour apart.
TEST(DemoDriverZones, ScheduleAndInjuryUpdateAreLocalTimesOnStandardAndDaylightDates) {
  struct Day {
    std::string date, start, update, backup, status_check, backup_local;
  };
  for (const Day& d : {Day{"2025-11-18", "11:00", "19:00", "14:00", "15:00", "06:00 PST"},
                       Day{"2025-10-28", "10:00", "18:00", "13:00", "14:00", "06:00 PDT"}}) {
    SCOPED_TRACE(d.date);
    TempDir dir;
    const json s = run_demo(dir.path(), true, false, false, *pipeline::CalendarDate::parse(d.date));
    ASSERT_TRUE(s.contains("phase5"));
    auto utc = [&d](const std::string& hhmm) { return d.date + "T" + hhmm + ":00Z"; };
    EXPECT_EQ(s["waves"][0]["started_at"], utc(d.start));
    EXPECT_EQ(s["waves"][1]["started_at"], utc(d.update));
    const json& jobs = s["phase5"]["jobs"];
    ASSERT_EQ(phase5_jobs(s)[1], "backup:already_complete");
    EXPECT_EQ(jobs[1]["at"], utc(d.backup));
    EXPECT_EQ(jobs[1]["local"], d.backup_local);
    EXPECT_EQ(s["phase5"]["status_check"]["at"], utc(d.status_check));
  }
}

// ---- The fault variant: drops, duplicates, failed publishes, one failing step, one poison.

TEST(DemoDriverFaults, EveryTriggerDecidedOnceNoStepTwiceFailedStepRetriedPoisonInTheDlq) {
  TempDir dir;
  const json s = run_demo(dir.path(), true, false, true);
  ASSERT_TRUE(s.contains("faults"));
  const json& f = s["faults"];
  // Faults of every kind were injected.
  EXPECT_GT(f["injected"]["dropped"].get<int>(), 0);
  EXPECT_GT(f["injected"]["duplicated"].get<int>(), 0);
  EXPECT_GT(f["injected"]["publish_failures"].get<int>(), 0);
  EXPECT_GT(f["redeliveries"].get<int>(), 0);
  // Each wave of each tracker decided once, and each trigger was published once.
  for (const auto& [tracker, waves] : f["decisions"].items()) {
    EXPECT_TRUE(waves.contains("0") && waves.contains("1")) << tracker;
    for (const auto& [w, n] : waves.items()) EXPECT_EQ(n, 1) << tracker << " wave " << w;
  }
  for (const auto& [topic, ids] : f["trigger_deliveries"].items())
    for (const auto& [id, n] : ids.items()) EXPECT_EQ(n, 1) << topic << " " << id;
  EXPECT_EQ(f["max_runs_per_processor_wave"], 1);
  // The failing step ran again after its nack and succeeded.
  EXPECT_EQ(f["failed_once"]["attempts"], 2);
  // The poison message is in the DLQ, with one alert.
  EXPECT_EQ(f["poison"]["dead_lettered"], true);
  EXPECT_EQ(f["dlq_entries"], 1);
  EXPECT_EQ(f["dlq_alerts"]["delivered"], 1);
  // And the day still ends complete.
  EXPECT_EQ(s["phase5"]["state"], "complete");
  EXPECT_EQ(s["phase5"]["predictions"], s["tables"]["player_daily_cache"]);
  EXPECT_EQ(s["phase5"]["batches"], 1);
}


namespace demo_driver_test {

// A date without games (Thanksgiving in the synthetic season) is a quiet day, not a
// failure: every processor completes with no_data, the trackers decide, Phase 5's batch
// completes with nothing expected, and nothing dead-letters or alerts.
TEST(DemoDriver, ADateWithoutGamesCompletesEveryPhaseWithNoData) {
  const auto date = *pipeline::CalendarDate::parse("2025-11-27");
  ASSERT_TRUE(nba::Season().games_on(date).empty());
  TempDir dir;
  auto store = pipeline::SqliteStateStore::open((dir.path() / "state.db").string());
  ASSERT_TRUE(store) << store.error().to_string();
  demo::DemoOptions o;
  o.date = date;
  o.store = store->get();
  o.warehouse_path = dir.path() / "warehouse.db";
  o.data_dir = dir.path() / "scraped";
  auto report = demo::run_demo(o);
  ASSERT_TRUE(report) << report.error().to_string();
  const json s = demo::to_json(*report);

  for (const std::string phase : {"phase3_analytics", "phase4_precompute"}) {
    const json& p = phase_of(s, 0, phase);
    ASSERT_EQ(p["runs"].size(), 5u) << phase;
    for (const auto& r : p["runs"]) {
      EXPECT_EQ(r["outcome"], "completed") << phase << " " << r["processor"];
      EXPECT_EQ(r["status"], "no_data") << phase << " " << r["processor"];
    }
  }
  for (const auto& r : phase_of(s, 0, "phase2_raw")["runs"]) EXPECT_EQ(r["outcome"], "completed") << r["processor"];
  for (const auto& [name, t] : s["trackers"].items()) {
    ASSERT_FALSE(t["waves"].empty()) << name;
    EXPECT_EQ(t["waves"][0]["decided"], true) << name;
    EXPECT_EQ(t["waves"][0]["reason"], "complete") << name;
    EXPECT_TRUE(t["failed"].empty()) << name;
    EXPECT_TRUE(t["missing"].empty()) << name;
  }
  // Phase 2 had the injury report; Phase 3 and 4 found nothing, and say so downstream.
  EXPECT_EQ(s["trackers"]["phase4_precompute"]["waves"][0]["trigger_status"], "no_data");
  EXPECT_EQ(s["trackers"]["phase5_predictions"]["waves"][0]["trigger_status"], "no_data");

  const json& p5 = s["phase5"];
  EXPECT_EQ(p5["state"], "complete");
  EXPECT_EQ(p5["triggered_by"], "event");
  EXPECT_EQ(p5["batches"], 1);
  EXPECT_EQ(p5["expected"], 0);
  EXPECT_EQ(p5["predictions"], 0);
  EXPECT_TRUE(p5["alerts"].empty()) << p5["alerts"].dump();
  for (const auto& j : p5["jobs"]) EXPECT_NE(j["outcome"], "refused") << j.dump();

  EXPECT_EQ(report->dead_letters, 0u);
  auto rows = pipeline::DeadLetterRecorder::list(**store);
  ASSERT_TRUE(rows) << rows.error().to_string();
  EXPECT_TRUE(rows->empty());
}

// The recorder watches every consumed topic: a Phase 3 trigger that uses up its attempts
// (its processor keeps failing) is a row `pipelinectl dlq list` shows, with an alert.
TEST(DemoDriver, ATriggerThatUsesUpItsAttemptsIsRecordedAsADeadLetter) {
  TempDir dir;
  auto store = pipeline::SqliteStateStore::open((dir.path() / "state.db").string());
  ASSERT_TRUE(store) << store.error().to_string();
  demo::DemoOptions o;
  o.date = kDate;
  o.store = store->get();
  o.warehouse_path = dir.path() / "warehouse.db";
  o.injury_update = false;
  o.fail_processor = [](std::string_view p, pipeline::CalendarDate) { return p == "player_game_summary"; };
  auto report = demo::run_demo(o);
  ASSERT_TRUE(report) << report.error().to_string();
  EXPECT_GE(report->dead_letters, 1u);
  auto rows = pipeline::DeadLetterRecorder::list(**store);
  ASSERT_TRUE(rows) << rows.error().to_string();
  ASSERT_FALSE(rows->empty());
  bool phase3 = false;
  for (const auto& r : *rows) phase3 = phase3 || r.source_topic == "nba-phase3-trigger";
  EXPECT_TRUE(phase3);
  const json s = demo::to_json(*report);
  bool alerted = false;
  for (const auto& a : s["phase5"]["alerts"]) alerted = alerted || a["key"].get<std::string>().starts_with("dlq/");
  EXPECT_TRUE(alerted) << s["phase5"]["alerts"].dump();
}

}  // namespace demo_driver_test
