// phase2_raw: loads one date's scraped files (as phase1_scraper wrote them) into the raw
// tables of --warehouse. Each feed's wave-0 file stands in for its scraper's completion.
#include <nlohmann/json.hpp>

#include "nba_service_common/service_host.hpp"
#include "phase1_scraper/scrapers.hpp"
#include "phase2_raw/raw_processors.hpp"

int main(int argc, char** argv) {
  auto flags = nba_services::parse_flags(argc, argv, "Phase 2: load one date's scraped files into the raw tables");
  if (!flags) return 2;
  auto host = nba_services::ServiceHost::open(*flags);
  if (!host) return std::fprintf(stderr, "error: %s\n", host.error().to_string().c_str()), 1;
  auto& ctx = (*host)->context();
  if (auto st = phase2::declare_dependencies(ctx.dependencies); !st) return 1;
  auto phase = phase2::make_phase2(ctx, (*host)->printer());
  if (!phase) return std::fprintf(stderr, "error: %s\n", phase.error().to_string().c_str()), 1;
  int rc = 0;
  for (const auto& feed : phase2::raw_processors()) {
    auto completion = nba_services::manual_trigger(flags->date, phase1::kPhase);
    completion.processor_name = phase1::scraper_name(feed);
    completion.metadata = nlohmann::json{{"feed", feed}, {"file", (ctx.data_dir / feed / flags->date.to_string() / "w0.json").string()}};
    rc |= (*host)->run(*phase->service, completion);
  }
  return rc;
}
