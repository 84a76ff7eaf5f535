// phase_trackers: the example pipeline's completion trackers as one long-running service.
#include "phase_trackers/trackers_service.hpp"

#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "exit_codes.hpp"
#include "nba_service_common/service.hpp"
#include "nba_synthetic/nba_preset.hpp"
#include "phase2_raw/raw_processors.hpp"
#include "pipeline/core/system_clock.hpp"
#include "pipeline/orchestrate/completion_tracker.hpp"
#include "pipeline/orchestrate/tracker_subscription.hpp"
#include "pipeline/runtime/service_runtime.hpp"
#include "service_options.hpp"
#include "store_uri.hpp"
#include "transport_uri.hpp"

namespace {

struct Flags {
  std::string store;
  std::string transport = "memory";
  std::size_t workers = 2;
  int check_every_s = 30;
  pipelinectl::ServiceFlags service;
  std::optional<int> deadline_s;  // unset: the preset's (30 min)
  std::optional<int> debounce_s;  // unset: the preset's (5 min)
};

int fail_start(const char* what, const pipeline::Error& e, int code) {
  std::fprintf(stderr, "phase_trackers: %s: %s\n", what, e.to_string().c_str());
  return code;
}

int run(const Flags& flags) {
  pipeline::SystemClock clock(flags.service.clock_offset());
  auto store = pipelinectl::open_store(flags.store, pipelinectl::StoreAccess::kCreate);
  if (!store) return fail_start("--store", store.error(), pipelinectl::store_error_exit(store.error()));
  auto transport = pipelinectl::open_transport(flags.transport, clock, flags.workers);
  if (!transport) return fail_start("--transport", transport.error(), pipelinectl::transport_error_exit(transport.error()));

  pipeline::ServiceRuntimeOptions options;
  options.name = "phase_trackers";
  auto runtime = pipeline::ServiceRuntime::create(clock, **store, **transport, options);
  if (!runtime) return fail_start("runtime", runtime.error(), pipelinectl::kExitFailed);

  // The preset's trackers, each on its upstream phase's completion topic.
  const nba_services::Topics topics;
  auto presets = nba::tracker_presets(topics.naming);
  presets[0].expected = phase2::raw_processors();
  const std::vector<std::string> upstream{topics.phase2_complete(), topics.phase3_complete(), topics.phase4_complete()};
  std::vector<std::unique_ptr<pipeline::CompletionTracker>> trackers;
  for (std::size_t i = 0; i < presets.size(); ++i) {
    presets[i].relay = &(*runtime)->relay();
    if (flags.deadline_s) presets[i].deadline = std::chrono::seconds(*flags.deadline_s);
    if (flags.debounce_s) presets[i].debounce = std::chrono::seconds(*flags.debounce_s);
    auto tracker = pipeline::CompletionTracker::create(clock, **store, presets[i]);
    if (!tracker) return fail_start("tracker", tracker.error(), pipelinectl::kExitFailed);
    auto& t = *trackers.emplace_back(std::move(*tracker));
    if (auto st = (*runtime)->subscribe({t.options().name + "-tracker", upstream[i], flags.service.settings()},
                                        nba_services::logging_deliveries(pipeline::tracker_handler(t)));
        !st)
      return fail_start("subscribe", st.error(), pipelinectl::kExitFailed);
  }
  if (auto st = (*runtime)->every("check_deadlines", std::chrono::seconds(flags.check_every_s), [&]() -> pipeline::Status {
        for (auto& t : trackers) PIPELINE_TRY(t->check_deadlines());
        return pipeline::ok();
      });
      !st)
    return fail_start("check_deadlines job", st.error(), pipelinectl::kExitFailed);
  for (auto& t : trackers)  // waves whose owner died before their due time
    if (auto decided = t->check_deadlines(); !decided) return fail_start("check_deadlines", decided.error(), pipelinectl::kExitFailed);

  // The example of ServiceRuntime's doc comment (include/pipeline/runtime/service_runtime.hpp).
  //! [service_runtime_signals]
  if (auto st = pipeline::ServiceRuntime::stop_on_signals(**runtime); !st)
    return fail_start("signals", st.error(), pipelinectl::kExitFailed);
  if (auto st = (*runtime)->start(); !st) return fail_start("start", st.error(), pipelinectl::kExitFailed);
  std::printf("phase_trackers: serving %zu trackers\n", trackers.size());
  std::fflush(stdout);
  pipelinectl::print_drain_report("phase_trackers", (*runtime)->wait());
  //! [service_runtime_signals]
  return pipelinectl::kExitOk;
}

}  // namespace

namespace phase_trackers {

int service_main(int argc, char** argv) {
  CLI::App app{"The example pipeline's completion trackers (2→3, 3→4, 4→5) as a long-running service"};
  Flags flags;
  app.add_option("--store", flags.store, "sqlite:PATH | postgresql://... (created when missing)")->required();
  pipelinectl::add_transport_option(app, flags.transport);
  app.add_option("--workers", flags.workers, "Delivery threads")->capture_default_str()->check(CLI::Range(1, 64));
  app.add_option("--check-every", flags.check_every_s, "Seconds between deadline checks")
      ->capture_default_str()
      ->check(CLI::Range(1, 3600));
  app.add_option("--deadline", flags.deadline_s, "Seconds a full wave waits for its last processor (default 1800)")
      ->check(CLI::Range(1, 86400));
  app.add_option("--debounce", flags.debounce_s, "Seconds an incremental wave gathers completions (default 300)")
      ->check(CLI::Range(1, 86400));
  pipelinectl::add_service_flags(app, flags.service);
  if (auto code = pipelinectl::parse_or_exit(app, argc, argv)) return *code;
  return run(flags);
}

}  // namespace phase_trackers
