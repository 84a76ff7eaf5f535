#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "nba_synthetic/warehouse.hpp"
#include "phase5_coordinator/phase5.hpp"
#include "pipeline/alert/alert_manager.hpp"
#include "pipeline/core/ids.hpp"
#include "pipeline/core/manual_clock.hpp"
#include "pipeline/memory/memory_state_store.hpp"
#include "pipeline/memory/memory_transport.hpp"
#include "pipeline/orchestrate/outbox_relay.hpp"

namespace pipeline {
namespace phase5_coordinator_example_test {

const CalendarDate kDay = *CalendarDate::parse("2025-11-18");

/// A fresh warehouse file with Phase 4 features for `n` players.
struct Warehouse {
  explicit Warehouse(int n)
      : path((std::filesystem::temp_directory_path() / fmt::format("phase5-{}.sqlite", new_execution_id())).string()) {
    auto w = nba::Warehouse::open(path);
    EXPECT_TRUE(w) << w.error().to_string();
    wh.emplace(std::move(*w));
    std::vector<std::vector<nba::Value>> cache, factors, context;
    for (int i = 0; i < n; ++i) {
      const std::string p = fmt::format("player{:02}", i);
      cache.push_back({kDay.to_string(), p, 20.0 + i, 18.0 + i, 16.0 + i, 4.0});
      factors.push_back({kDay.to_string(), p, "g1", 1.5});
      context.push_back({kDay.to_string(), p, "g1", 19.5 + i});
    }
    EXPECT_TRUE(wh->upsert("player_daily_cache",
                           {"game_date", "player_lookup", "points_avg_last_5", "points_avg_last_10", "points_avg_season",
                            "points_std_last_10"},
                           cache));
    EXPECT_TRUE(wh->upsert("player_composite_factors",
                           {"game_date", "player_lookup", "game_id", "total_composite_adjustment"}, factors));
    EXPECT_TRUE(wh->upsert("upcoming_player_game_context", {"game_date", "player_lookup", "game_id", "points_line"},
                           context));
  }
  ~Warehouse() {
    wh.reset();
    std::error_code ec;
    std::filesystem::remove(path, ec);
  }
  std::string path;
  std::optional<nba::Warehouse> wh;
};

TEST(Phase5Example, BatchWritesRealPredictionRowsAndIncrementalKeepsHistory) {
  Warehouse w(60);
  auto phase5 = nba::phase5::WarehousePhase5::create(*w.wh);
  ASSERT_TRUE(phase5) << phase5.error().to_string();
  ManualClock clock;
  MemoryStateStore store = MemoryStateStore::create().value();
  auto transport = MemoryTransport::create(clock, {.inline_delivery = true}).value();
  auto relay = OutboxRelay::create(clock, store, *transport).value();
  auto alerts = AlertManager::create(clock, {}, AlertManagerOptions{.limits = {}, .critical_bypasses_limit = true,
                                                    .digest_flush_interval = Duration::zero()}).value();
  auto options = nba::phase5::coordinator_options();
  options.relay = relay.get();
  auto created = BatchCoordinator::create(clock, store, *alerts, **phase5, **phase5, options);
  ASSERT_TRUE(created) << created.error().to_string();
  BatchCoordinator& coordinator = **created;
  auto worker =
      PredictionWorker::create(store, **phase5, {.progress = [&](CalendarDate d) {
        // The test checks the batch at the end; a failed check here is repeated there.
        pipeline::discard_result(coordinator.note_progress(d));
      }});
  ASSERT_TRUE(worker) << worker.error().to_string();
  auto sub = transport->subscribe({"workers", coordinator.options().work_topic, {}}, (*worker)->handler());
  ASSERT_TRUE(sub);

  auto r = coordinator.start(kDay, false, BatchTrigger::kEvent);
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->status, BatchOutcome::kStarted);
  auto s = coordinator.status(kDay);
  ASSERT_TRUE(s);
  EXPECT_TRUE(s->fully_complete) << s->to_json().dump();
  EXPECT_EQ(s->done, 60u);
  EXPECT_EQ(w.wh->count_rows("player_prop_predictions", kDay).value(), 60);
  // player03: 0.45*23 + 0.35*21 + 0.20*19 + 1.5 = 23.0 against a line of 22.5.
  auto row = w.wh->query("SELECT predicted_points, recommendation FROM player_prop_predictions WHERE player_lookup = ?",
                         {std::string("player03")});
  ASSERT_TRUE(row);
  ASSERT_EQ(row->size(), 1u);
  EXPECT_NEAR(nba::as_double(row->at(0, "predicted_points")), 23.0, 1e-9);
  EXPECT_EQ(nba::as_text(row->at(0, "recommendation")), "PASS");

