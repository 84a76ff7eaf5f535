// phase4_precompute: the five precompute processors as a service on the Phase 4 trigger
// topic (the 3→4 tracker's triggers), over the analytics tables of --warehouse; --once runs
// one date with a manual full trigger.
#include <utility>

#include "nba_service_common/phase_main.hpp"
#include "phase4_precompute/precompute_processors.hpp"

namespace phase4 {

int service_main(int argc, char** argv) {
  nba_services::PhaseMain spec;
  spec.name = "phase4_precompute";
  spec.about = "Phase 4: the precompute processors (serves the phase-4 trigger topic; --once: one date)";
  spec.topic = [](const nba_services::Topics& t) { return t.phase4_trigger(); };
  spec.declare_dependencies = phase4::declare_dependencies;
  spec.build = [](nba_services::ServiceContext& ctx,
                  nba_services::RunObserver observer) -> pipeline::Result<nba_services::BuiltPhase> {
    return nba_services::keep_phase(phase4::make_phase4(ctx, std::move(observer)));
  };
  spec.once = [](pipeline::CalendarDate date, const nba_services::ServiceContext&) {
    return std::vector<pipeline::Message>{nba_services::manual_trigger(date, "phase3_analytics")};
  };
  return nba_services::run_phase_main(argc, argv, spec);
}

}  // namespace phase4
