// Backfill over the demo driver: a few dates, interrupted, then resumed; assertions on
// its JSON.
#include <filesystem>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "demo_driver/backfill.hpp"
#include "nba_synthetic/warehouse.hpp"
#include "phase5_coordinator/phase5.hpp"
#include "pipeline/core/manual_clock.hpp"
#include "pipeline/memory/memory_state_store.hpp"
#include "pipeline/runtime/retention.hpp"
#include "temp_dir.hpp"

namespace backfill_test {

using nlohmann::json;

using pipeline::testing::TempDir;

json backfill(pipeline::StateStore& store, const std::filesystem::path& dir, int stop_after) {
  demo::BackfillOptions o;
  o.from = *pipeline::CalendarDate::parse("2025-11-18");
  o.to = *pipeline::CalendarDate::parse("2025-11-20");
  o.store = &store;
  o.work_dir = dir;
  o.stop_after = stop_after;
  auto r = demo::run_backfill(o);
  EXPECT_TRUE(r) << r.error().to_string();
  return r ? *r : json{};
}

TEST(Backfill, InterruptedRunResumesWithTheRemainingDatesOnly) {
  TempDir dir;
  pipeline::MemoryStateStore store = pipeline::MemoryStateStore::create().value();
  const json first = backfill(store, dir.path(), 2);
  EXPECT_EQ(first["dates"], 3);
  EXPECT_EQ(first["ran"], 2);
  EXPECT_EQ(first["skipped"], 0);
  EXPECT_EQ(first["remaining"], 1);
  EXPECT_EQ(first["interrupted"], true);
  EXPECT_EQ(first["complete"], false);

  const json second = backfill(store, dir.path(), 0);
  EXPECT_EQ(second["skipped"], 2);
  EXPECT_EQ(second["ran"], 1);
  EXPECT_EQ(second["remaining"], 0);
  EXPECT_EQ(second["complete"], true);
  ASSERT_EQ(second["days"].size(), 3u);
  EXPECT_EQ(second["days"][0]["status"], "skipped");
  EXPECT_EQ(second["days"][1]["status"], "skipped");
  EXPECT_EQ(second["days"][2]["status"], "ran");
  EXPECT_EQ(second["days"][2]["date"], "2025-11-20");

  const json third = backfill(store, dir.path(), 0);
  EXPECT_EQ(third["ran"], 0);
  EXPECT_EQ(third["skipped"], 3);
}

TEST(Backfill, EveryDateRunsThroughPhaseFiveWithOneCompleteBatch) {
  TempDir dir;
  pipeline::MemoryStateStore store = pipeline::MemoryStateStore::create().value();
  const json r = backfill(store, dir.path(), 0);
  ASSERT_EQ(r["days"].size(), 3u);
  for (const auto& day : r["days"]) {
    const json& s = day["summary"];
    EXPECT_EQ(s["phase5"]["state"], "complete") << day["date"];
    EXPECT_EQ(s["phase5"]["triggered_by"], "event") << day["date"];
    EXPECT_GT(s["phase5"]["predictions"].get<std::int64_t>(), 0) << day["date"];
    EXPECT_LE(s["phase5"]["predictions"], s["tables"]["upcoming_player_game_context"]) << day["date"];
    EXPECT_GT(s["runs_total"]["player_daily_cache"].get<std::int64_t>(), 0) << day["date"];
  }
  EXPECT_EQ(r["phase5"]["batches_complete"], 3);
  EXPECT_EQ(r["phase5"]["batches_refused"], 0);
}

// After earlier dates, player_daily_cache holds everyone with recent form, games or not:
// readiness counts and Phase 5 predicts only the players with a game that date.
TEST(Backfill, PhaseFivePredictsOnlyPlayersWithAGameThatDate) {
  TempDir dir;
  pipeline::MemoryStateStore store = pipeline::MemoryStateStore::create().value();
  const json r = backfill(store, dir.path(), 0);
  ASSERT_EQ(r["days"].size(), 3u);
  auto wh = nba::Warehouse::open((dir.path() / "warehouse.db").string());
  ASSERT_TRUE(wh) << wh.error().to_string();
  auto count = [&](const std::string& sql, const std::string& date) {
    auto rows = wh->query(sql, {date});
    EXPECT_TRUE(rows) << rows.error().to_string();
    return rows && rows->size() == 1 ? nba::as_int(rows->at(0, "n")) : -1;
  };
  auto phase5 = nba::phase5::WarehousePhase5::create(*wh);
  ASSERT_TRUE(phase5) << phase5.error().to_string();
  bool cache_holds_players_without_a_game = false;
  for (const auto& day : r["days"]) {
    const std::string date = day["date"];
    const json& s = day["summary"];
    const std::int64_t scheduled = s["tables"]["upcoming_player_game_context"];
    const std::int64_t ready = count(
        "SELECT COUNT(*) AS n FROM upcoming_player_game_context u JOIN player_daily_cache c "
        "ON c.game_date = u.game_date AND c.player_lookup = u.player_lookup WHERE u.game_date = ?",
        date);
    cache_holds_players_without_a_game |= s["tables"]["player_daily_cache"].get<std::int64_t>() > ready;
    EXPECT_EQ(s["phase5"]["predictions"], ready) << date;
    EXPECT_EQ(count("SELECT COUNT(*) AS n FROM player_prop_predictions p WHERE p.game_date = ? AND NOT EXISTS "
                    "(SELECT 1 FROM upcoming_player_game_context u WHERE u.game_date = p.game_date "
                    "AND u.player_lookup = p.player_lookup)",
                    date),
              0)
        << date << ": a prediction for a player without a game";
    // Readiness: features ready out of players scheduled.
    auto counts = (*phase5)->counts(*pipeline::CalendarDate::parse(date));
    ASSERT_TRUE(counts) << counts.error().to_string();
    EXPECT_EQ(counts->ready, static_cast<std::size_t>(ready)) << date;
    EXPECT_EQ(counts->total, static_cast<std::size_t>(scheduled)) << date;
  }
  EXPECT_TRUE(cache_holds_players_without_a_game) << "the test needs a date whose cache holds players without a game";
}

TEST(Backfill, WithoutAWorkDirEverythingStaysInMemoryWithTheSameResults) {
  TempDir dir;
  auto files_store = pipeline::MemoryStateStore::create().value();
  auto memory_store = pipeline::MemoryStateStore::create().value();
  const json with_files = backfill(files_store, dir.path(), 0);
  const json in_memory = backfill(memory_store, {}, 0);
  EXPECT_EQ(with_files["warehouse"], (dir.path() / "warehouse.db").string());
  EXPECT_EQ(in_memory["warehouse"], std::string(demo::kMemoryWarehouse));
  EXPECT_EQ(in_memory["scraped"], "memory");
  EXPECT_EQ(in_memory["phase5"], with_files["phase5"]);
  ASSERT_EQ(in_memory["days"].size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(in_memory["days"][i]["summary"]["tables"], with_files["days"][i]["summary"]["tables"]) << i;
    EXPECT_EQ(in_memory["days"][i]["summary"]["phase5"], with_files["days"][i]["summary"]["phase5"]) << i;
  }
}

}  // namespace backfill_test

