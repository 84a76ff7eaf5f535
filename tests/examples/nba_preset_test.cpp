// The NBA example's trigger registry and tracker presets, checked against the seeds' counts.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "nba_synthetic/nba_preset.hpp"
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
  for (const auto& c : configs) EXPECT_TRUE(CompletionTracker::validate_config(c)) << c.name;
}

}  // namespace nba_preset_test
