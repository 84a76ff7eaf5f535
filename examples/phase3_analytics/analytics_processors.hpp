#pragma once
/// @file
/// Phase 3 of the example pipeline: the seeds' five analytics processors over the raw
/// tables — player_game_summary, team_offense_game_summary, team_defense_game_summary,
/// upcoming_player_game_context and upcoming_team_game_context. Each reads only the
/// entities of its trigger (bound-parameter filters) when the trigger is incremental and
/// upserts rows keyed by (game_date, entity).

#include <memory>
#include <vector>

#include "nba_service_common/service.hpp"

namespace phase3 {

inline constexpr std::string_view kPhase = "phase3_analytics";

/// The processors of the phase, in the order its service runs them (= `nba::analytics_processors()`).
std::vector<std::string> analytics_processors();

/// Each processor's declared inputs.
pipeline::Status declare_dependencies(pipeline::DependencyChecker& checker);

/// Phase 3's processors and the service running those a Phase 3 trigger names.
struct Phase3 {
  std::vector<std::unique_ptr<nba_services::WarehouseProcessor>> processors;
  std::unique_ptr<nba_services::PhaseService> service;
};
/// **Errors:** `kInvalidArgument` when a processor's options are invalid.
pipeline::Result<Phase3> make_phase3(nba_services::ServiceContext& ctx, nba_services::RunObserver observer = {});

/// The `phase3_analytics` service's `main`: its flags (see `--help`), then serving until SIGTERM, or
/// `--once`. Returns pipelinectl's exit codes. Defined in the `phase3_analytics_service` library.
int service_main(int argc, char** argv);

}  // namespace phase3
