// phase3_analytics: runs the five analytics processors for one date over the raw tables
// of --warehouse (a manual full trigger).
#include "nba_service_common/service_host.hpp"
#include "phase3_analytics/analytics_processors.hpp"

int main(int argc, char** argv) {
  auto flags = nba_services::parse_flags(argc, argv, "Phase 3: the analytics processors for one date");
  if (!flags) return 2;
  auto host = nba_services::ServiceHost::open(*flags);
  if (!host) return std::fprintf(stderr, "error: %s\n", host.error().to_string().c_str()), 1;
  if (auto st = phase3::declare_dependencies((*host)->context().dependencies); !st) return 1;
  auto phase = phase3::make_phase3((*host)->context(), (*host)->printer());
  return (*host)->run(*phase.service, nba_services::manual_trigger(flags->date, "phase2_raw"));
}
