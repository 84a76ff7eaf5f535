// `pipelinectl service ROLE [FLAGS...]`: runs one of the example pipeline's services in this
// process, exactly as its own executable would (the same code: each example's
// service_main), so one binary can start every role — what the multi-process demo's
// supervisor does for each child.
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "command.hpp"

#if __has_include("phase5_coordinator/phase5.hpp") && __has_include("phase_trackers/trackers_service.hpp")
#include "phase1_scraper/scrapers.hpp"
#include "phase2_raw/raw_processors.hpp"
#include "phase3_analytics/analytics_processors.hpp"
#include "phase4_precompute/precompute_processors.hpp"
#include "phase5_coordinator/phase5.hpp"
#include "phase_trackers/trackers_service.hpp"
#define PIPELINE_CTL_HAVE_SERVICES 1
#endif

namespace pipelinectl::cmd_service {

using Main = int (*)(int, char**);

// The roles by name: the names of the example executables.
const std::map<std::string, Main>& roles() {
  static const std::map<std::string, Main> kRoles{
#ifdef PIPELINE_CTL_HAVE_SERVICES
      {"phase1_scraper", phase1::service_main},       {"phase2_raw", phase2::service_main},
      {"phase3_analytics", phase3::service_main},     {"phase4_precompute", phase4::service_main},
      {"phase5_coordinator", nba::phase5::service_main}, {"phase_trackers", phase_trackers::service_main},
#endif
  };
  return kRoles;
}

int run(const std::string& role, std::vector<std::string> args) {
  const auto it = roles().find(role);
  if (it == roles().end()) {
    std::string known;
    for (const auto& [name, _] : roles()) known += (known.empty() ? "" : ", ") + name;
    std::fprintf(stderr, "pipelinectl service: unknown role '%s' (roles: %s)\n", role.c_str(),
                 known.empty() ? "none: built without the example services" : known.c_str());
    return kExitUsage;
  }
  // The role parses its own flags, with its name as the program name.
  args.insert(args.begin(), role);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  return it->second(static_cast<int>(args.size()), argv.data());
}

const Registrar kRegistrar{
    {"service", "Run one example service (phase1_scraper ... phase5_coordinator, phase_trackers) in this process",
     [](CLI::App& sub) -> Runner {
       auto role = std::make_shared<std::string>();
       sub.add_option("role", *role, "The service: its executable's name")->required();
       sub.prefix_command();  // what follows the role is the role's own flags
       return [role, &sub] { return run(*role, sub.remaining()); };
     }}};

}  // namespace pipelinectl::cmd_service