namespace backfill_test {

// A date whose Phase 3 dead-letters is reported failed and not marked done; the re-run
// (the fault gone) replays its dead letter, completes it and marks it done. One of the
// five Phase 3 processors fails: the other four still run (one failure does not stop its
// neighbours), and the preset's trackers wait for every processor (no partial trigger).
TEST(Backfill, ADateWithADeadLetteredPhaseFailsAndIsRunAgainOnResume) {
  TempDir dir;  // the warehouse outlives the first run, as the store does
  pipeline::MemoryStateStore store = pipeline::MemoryStateStore::create().value();
  const auto first_day = *pipeline::CalendarDate::parse("2025-11-18");
  const auto bad_day = *pipeline::CalendarDate::parse("2025-11-19");
  demo::BackfillOptions o;
  o.from = first_day;
  o.to = bad_day;
  o.store = &store;
  o.work_dir = dir.path();
  o.fail_processor = [bad_day](std::string_view p, pipeline::CalendarDate d) {
    return p == "player_game_summary" && d == bad_day;
  };
  auto first = demo::run_backfill(o);
  ASSERT_TRUE(first) << first.error().to_string();
  const json& r1 = *first;
  EXPECT_EQ(r1["ran"], 1);
  EXPECT_EQ(r1["failed"], 1);
  EXPECT_EQ(r1["complete"], false);
  ASSERT_EQ(r1["days"].size(), 2u);
  EXPECT_EQ(r1["days"][0]["status"], "ran");
  EXPECT_EQ(r1["days"][1]["status"], "failed");
  EXPECT_FALSE(r1["days"][1]["reasons"].empty());
  auto done = store.get(demo::backfill_done_key(bad_day));
  ASSERT_TRUE(done);
  EXPECT_FALSE(done->has_value());
  ASSERT_TRUE(store.get(demo::backfill_done_key(first_day)));
  EXPECT_TRUE(store.get(demo::backfill_done_key(first_day))->has_value());

  o.fail_processor = nullptr;
  auto second = demo::run_backfill(o);
  ASSERT_TRUE(second) << second.error().to_string();
  const json& r2 = *second;
  EXPECT_EQ(r2["skipped"], 1);
  EXPECT_EQ(r2["ran"], 1);
  EXPECT_EQ(r2["failed"], 0);
  EXPECT_EQ(r2["complete"], true);
  EXPECT_EQ(r2["days"][1]["status"], "ran") << r2["days"][1].value("reasons", json()).dump();
  EXPECT_EQ(r2["days"][1]["summary"]["phase5"]["state"], "complete");
  EXPECT_GT(r2["days"][1]["summary"]["phase5"]["predictions"].get<std::int64_t>(), 0);
  done = store.get(demo::backfill_done_key(bad_day));
  ASSERT_TRUE(done);
  EXPECT_TRUE(done->has_value());
}

}  // namespace backfill_test

