// pipelinectl: the operator's tool for `pipeline`. Subcommands register themselves in
// cmd_<name>.cpp files; this file only parses and dispatches.
#include <algorithm>
#include <cstdio>
#include <map>

#include <CLI/CLI.hpp>

#include "command.hpp"
#include "service_options.hpp"
#include "pipeline/version.hpp"

int main(int argc, char** argv) {
  CLI::App app{"pipelinectl: operate a pipeline built on the `pipeline` library"};
  app.set_version_flag("--version", pipeline::kVersion);
  app.require_subcommand(1);

  auto& infos = pipelinectl::commands();
  std::sort(infos.begin(), infos.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  std::map<std::string, pipelinectl::Runner> runners;
  for (const auto& info : infos) {
    CLI::App* sub = app.add_subcommand(info.name, info.description);
    runners[info.name] = info.setup(*sub);
  }

  if (auto code = pipelinectl::parse_or_exit(app, argc, argv)) return *code;
  for (CLI::App* sub : app.get_subcommands()) {
    try {
      return runners.at(sub->get_name())();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "pipelinectl %s: %s\n", sub->get_name().c_str(), e.what());
      return pipelinectl::kExitFailed;
    }
  }
  return pipelinectl::kExitUsage;
}
