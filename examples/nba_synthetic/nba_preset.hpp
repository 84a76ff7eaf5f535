#pragma once
/// @file
/// The NBA pipeline of the seeds as a ready preset: processors per phase, the trigger
/// registry (ANALYTICS_TRIGGERS, PRECOMPUTE_TRIGGERS and the Phase 4→5 edges) and the
/// three fan-in trackers. The library is generic; this is its first preset.

#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

// By its own directory: the benchmarks include this header by its path from the repository root.
#include "or_abort.hpp"
#include "pipeline/core/topics.hpp"
#include "pipeline/orchestrate/completion_tracker.hpp"
#include "pipeline/orchestrate/trigger_registry.hpp"

namespace nba {

using pipeline::CompletionTrackerOptions;
using pipeline::TopicNaming;
using pipeline::TriggerRegistry;

inline constexpr std::string_view kRawPhase = "phase2_raw";
inline constexpr std::string_view kAnalyticsPhase = "phase3_analytics";
inline constexpr std::string_view kPrecomputePhase = "phase4_precompute";
inline constexpr std::string_view kPredictionsPhase = "phase5_predictions";

/// The 21 Phase 2 raw processors, named after the raw table each loads (the seeds'
/// names: nbac_* from NBA.com, bdl_* from balldontlie, odds_api_* and bettingpros_* for
/// props, espn_*, bigdataball_*, br_*).
inline std::vector<std::string> raw_processors() {
  return {"nbac_schedule",
          "nbac_player_list",
          "nbac_injury_report",
          "nbac_scoreboard_v2",
          "nbac_gamebook_player_stats",
          "nbac_play_by_play",
          "nbac_team_stats",
          "nbac_player_boxscores",
          "nbac_referee_assignments",
          "bdl_player_boxscores",
          "bdl_active_players",
          "bdl_injuries",
          "bdl_standings",
          "espn_scoreboard",
          "espn_team_rosters",
          "espn_boxscores",
          "bigdataball_play_by_play",
          "br_rosters",
          "odds_api_player_points_props",
          "odds_api_game_lines",
          "bettingpros_player_points_props"};
}

/// The 5 Phase 3 analytics processors.
inline std::vector<std::string> analytics_processors() {
  return {"player_game_summary", "team_offense_game_summary", "team_defense_game_summary",
          "upcoming_player_game_context", "upcoming_team_game_context"};
}

/// The 5 Phase 4 precompute processors.
inline std::vector<std::string> precompute_processors() {
  return {"player_daily_cache", "player_shot_zone_analysis", "player_composite_factors", "team_defense_zone_analysis",
          "ml_feature_store"};
}

/// The Phase 5 processor the Phase 4→5 tracker triggers.
inline constexpr std::string_view kPredictionCoordinator = "prediction_coordinator";

/// Source processor → the processors it triggers, across phases 2→3→4→5. Every Phase 4
/// processor feeds the prediction coordinator, so a mid-day injury update
/// (nbac_injury_report → upcoming_player_game_context and upcoming_team_game_context →
/// player_composite_factors,
/// ml_feature_store → prediction_coordinator) reaches Phases 4 and 5.
inline TriggerRegistry trigger_preset() {
  const std::string pgs = "player_game_summary", tog = "team_offense_game_summary",
                    tdg = "team_defense_game_summary", upc = "upcoming_player_game_context",
                    utc = "upcoming_team_game_context";
  using Edges = std::vector<std::pair<std::string, std::vector<std::string>>>;
  Edges edges = {
      // Phase 2 → Phase 3: the seeds' ANALYTICS_TRIGGERS, reverse-dependency map and
      // dependency graph (checked edge by edge in tests/examples/nba_preset_test.cpp),
      // completed for all 21 raw tables.
      {"nbac_gamebook_player_stats", {pgs}},
      {"bdl_player_boxscores", {pgs, tog, tdg}},
      {"nbac_scoreboard_v2", {tog, tdg}},
      {"nbac_team_stats", {tog, tdg}},
      {"nbac_player_boxscores", {pgs}},
      {"nbac_play_by_play", {pgs}},
      {"bigdataball_play_by_play", {pgs}},
      {"espn_boxscores", {pgs, tog}},
      {"espn_scoreboard", {tog, tdg}},
      // An injury changes the player's context and their team's (players out / questionable).
      {"nbac_injury_report", {upc, utc}},
      {"bdl_injuries", {upc, utc}},
      // The props feed the summary's over/under result and the upcoming context's line.
      {"odds_api_player_points_props", {pgs, upc}},
      {"bettingpros_player_points_props", {pgs, upc}},
      {"nbac_player_list", {upc}},
      {"bdl_active_players", {upc}},
      {"espn_team_rosters", {upc}},
      {"br_rosters", {upc}},
      {"nbac_schedule", {upc, utc}},
      {"odds_api_game_lines", {utc}},
      {"bdl_standings", {utc}},
      {"nbac_referee_assignments", {utc}},
      // Phase 3 → Phase 4 (PRECOMPUTE_TRIGGERS, plus the upcoming contexts).
      {pgs, {"player_daily_cache", "player_shot_zone_analysis", "player_composite_factors"}},
      {tog, {"team_defense_zone_analysis"}},
      {tdg, {"team_defense_zone_analysis"}},
      {upc, {"player_composite_factors", "ml_feature_store"}},
      {utc, {"player_composite_factors", "ml_feature_store"}},
  };
  // Phase 4 → Phase 5.
  for (const auto& p : precompute_processors()) edges.push_back({p, {std::string(kPredictionCoordinator)}});

  // The tables are constants, checked edge by edge by tests/examples/nba_preset_test.cpp: an
  // entry the registry refuses is a bug in them, so it stops the program at once rather than
  // return a registry that silently lacks an edge.
  constexpr const char* kWho = "nba trigger preset";
  TriggerRegistry r;
  for (const auto& p : raw_processors()) or_abort(kWho, r.add_processor(p, kRawPhase));
  for (const auto& p : analytics_processors()) or_abort(kWho, r.add_processor(p, kAnalyticsPhase));
  for (const auto& p : precompute_processors()) or_abort(kWho, r.add_processor(p, kPrecomputePhase));
  or_abort(kWho, r.add_processor(kPredictionCoordinator, kPredictionsPhase));
  for (const auto& [source, targets] : edges) or_abort(kWho, r.add_trigger(source, targets));
  return r;
}

/// The three fan-in trackers of the NBA pipeline: Phase 2→3 (21 raw processors),
/// Phase 3→4 (5 analytics) and Phase 4→5 (5 precompute), named after the phase they
/// trigger, publishing to `<prefix>-phaseN-trigger` (N = the phase triggered). As the
/// seeds' orchestrators, each waits for ALL its expected processors: no deadline, so no
/// partial trigger (`deadline = nullopt`). A partial trigger after a deadline is opt-in
/// per tracker: set `deadline` (and `partial_threshold`, 80% by default) on its config.
/// Debounce of incremental waves: `CompletionTrackerOptions`'s 5 minutes.
inline std::vector<CompletionTrackerOptions> tracker_presets(const TopicNaming& topics = TopicNaming{"nba"}) {
  const TriggerRegistry registry = trigger_preset();
  auto make = [&](std::string_view name, std::string_view up, std::string_view down,
                  std::vector<std::string> expected, int phase) {
    CompletionTrackerOptions c;
    c.name = std::string(name);
    c.upstream_phase = std::string(up);
    c.downstream_phase = std::string(down);
    c.expected = std::move(expected);
    c.trigger_topic = fmt::format("{}-phase{}-trigger", topics.prefix, phase);
    c.registry = registry;
    c.deadline = std::nullopt;  // the seeds trigger when all are complete
    return c;
  };
  return {make(kAnalyticsPhase, kRawPhase, kAnalyticsPhase, raw_processors(), 3),
          make(kPrecomputePhase, kAnalyticsPhase, kPrecomputePhase, analytics_processors(), 4),
          make(kPredictionsPhase, kPrecomputePhase, kPredictionsPhase, precompute_processors(), 5)};
}

}  // namespace nba
