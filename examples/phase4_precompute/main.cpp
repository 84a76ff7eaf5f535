// phase4_precompute: runs the five precompute processors for one date over the analytics tables
// of --warehouse (a manual full trigger).
#include "nba_service_common/service_host.hpp"
#include "phase4_precompute/precompute_processors.hpp"

int main(int argc, char** argv) {
  auto flags = nba_services::parse_flags(argc, argv, "Phase 4: the precompute processors for one date");
  if (!flags) return 2;
  auto host = nba_services::ServiceHost::open(*flags);
  if (!host) return std::fprintf(stderr, "error: %s\n", host.error().to_string().c_str()), 1;
  if (auto st = phase4::declare_dependencies((*host)->context().dependencies); !st) return 1;
  auto phase = phase4::make_phase4((*host)->context(), (*host)->printer());
  if (!phase) return std::fprintf(stderr, "error: %s\n", phase.error().to_string().c_str()), 1;
  return (*host)->run(*phase->service, nba_services::manual_trigger(flags->date, "phase3_analytics"));
}
