// pipelinectl status: one date's state per phase hand-off, read from the trackers' rows
// (expected, done, failed, missing, waves, trigger time, wave 0's latency), and its Phase 5
// batch from the coordinator's rows (state, coverage, missing, Phase 4 -> 5 latency,
// Go/No-Go). It checks readiness: exit 3 when the date is only partial (an expected
// processor of some tracker missing or failed, or a Phase 5 batch not complete), 0 when it
// is complete or nothing is recorded for it yet.
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "command.hpp"
#include "pipeline/coordinate/batch_coordinator.hpp"
#include "pipeline/core/calendar_date.hpp"
#include "pipeline/core/timestamp.hpp"
#include "pipeline/orchestrate/completion_tracker.hpp"
#include "pipeline/runtime/date_status.hpp"
#include "store_uri.hpp"

namespace cmd_status {

struct Options {
  std::string date;
  std::string store;
  std::string phase5_prefix = "phase5";
  bool json = false;
};

/// The exit code and the note on stderr for a date's state.
int finish(pipeline::DateState state, const std::vector<pipeline::TrackerStatus>& statuses, const pipeline::BatchReport& phase5,
           pipeline::CalendarDate date) {
  switch (state) {
    case pipeline::DateState::kNothingRecorded:
      std::fputs(statuses.empty() ? "nothing recorded in this store yet (no tracker)\n"
                                  : fmt::format("nothing recorded for {} yet\n", date).c_str(),
                 stderr);
      return pipelinectl::kExitOk;
    case pipeline::DateState::kComplete:
      return pipelinectl::kExitOk;
    case pipeline::DateState::kPartial: {
      std::string note = fmt::format("{} is partial:", date);
      for (const auto& s : statuses) {
        if (s.missing.empty() && s.failed.empty()) continue;
        note += fmt::format(" {}", s.tracker);
        if (!s.missing.empty()) note += fmt::format(" missing {}", fmt::join(s.missing, ","));
        if (!s.failed.empty()) note += fmt::format("{}failed {}", s.missing.empty() ? " " : "; ", fmt::join(s.failed, ","));
        note += ";";
      }
      if (!phase5.batch_id.empty() && phase5.state != pipeline::BatchState::kComplete)
        note += fmt::format(" Phase 5 batch {} is {};", phase5.batch_id, pipeline::to_string(phase5.state));
      note.back() = '\n';
      std::fputs(note.c_str(), stderr);
      return pipelinectl::kExitNotReady;
    }
  }
  return pipelinectl::kExitFailed;
}

/// The Phase 5 lines: the batch, its coverage and latency, and the seeds' Go/No-Go.
std::string phase5_text(const pipeline::BatchReport& r) {
  if (r.batch_id.empty()) return {};
  std::string out = fmt::format(
      "phase5: batch {} {} (triggered by {}, attempt {}); predicted {} of {} ({:.1f}%, counted {}{}); "
      "{} missing; Phase 4 -> 5 latency {}\n",
      r.batch_id, pipeline::to_string(r.state),
      r.triggered_by ? std::string(pipeline::to_string(*r.triggered_by)) : "-", r.attempts, r.done, r.expected,
      100.0 * r.completion_rate, r.counted_from == "status_check" ? "at the 07:00 check" : "from the batch row",
      r.counted_at ? " " + pipeline::format_rfc3339(*r.counted_at) : "", r.missing.size(),
      r.phase4_to_phase5_latency
          ? fmt::format("{:.0f} s", std::chrono::duration<double>(*r.phase4_to_phase5_latency).count())
          : std::string("-"));
  if (!r.missing.empty()) out += fmt::format("    missing: {}\n", fmt::join(r.missing, ", "));
  const auto why = r.no_go_reasons();
  out += why.empty() ? "    Go/No-Go: GO (latency < 10 min, completion > 95%)\n"
                     : fmt::format("    Go/No-Go: NO-GO: {}\n", fmt::join(why, "; "));
  return out;
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
  auto status = pipeline::load_date_status(**store, *date, opts.phase5_prefix);
  if (!status) {
    std::fprintf(stderr, "pipelinectl status: %s\n", status.error().to_string().c_str());
    return pipelinectl::kExitFailed;
  }
  const auto* statuses = &status->trackers;
  const auto* phase5 = &status->phase5;
  const pipeline::DateState state = status->state();
  if (opts.json) {
    std::printf("%s\n", status->to_json().dump(2).c_str());
    return finish(state, *statuses, *phase5, *date);
  }
  std::printf("%s\n", fmt::format("date {}: {}", *date, pipeline::to_string(state)).c_str());
  std::string p5 = phase5_text(*phase5);
  if (statuses->empty()) {
    std::fputs(p5.c_str(), stdout);
    return finish(state, *statuses, *phase5, *date);
  }
  std::string out = fmt::format("{:<22} {:<40} {:>7} {:>6} {:>7} {:>10} {:>6}  {:<22} {}\n", "tracker",
                                "upstream -> downstream", "done", "failed", "missing", "unexpected", "waves",
                                "triggered (wave 0)", "latency (wave 0)");
  for (const auto& s : *statuses) {
    int decided = 0;
    for (const auto& w : s.waves) decided += w.decided ? 1 : 0;
    std::string triggered = "-";
    if (!s.waves.empty() && s.waves.front().number == 0 && s.waves.front().triggered_at)
      triggered = pipeline::format_rfc3339(*s.waves.front().triggered_at) +
                  (s.waves.front().partial ? " (partial)" : "");
    const auto lat = s.waves.empty() || s.waves.front().number != 0 ? std::nullopt : s.waves.front().latency();
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
  out += p5;
  std::fputs(out.c_str(), stdout);
  return finish(state, *statuses, *phase5, *date);
}

const pipelinectl::Registrar kRegistrar{
    {"status",
     "Show one date's state per phase hand-off (done, missing, failed, waves, triggers); exit 3 when it is partial",
     [](CLI::App& sub) -> pipelinectl::Runner {
       auto opts = std::make_shared<Options>();
       sub.add_option("--date", opts->date, "The date, YYYY-MM-DD")->required();
       pipelinectl::add_required_store_option(sub, opts->store);
       sub.add_option("--phase5-prefix", opts->phase5_prefix,
                      "Key prefix of the Phase 5 coordinator's rows (default phase5)");
       sub.add_flag("--json", opts->json, "Machine output on stdout (exit codes as without it)");
       return [opts] { return run(*opts); };
     }}};

}  // namespace cmd_status
