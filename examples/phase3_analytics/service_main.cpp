// phase3_analytics: the five analytics processors as a service on the Phase 3 trigger topic
// (the 2→3 tracker's triggers), over the raw tables of --warehouse; --once runs one date
// with a manual full trigger.
#include <utility>

#include "nba_service_common/phase_main.hpp"
#include "phase3_analytics/analytics_processors.hpp"

namespace phase3 {

int service_main(int argc, char** argv) {
  nba_services::PhaseMain spec;
  spec.name = "phase3_analytics";
  spec.about = "Phase 3: the analytics processors (serves the phase-3 trigger topic; --once: one date)";
  spec.topic = [](const nba_services::Topics& t) { return t.phase3_trigger(); };
  spec.declare_dependencies = phase3::declare_dependencies;
  spec.build = [](nba_services::ServiceContext& ctx,
                  nba_services::RunObserver observer) -> pipeline::Result<nba_services::BuiltPhase> {
    return nba_services::keep_phase(phase3::make_phase3(ctx, std::move(observer)));
  };
  spec.once = [](pipeline::CalendarDate date, const nba_services::ServiceContext&) {
    return std::vector<pipeline::Message>{nba_services::manual_trigger(date, "phase2_raw")};
  };
  return nba_services::run_phase_main(argc, argv, spec);
}

}  // namespace phase3
