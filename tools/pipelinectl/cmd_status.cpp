// pipelinectl status: one date's state per phase hand-off, read from the trackers' rows
// (expected, done, failed, missing, waves, trigger time, latency). It checks readiness:
// exit 3 when the date is only partial (an expected processor of some tracker missing or
// failed), 0 when it is complete or nothing is recorded for it yet.
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
  std::string store;
  bool json = false;
};

/// How the date stands over every tracker in the store.
enum class DateState { kNothingRecorded, kPartial, kComplete };

DateState date_state(const std::vector<pipeline::TrackerStatus>& statuses) {
  bool any = false, gaps = false;
  for (const auto& s : statuses) {
    any = any || !s.empty();
    // A tracker with nothing recorded on a date others have rows for is missing all of
    // its upstream processors: the date is partial.
    gaps = gaps || !s.missing.empty() || !s.failed.empty();
  }
  if (!any) return DateState::kNothingRecorded;
  return gaps ? DateState::kPartial : DateState::kComplete;
}

const char* to_string(DateState s) {
  switch (s) {
    case DateState::kNothingRecorded: return "nothing_recorded";
    case DateState::kPartial: return "partial";
    case DateState::kComplete: return "complete";
  }
  return "partial";
}

/// The exit code and the note on stderr for a date's state.
int finish(DateState state, const std::vector<pipeline::TrackerStatus>& statuses, pipeline::CalendarDate date) {
  switch (state) {
    case DateState::kNothingRecorded:
      std::fputs(statuses.empty() ? "nothing recorded in this store yet (no tracker)\n"
                                  : fmt::format("nothing recorded for {} yet\n", date).c_str(),
                 stderr);
      return pipelinectl::kExitOk;
    case DateState::kComplete:
      return pipelinectl::kExitOk;
    case DateState::kPartial: {
      std::string note = fmt::format("{} is partial:", date);
      for (const auto& s : statuses) {
        if (s.missing.empty() && s.failed.empty()) continue;
        note += fmt::format(" {}", s.tracker);
        if (!s.missing.empty()) note += fmt::format(" missing {}", fmt::join(s.missing, ","));
        if (!s.failed.empty()) note += fmt::format("{}failed {}", s.missing.empty() ? " " : "; ", fmt::join(s.failed, ","));
        note += ";";
      }
      note.back() = '\n';
      std::fputs(note.c_str(), stderr);
      return pipelinectl::kExitNotReady;
    }
  }
  return pipelinectl::kExitFailed;
}

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

  const DateState state = date_state(*statuses);
  if (opts.json) {
    nlohmann::json j{{"date", date->to_string()}, {"state", to_string(state)}, {"trackers", nlohmann::json::array()}};
    for (const auto& s : *statuses) j["trackers"].push_back(s.to_json());
    std::printf("%s\n", j.dump(2).c_str());
    return finish(state, *statuses, *date);
  }
  std::printf("%s\n", fmt::format("date {}: {}", *date, to_string(state)).c_str());
  if (statuses->empty()) return finish(state, *statuses, *date);
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
    if (!s.done.empty()) out += fmt::format("    done: {}\n", fmt::join(s.done, ", "));
    if (!s.empty() && !s.missing.empty()) out += fmt::format("    missing: {}\n", fmt::join(s.missing, ", "));
    if (!s.failed.empty()) out += fmt::format("    failed: {}\n", fmt::join(s.failed, ", "));
    if (!s.unexpected.empty()) out += fmt::format("    unexpected: {}\n", fmt::join(s.unexpected, ", "));
  }
  std::fputs(out.c_str(), stdout);
  return finish(state, *statuses, *date);
}

const pipelinectl::Registrar kRegistrar{
    {"status",
     "Show one date's state per phase hand-off (done, missing, failed, waves, triggers); exit 3 when it is partial",
     [](CLI::App& sub) -> pipelinectl::Runner {
       auto opts = std::make_shared<Options>();
       sub.add_option("--date", opts->date, "The date, YYYY-MM-DD")->required();
       pipelinectl::add_required_store_option(sub, opts->store);
       sub.add_flag("--json", opts->json, "Machine output on stdout (exit codes as without it)");
       return [opts] { return run(*opts); };
     }}};

}  // namespace cmd_status
