#pragma once
// What the command lines of pipelinectl and the example services share beyond --store and
// --transport: parsing with pipelinectl's exit codes, and the service flags --ack-deadline
// and --config.

#include <chrono>
#include <cstdint>
#include <optional>

#include <CLI/CLI.hpp>

#include "exit_codes.hpp"
#include "pipeline/core/transport.hpp"

namespace pipelinectl {

/// Parses `argv` into `app`. Returns the exit code to end with now — `kExitOk` after
/// `--help` (CLI11 reports it as an "error" with code 0), `kExitUsage` for a bad flag, with
/// CLI11's message printed — or nullopt to go on.
inline std::optional<int> parse_or_exit(CLI::App& app, int argc, char** argv) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? kExitOk : kExitUsage;
  }
  return std::nullopt;
}

/// Declares `--config FILE`: flags read from a TOML or INI file, one `name = "value"` per
/// line (the flag's name without its dashes: `store`, `transport`, `data-dir`). A flag given
/// on the command line wins over the file. Keys of flags a program does not have are
/// ignored, so one file (deploy/pipeline.conf) serves every service.
inline CLI::Option* add_config_option(CLI::App& app) {
  app.allow_config_extras(CLI::config_extras_mode::ignore);
  return app.set_config("--config", "", "Read flags from this file (name = \"value\" per line; flags given here win)");
}

/// Declares `--ack-deadline SECONDS` (1-3600, default 600, the seeds' Pub/Sub): how long a
/// delivery a dead process held stays with it before another process of the subscription
/// gets it. `settings_of` turns the value into the subscription's settings.
inline CLI::Option* add_ack_deadline_option(CLI::App& app, int& seconds) {
  return app.add_option("--ack-deadline", seconds, "Seconds before a delivery a dead process held goes to another one")
      ->capture_default_str()
      ->check(CLI::Range(1, 3600));
}

/// Declares `--clock-offset SECONDS`: the service runs on the system clock shifted by this
/// much (negative: in the past). Every process of one pipeline must be given the same
/// offset; `pipelinectl demo --transport` uses it to replay a past game day in real time.
inline CLI::Option* add_clock_offset_option(CLI::App& app, std::int64_t& seconds) {
  return app.add_option("--clock-offset", seconds, "Run on the system clock shifted by this many seconds")
      ->capture_default_str();
}

/// The subscription settings of a service started with `--ack-deadline seconds`.
inline pipeline::SubscriptionSettings settings_of(int ack_deadline_seconds) {
  pipeline::SubscriptionSettings settings;
  settings.ack_deadline = std::chrono::seconds(ack_deadline_seconds);
  return settings;
}

}  // namespace pipelinectl
