#pragma once
// The `--config FILE` flag the example services share: one file of settings beside the flags.

#include <CLI/CLI.hpp>

namespace pipelinectl {

/// Declares `--config FILE`: flags read from a TOML or INI file, one `name = "value"` per
/// line (the flag's name without its dashes: `store`, `transport`, `data-dir`). A flag given
/// on the command line wins over the file. Keys of flags a program does not have are
/// ignored, so one file (deploy/pipeline.conf) serves every service.
inline CLI::Option* add_config_option(CLI::App& app) {
  app.allow_config_extras(CLI::config_extras_mode::ignore);
  return app.set_config("--config", "", "Read flags from this file (name = \"value\" per line; flags given here win)");
}

}  // namespace pipelinectl
