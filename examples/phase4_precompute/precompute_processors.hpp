#pragma once
/// @file
/// Phase 4 of the example pipeline: the seeds' five precompute processors over the
/// analytics tables — player_daily_cache, player_shot_zone_analysis,
/// team_defense_zone_analysis, player_composite_factors and ml_feature_store (run in that
/// order: the last two read the first three). Incremental triggers restrict every read to
/// the trigger's entities with bound parameters; writes are upserts keyed by (date, entity).

#include <memory>
#include <vector>

#include "nba_service_common/service.hpp"

namespace phase4 {

inline constexpr std::string_view kPhase = "phase4_precompute";

/// The processors of the phase (its service orders them by `run_after`, not by this list).
std::vector<std::string> precompute_processors();

/// Each processor's declared inputs.
pipeline::Status declare_dependencies(pipeline::DependencyChecker& checker);

/// Phase 4's processors and the service running those a Phase 4 trigger names.
struct Phase4 {
  std::vector<std::unique_ptr<nba_services::WarehouseProcessor>> processors;
  std::unique_ptr<nba_services::PhaseService> service;
};
/// The five processors, each running after the processors of this phase it reads
/// (`PhaseService::run_after`, the in-phase inputs `declare_dependencies` declares).
/// **Errors:** `kInvalidArgument` when a processor's options are invalid, or from `run_after`
/// (a misspelt name, a cycle).
pipeline::Result<Phase4> make_phase4(nba_services::ServiceContext& ctx, nba_services::RunObserver observer = {});

/// The `phase4_precompute` service's `main`: its flags (see `--help`), then serving until SIGTERM, or
/// `--once`. Returns pipelinectl's exit codes. Defined in the `phase4_precompute_service` library.
int service_main(int argc, char** argv);

}  // namespace phase4
