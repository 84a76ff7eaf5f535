// pipelinectl status: one date's state per phase hand-off, read from the trackers' rows
// (expected, done, failed, missing, waves, trigger time, latency).
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "command.hpp"
#include "pipeline/core/calendar_date.hpp"
#include "pipeline/core/timestamp.hpp"
#include "pipeline/orchestrate/completion_tracker.hpp"
#include "store_uri.hpp"

namespace cmd_status {

struct Options {
  std::string date;
  std::string store = "memory";
  bool json = false;
};

int run(const Options& opts) {
  auto date = pipeline::CalendarDate::parse(opts.date);
  if (!date) {
    std::fprintf(stderr, "pipelinectl status: --date: %s\n", date.error().message.c_str());
    return pipelinectl::kExitUsage;
  }
  auto store = pipelinectl::open_store(opts.store);
  if (!store) {
    std::fprintf(stderr, "pipelinectl status: %s\n", store.error().message.c_str());
    return pipelinectl::store_error_exit(store.error());
  }
  auto statuses = pipelinectl::load_tracker_statuses(**store, *date);
  if (!statuses) {
    std::fprintf(stderr, "pipelinectl status: %s\n", statuses.error().to_string().c_str());
    return pipelinectl::kExitFailed;
  }

  if (opts.json) {
    nlohmann::json j{{"date", date->to_string()}, {"trackers", nlohmann::json::array()}};
    for (const auto& s : *statuses) j["trackers"].push_back(s.to_json());
    std::printf("%s\n", j.dump(2).c_str());
    return pipelinectl::kExitOk;
  }
  std::printf("%s\n", fmt::format("date {}", *date).c_str());
  if (statuses->empty()) {
    std::fprintf(stderr, "nothing recorded in this store yet\n");
    return pipelinectl::kExitOk;
  }
  std::string out = fmt::format("{:<22} {:<40} {:>7} {:>6} {:>7} {:>10} {:>6}  {:<22} {}\n", "tracker",
                                "upstream -> downstream", "done", "failed", "missing", "unexpected", "waves",
                                "triggered (wave 0)", "latency");
  for (const auto& s : *statuses) {
    int decided = 0;
    for (const auto& w : s.waves) decided += w.decided ? 1 : 0;
    std::string triggered = "-";
    if (!s.waves.empty() && s.waves.front().number == 0 && s.waves.front().triggered_at)
      triggered = pipeline::format_rfc3339(*s.waves.front().triggered_at) +
                  (s.waves.front().partial ? " (partial)" : "");
    const auto lat = s.latency();
    out += fmt::format("{:<22} {:<40} {:>7} {:>6} {:>7} {:>10} {:>6}  {:<22} {}\n", s.tracker,
                       s.upstream_phase + " -> " + s.downstream_phase,
                       fmt::format("{}/{}", s.done.size(), s.expected.size()), s.failed.size(),
                       s.missing.size(), s.unexpected.size(), fmt::format("{}/{}", decided, s.waves.size()), triggered,
                       lat ? fmt::format("{:.1f}s", std::chrono::duration<double>(*lat).count()) : "-");
    if (!s.empty() && !s.missing.empty()) out += fmt::format("    missing: {}\n", fmt::join(s.missing, ", "));
    if (!s.failed.empty()) out += fmt::format("    failed: {}\n", fmt::join(s.failed, ", "));
    if (!s.unexpected.empty()) out += fmt::format("    unexpected: {}\n", fmt::join(s.unexpected, ", "));
  }
  std::fputs(out.c_str(), stdout);
  return pipelinectl::kExitOk;
}

const pipelinectl::Registrar kRegistrar{
    {"status", "Show one date's state per phase hand-off (done, missing, failed, waves, triggers)",
     [](CLI::App& sub) -> pipelinectl::Runner {
       auto opts = std::make_shared<Options>();
       sub.add_option("--date", opts->date, "The date, YYYY-MM-DD")->required();
       sub.add_option("--store", opts->store, "memory | sqlite:PATH")->capture_default_str();
       sub.add_flag("--json", opts->json, "Machine output on stdout");
       return [opts] { return run(*opts); };
     }}};

}  // namespace cmd_status
