#include <algorithm>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "pipeline/orchestrate/nba_preset.hpp"
#include "pipeline/orchestrate/trigger_registry.hpp"

namespace pipeline {
namespace trigger_registry_test {

using Names = std::vector<std::string>;

TriggerRegistry small() {
  TriggerRegistry r;
  EXPECT_TRUE(r.add_processor("raw_a", "p2"));
  EXPECT_TRUE(r.add_processor("raw_b", "p2"));
  EXPECT_TRUE(r.add_processor("sum_x", "p3"));
  EXPECT_TRUE(r.add_processor("sum_y", "p3"));
  EXPECT_TRUE(r.add_trigger("raw_a", {"sum_x"}));
  EXPECT_TRUE(r.add_trigger("raw_b", {"sum_x", "sum_y"}));
  return r;
}

TEST(TriggerRegistry, TargetsOfIsTheSortedUnion) {
  const auto r = small();
  EXPECT_TRUE(r.validate());
  EXPECT_EQ(r.targets("raw_b"), (Names{"sum_x", "sum_y"}));
  EXPECT_TRUE(r.targets("sum_x").empty());
  EXPECT_EQ(r.targets_of(Names{"raw_b", "raw_a"}), (Names{"sum_x", "sum_y"}));
  EXPECT_EQ(r.processors("p3"), (Names{"sum_x", "sum_y"}));
  EXPECT_EQ(r.phases(), (Names{"p2", "p3"}));
  EXPECT_EQ(r.phase_of("raw_a"), std::optional<std::string>("p2"));
  EXPECT_FALSE(r.phase_of("nope"));
}

TEST(TriggerRegistry, DuplicateEdgeIsRefusedWithItsNames) {
  auto r = small();
  auto st = r.add_trigger("raw_a", {"sum_y", "sum_x"});
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, ErrorCode::kAlreadyExists);
  EXPECT_NE(st.error().message.find("'raw_a' -> 'sum_x' is declared twice"), std::string::npos) << st.error().message;
  EXPECT_EQ(r.targets("raw_a"), (Names{"sum_x"})) << "nothing of a refused call is added";
  EXPECT_FALSE(r.add_trigger("raw_a", {"sum_y", "sum_y"}));
}

TEST(TriggerRegistry, UnknownProcessorFailsValidation) {
  auto r = small();
  ASSERT_TRUE(r.add_trigger("raw_a", {"sum_z"}));
  auto st = r.validate();
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(st.error().message.find("'sum_z'"), std::string::npos) << st.error().message;

  TriggerRegistry r2 = small();
  ASSERT_TRUE(r2.add_trigger("ghost", {"sum_x"}));
  auto st2 = r2.validate();
  ASSERT_FALSE(st2);
  EXPECT_NE(st2.error().message.find("'ghost' is not a declared processor"), std::string::npos);
}

TEST(TriggerRegistry, CycleFailsValidationAndIsNamed) {
  auto r = small();
  ASSERT_TRUE(r.add_trigger("sum_x", {"sum_y"}));
  ASSERT_TRUE(r.add_trigger("sum_y", {"raw_b"}));
  auto st = r.validate();
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message.find("cycle"), std::string::npos);
  EXPECT_NE(st.error().message.find("sum_x -> sum_y -> raw_b -> sum_x"), std::string::npos) << st.error().message;

  TriggerRegistry self;
  ASSERT_TRUE(self.add_processor("a", "p"));
  ASSERT_TRUE(self.add_trigger("a", {"a"}));
  EXPECT_FALSE(self.validate());
}

TEST(TriggerRegistry, BadNamesAndConflictingPhasesAreRefused) {
  TriggerRegistry r;
  EXPECT_FALSE(r.add_processor("has/slash", "p"));
  EXPECT_FALSE(r.add_processor("", "p"));
  EXPECT_TRUE(r.add_processor("a", "p1"));
  EXPECT_TRUE(r.add_processor("a", "p1"));
  auto st = r.add_processor("a", "p2");
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, ErrorCode::kAlreadyExists);
  EXPECT_FALSE(r.add_trigger("a", {"b c"}));
}

TEST(TriggerRegistry, DotHasOneClusterPerPhaseEdgesAndStateColours) {
  const auto r = small();
  const std::string plain = r.to_dot();
  EXPECT_EQ(plain.rfind("digraph triggers {", 0), 0u);
  EXPECT_NE(plain.find("label=\"p2\""), std::string::npos);
  EXPECT_NE(plain.find("label=\"p3\""), std::string::npos);
  EXPECT_NE(plain.find("\"raw_b\" -> \"sum_y\";"), std::string::npos);
  EXPECT_EQ(plain.find("palegreen"), std::string::npos);
  const std::string coloured = r.to_dot({{"raw_a", ProcessorState::kDone},
                                         {"raw_b", ProcessorState::kFailed},
                                         {"sum_x", ProcessorState::kMissing}});
  EXPECT_NE(coloured.find("\"raw_a\" [fillcolor=palegreen"), std::string::npos) << coloured;
  EXPECT_NE(coloured.find("\"raw_b\" [fillcolor=tomato"), std::string::npos);
  EXPECT_NE(coloured.find("\"sum_x\" [fillcolor=lightgrey"), std::string::npos);
  EXPECT_NE(coloured.find("    \"sum_y\";"), std::string::npos) << "no state: plain node";
}

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

}  // namespace trigger_registry_test
}  // namespace pipeline