namespace backfill_test {

// Retention on a backfilled store: three ten-date stretches, pruned to three days after
// each. What is left of the pipeline's rows is the window's dates and the rows that name
// no date — a count that stops growing with the days — and the next stretch still runs
// every date through Phase 5 on the pruned store.
TEST(Backfill, PruningAfterEachStretchKeepsTheStoreFromGrowingWithTheDays) {
  pipeline::MemoryStateStore store = pipeline::MemoryStateStore::create().value();
  pipeline::ManualClock clock;  // run-history leases of the backfill's simulated days have ended
  pipeline::RetentionOptions options;
  options.older_than = std::chrono::hours(72);
  auto retention = pipeline::Retention::create(clock, store, options);
  ASSERT_TRUE(retention);
  const auto first = *pipeline::CalendarDate::parse("2025-11-01");
  std::vector<std::size_t> undated_after_prune;
  for (int stretch = 0; stretch < 3; ++stretch) {
    demo::BackfillOptions o;
    o.from = first.plus_days(10 * stretch);
    o.to = o.from.plus_days(9);
    o.store = &store;
    auto r = demo::run_backfill(o);
    ASSERT_TRUE(r) << r.error().to_string();
    EXPECT_EQ((*r)["ran"], 10) << (*r)["days"].dump();
    EXPECT_EQ((*r)["complete"], true);
    EXPECT_EQ((*r)["phase5"]["batches_refused"], 0);

    auto report = (*retention)->run_once();
    ASSERT_TRUE(report) << report.error().to_string();
    EXPECT_EQ(report->newest, o.to);
    EXPECT_TRUE(report->kept_live.empty()) << report->to_json().dump();
    if (stretch > 0) {
      EXPECT_GT(report->total(), 1000u) << report->to_json().dump();
    }
    // Every row left that names a date is of the window (or the backfill's own record of
    // what ran); the rest name no date, and their number must not grow.
    std::size_t undated = 0;
    auto rows = store.scan("");
    ASSERT_TRUE(rows);
    for (const auto& row : *rows) {
      if (row.key.starts_with("backfill/done/")) continue;
      auto d = pipeline::internal::first_date_in(row.key);
      if (!d && row.key.starts_with("consumed/")) d = pipeline::internal::first_date_in(row.value);
      if (d)
        EXPECT_FALSE(*d < *report->oldest_kept) << row.key;
      else
        ++undated;
    }
    undated_after_prune.push_back(undated);
  }
  EXPECT_EQ(undated_after_prune[1], undated_after_prune[2]);
  EXPECT_EQ(store.pending_outbox().value(), 0u);
}

}  // namespace backfill_test
