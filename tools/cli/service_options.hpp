#pragma once
// What the command lines of pipelinectl and the example services share beyond --store and
// --transport: parsing with pipelinectl's exit codes, the service flags --ack-deadline,
// --clock-offset and --config, and the line a service ends with.

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string_view>

#include <CLI/CLI.hpp>

#include "exit_codes.hpp"
#include "pipeline/core/transport.hpp"
#include "pipeline/runtime/service_runtime.hpp"

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

/// What every long-running service's command line has beyond `--store` and `--transport`
/// (`add_service_flags` declares them).
struct ServiceFlags {
  /// `--ack-deadline SECONDS` (1-3600, default 600, the seeds' Pub/Sub): how long a delivery
  /// a dead process held stays with it before another process of the subscription gets it.
  int ack_deadline_s = 600;
  /// `--clock-offset SECONDS`: the service runs on the system clock shifted by this much
  /// (negative: in the past). Every process of one pipeline must be given the same offset;
  /// `pipelinectl demo --transport` uses it to replay a past game day in real time.
  std::int64_t clock_offset_s = 0;

  [[nodiscard]] std::chrono::seconds ack_deadline() const { return std::chrono::seconds(ack_deadline_s); }
  [[nodiscard]] std::chrono::seconds clock_offset() const { return std::chrono::seconds(clock_offset_s); }
  /// The subscription settings of the service: the ack deadline, the rest the defaults.
  [[nodiscard]] pipeline::SubscriptionSettings settings() const {
    pipeline::SubscriptionSettings settings;
    settings.ack_deadline = ack_deadline();
    return settings;
  }
};

/// Declares `--ack-deadline`, `--clock-offset` and `--config` into `flags`.
inline void add_service_flags(CLI::App& app, ServiceFlags& flags) {
  app.add_option("--ack-deadline", flags.ack_deadline_s, "Seconds before a delivery a dead process held goes to another one")
      ->capture_default_str()
      ->check(CLI::Range(1, 3600));
  app.add_option("--clock-offset", flags.clock_offset_s, "Run on the system clock shifted by this many seconds")
      ->capture_default_str();
  add_config_option(app);
}

/// Prints how a service stopped: `<name>: stopped (N finished, N nacked, N refused, N
/// flushed)`, the line its journal ends with.
inline void print_drain_report(std::string_view name, const pipeline::DrainReport& report) {
  std::printf("%.*s: stopped (%zu finished, %zu nacked, %zu refused, %zu flushed%s)\n", static_cast<int>(name.size()),
              name.data(), report.finished, report.nacked, report.refused, report.flushed,
              report.flush_error ? ", the outbox keeps the rest" : "");
}

}  // namespace pipelinectl
