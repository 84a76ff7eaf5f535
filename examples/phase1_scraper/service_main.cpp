// phase1_scraper: the scrapers as a service on the Phase 1 trigger topic (the scheduler's
// 06:00 trigger), writing the scraped files under --data-dir; --once scrapes one date now.
#include <utility>

#include "nba_service_common/phase_main.hpp"
#include "phase1_scraper/scrapers.hpp"

namespace phase1 {

int service_main(int argc, char** argv) {
  nba_services::PhaseMain spec;
  spec.name = "phase1_scraper";
  spec.about = "Phase 1: the scrapers of the synthetic season (serves the phase-1 trigger topic; --once: one date)";
  spec.topic = [](const nba_services::Topics& t) { return t.phase1_trigger(); };
  spec.build = [](nba_services::ServiceContext& ctx,
                  nba_services::RunObserver observer) -> pipeline::Result<nba_services::BuiltPhase> {
    return nba_services::keep_phase(phase1::make_phase1(ctx, std::move(observer)));
  };
  spec.once = [](pipeline::CalendarDate date, const nba_services::ServiceContext&) {
    return std::vector<pipeline::Message>{phase1::schedule_trigger(date, 0, {}, "manual run")};
  };
  return nba_services::run_phase_main(argc, argv, spec);
}

}  // namespace phase1
