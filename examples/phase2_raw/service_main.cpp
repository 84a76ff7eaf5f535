// phase2_raw: the raw processors as a service on Phase 1's completion topic, loading each
// scraped file into the raw tables of --warehouse; --once loads one date's wave-0 files
// (each feed's file standing in for its scraper's completion).
#include <utility>

#include <nlohmann/json.hpp>

#include "nba_service_common/phase_main.hpp"
#include "phase1_scraper/scrapers.hpp"
#include "phase2_raw/raw_processors.hpp"

namespace phase2 {

int service_main(int argc, char** argv) {
  nba_services::PhaseMain spec;
  spec.name = "phase2_raw";
  spec.about = "Phase 2: load scraped files into the raw tables (serves Phase 1's completions; --once: one date)";
  spec.topic = [](const nba_services::Topics& t) { return t.phase1_complete(); };
  spec.declare_dependencies = phase2::declare_dependencies;
  spec.build = [](nba_services::ServiceContext& ctx,
                  nba_services::RunObserver observer) -> pipeline::Result<nba_services::BuiltPhase> {
    return nba_services::keep_phase(phase2::make_phase2(ctx, std::move(observer)));
  };
  spec.once = [](pipeline::CalendarDate date, const nba_services::ServiceContext& ctx) {
    std::vector<pipeline::Message> out;
    for (const auto& feed : phase2::raw_processors()) {
      auto completion = nba_services::manual_trigger(date, phase1::kPhase);
      completion.processor_name = phase1::scraper_name(feed);
      completion.metadata =
          nlohmann::json{{"feed", feed}, {"file", (ctx.data_dir / feed / date.to_string() / "w0.json").string()}};
      out.push_back(std::move(completion));
    }
    return out;
  };
  return nba_services::run_phase_main(argc, argv, spec);
}

}  // namespace phase2
