// phase1_scraper: runs every scraper for one date (the 06:00 schedule), writing the
// scraped files under --data-dir and recording run history in --store.
#include "nba_service_common/service_host.hpp"
#include "phase1_scraper/scrapers.hpp"

int main(int argc, char** argv) {
  auto flags = nba_services::parse_flags(argc, argv, "Phase 1: scrape one date of the synthetic season");
  if (!flags) return 2;
  auto host = nba_services::ServiceHost::open(*flags);
  if (!host) return std::fprintf(stderr, "error: %s\n", host.error().to_string().c_str()), 1;
  auto phase = phase1::make_phase1((*host)->context(), (*host)->printer());
  return (*host)->run(*phase.service, phase1::schedule_trigger(flags->date, 0, {}, "manual run"));
}