  // Injury update: player03's features change; only that player is re-predicted.
  ASSERT_TRUE(w.wh->execute("UPDATE player_daily_cache SET points_avg_last_5 = ? WHERE player_lookup = ?",
                            {10.0, std::string("player03")}));
  auto inc = coordinator.start_incremental(kDay, {"player03"}, BatchTrigger::kEvent);
  ASSERT_TRUE(inc) << inc.error().to_string();
  EXPECT_EQ(inc->version, 2);
  auto versions = w.wh->query(
      "SELECT version, predicted_points FROM player_prop_prediction_versions WHERE player_lookup = ? ORDER BY version",
      {std::string("player03")});
  ASSERT_TRUE(versions);
  ASSERT_EQ(versions->size(), 2u);
  EXPECT_NEAR(nba::as_double(versions->at(1, "predicted_points")), 17.2, 1e-9);
  row = w.wh->query("SELECT predicted_points, recommendation FROM player_prop_predictions WHERE player_lookup = ?",
                    {std::string("player03")});
  EXPECT_NEAR(nba::as_double(row->at(0, "predicted_points")), 17.2, 1e-9);
  EXPECT_EQ(nba::as_text(row->at(0, "recommendation")), "UNDER");
  EXPECT_EQ(w.wh->count_rows("player_prop_prediction_versions", kDay).value(), 61);
  EXPECT_EQ((*phase5)->predicted(kDay)->at("player04"), 1);
}

TEST(Phase5Example, PredictAllStoresTheBatchTogetherAndTheHighestVersionStaysCurrent) {
  Warehouse w(2);
  auto phase5 = nba::phase5::WarehousePhase5::create(*w.wh);
  ASSERT_TRUE(phase5) << phase5.error().to_string();
  // Version 2 of player00 comes before version 1 of it; "nobody" has no features.
  const std::vector<PredictionWork> work{{"b1", kDay, "player00", 0, 2, "incremental"},
                                         {"b1", kDay, "nobody", 1, 1, "batch"},
                                         {"b1", kDay, "player00", 1, 1, "batch"},
                                         {"b1", kDay, "player01", 1, 1, "batch"}};
  const auto stored = (*phase5)->predict_all(work);
  ASSERT_EQ(stored.size(), 4u);
  EXPECT_TRUE(stored[0]);
  ASSERT_FALSE(stored[1]);
  EXPECT_EQ(stored[1].error().code, ErrorCode::kNotFound);
  EXPECT_TRUE(stored[2]);
  EXPECT_TRUE(stored[3]);
  EXPECT_EQ(w.wh->count_rows("player_prop_prediction_versions", kDay).value(), 3);
  EXPECT_EQ(w.wh->count_rows("player_prop_predictions", kDay).value(), 2);
  auto current = w.wh->query("SELECT source_hash FROM player_prop_predictions WHERE player_lookup = ?",
                             {std::string("player00")});
  ASSERT_TRUE(current);
  EXPECT_EQ(nba::as_text(current->at(0, "source_hash")), "b1/v2");
  // The same batch again changes nothing (idempotent upserts).
  for (const auto& st : (*phase5)->predict_all(work)) (void)st;
  EXPECT_EQ(w.wh->count_rows("player_prop_prediction_versions", kDay).value(), 3);
  EXPECT_EQ(w.wh->count_rows("player_prop_predictions", kDay).value(), 2);
}

}  // namespace phase5_coordinator_example_test
}  // namespace pipeline
