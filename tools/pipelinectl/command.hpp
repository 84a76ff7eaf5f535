#pragma once
// Subcommand registration for pipelinectl. A cmd_<name>.cpp file defines one
// subcommand and registers it with a file-scope `Registrar`:
//
//   static pipelinectl::Registrar reg{{"status", "Show a date's per-phase state",
//       [](CLI::App& sub) -> pipelinectl::Runner {
//         auto opts = std::make_shared<Options>();
//         sub.add_option("--date", opts->date, "...")->required();
//         return [opts] { return run_status(*opts); };
//       }}};
//
// Exit codes (STYLE.md): 0 ok, 1 the operation failed, 2 bad usage or bad input,
// 3 not ready / partial (only for commands whose purpose is to check readiness).

#include <functional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "exit_codes.hpp"

namespace pipelinectl {

/// Runs a parsed subcommand and returns its exit code.
using Runner = std::function<int()>;

struct CommandInfo {
  std::string name;
  std::string description;
  /// Declares the subcommand's options on `sub` and returns what runs it.
  std::function<Runner(CLI::App& sub)> setup;
};

inline std::vector<CommandInfo>& commands() {
  static std::vector<CommandInfo> all;
  return all;
}

struct Registrar {
  explicit Registrar(CommandInfo info) { commands().push_back(std::move(info)); }
};

}  // namespace pipelinectl
