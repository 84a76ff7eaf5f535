// The NBA example's trigger registry and tracker presets, checked against the seeds' counts.
#include <algorithm>
#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "nba_service_common/service.hpp"
#include "nba_synthetic/nba_preset.hpp"
#include "phase5_coordinator/phase5.hpp"
#include "pipeline/orchestrate/completion_tracker.hpp"

namespace nba_preset_test {

using Names = std::vector<std::string>;
using pipeline::CompletionTracker;

TEST(NbaPreset, IsValidAndHasTheSeedsCounts) {
  const auto r = nba::trigger_preset();
  ASSERT_TRUE(r.validate()) << r.validate().error().message;
  EXPECT_EQ(nba::raw_processors().size(), 21u);
  EXPECT_EQ(r.processors(nba::kRawPhase).size(), 21u);
  EXPECT_EQ(r.processors(nba::kAnalyticsPhase).size(), 5u);
  EXPECT_EQ(r.processors(nba::kPrecomputePhase).size(), 5u);
  for (const auto& raw : nba::raw_processors()) EXPECT_FALSE(r.targets(raw).empty()) << raw << " triggers nothing";
  EXPECT_EQ(r.targets("player_game_summary"),
            (Names{"player_daily_cache", "player_shot_zone_analysis", "player_composite_factors"}));
  EXPECT_EQ(r.targets("team_offense_game_summary"), (Names{"team_defense_zone_analysis"}));
  EXPECT_EQ(r.targets("team_defense_game_summary"), (Names{"team_defense_zone_analysis"}));
  EXPECT_EQ(r.targets("nbac_gamebook_player_stats"), (Names{"player_game_summary"}));
}

// Every edge the seeds name, one by one: ANALYTICS_TRIGGERS, the reverse-dependency map
// ("when a Phase 2 table updates, which Phase 3 processors should run?"), the dependency
// graph (player_game_summary's 6 raw tables, team_offense_game_summary's 3) and
// PRECOMPUTE_TRIGGERS. The preset may add edges for the tables the seeds do not map.
TEST(NbaPreset, ReverseDependencyMapHasEveryEdgeOfTheSeeds) {
  const auto r = nba::trigger_preset();
  const std::string pgs = "player_game_summary", tog = "team_offense_game_summary", tdg = "team_defense_game_summary";
  const std::vector<std::pair<std::string, std::string>> seeds{
      // ANALYTICS_TRIGGERS
      {"nbac_gamebook_player_stats", pgs},
      {"bdl_player_boxscores", pgs},
      {"bdl_player_boxscores", tog},
      {"nbac_scoreboard_v2", tog},
      {"nbac_scoreboard_v2", tdg},
      // the reverse-dependency map
      {"bdl_player_boxscores", tdg},
      {"odds_api_player_points_props", pgs},
      // the dependency graph
      {"bigdataball_play_by_play", pgs},
      {"nbac_play_by_play", pgs},
      {"bettingpros_player_points_props", pgs},
      {"nbac_team_stats", tog},
      // PRECOMPUTE_TRIGGERS
      {pgs, "player_daily_cache"},
      {pgs, "player_shot_zone_analysis"},
      {pgs, "player_composite_factors"},
      {tog, "team_defense_zone_analysis"},
      {tdg, "team_defense_zone_analysis"}};
  const auto raw = nba::raw_processors();
  for (const auto& [source, target] : seeds) {
    const auto targets = r.targets(source);
    EXPECT_NE(std::find(targets.begin(), targets.end(), target), targets.end()) << source << " -> " << target;
    if (source.find("summary") == std::string::npos) {
      EXPECT_NE(std::find(raw.begin(), raw.end(), source), raw.end()) << source << " is not one of the 21";
    }
  }
  // Where the seeds list a source's targets in full, the preset has exactly those.
  EXPECT_EQ(r.targets("nbac_gamebook_player_stats"), (Names{pgs}));
  EXPECT_EQ(r.targets("bdl_player_boxscores"), (Names{pgs, tog, tdg}));
  EXPECT_EQ(r.targets("nbac_scoreboard_v2"), (Names{tog, tdg}));
}

// The seeds' defaults: the orchestrators trigger when all expected processors are
// complete; processed within the hour is skipped; prediction work is tried 3 times.
TEST(NbaPreset, DefaultsAreTheSeeds) {
  for (const auto& c : nba::tracker_presets()) EXPECT_FALSE(c.deadline.has_value()) << c.name << ": a partial trigger";
  EXPECT_EQ(nba_services::kSkipIfProcessedWithin, std::chrono::hours(1));
  EXPECT_EQ(nba_services::processor_config("t", "p", "c", "d", "players").skip_if_success_within,
            std::chrono::hours(1));
  EXPECT_EQ(nba::phase5::kWorkerDeliveryAttempts, 3);
  EXPECT_EQ(nba::phase5::worker_subscription("w", "t").settings.max_delivery_attempts, 3);
}

TEST(NbaPreset, MidDayInjuryUpdateReachesPhasesFourAndFive) {
  const auto r = nba::trigger_preset();
  const auto p3 = r.targets_of(Names{"nbac_injury_report"});
  // The team context counts its players out and questionable: an injury changes it too.
  EXPECT_EQ(p3, (Names{"upcoming_player_game_context", "upcoming_team_game_context"}));
  const auto p4 = r.targets_of(p3);
  EXPECT_EQ(p4, (Names{"ml_feature_store", "player_composite_factors"}));
  EXPECT_EQ(r.targets_of(p4), (Names{"prediction_coordinator"}));
}

TEST(NbaPreset, TrackerPresetsAreValidConfigs) {
  const auto configs = nba::tracker_presets();
  ASSERT_EQ(configs.size(), 3u);
  EXPECT_EQ(configs[0].expected.size(), 21u);
  EXPECT_EQ(configs[1].expected.size(), 5u);
  EXPECT_EQ(configs[2].expected.size(), 5u);
  EXPECT_EQ(configs[0].trigger_topic, "nba-phase3-trigger");
  for (const auto& c : configs) EXPECT_TRUE(CompletionTracker::validate_options(c)) << c.name;
}

}  // namespace nba_preset_test
