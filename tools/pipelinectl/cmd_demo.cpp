// `pipelinectl demo`: one game day of the synthetic season through Phases 1–5 in one
// process, in simulated time, then the mid-day injury update as an incremental wave.
// The work is done by the demo driver library (examples/demo_driver); this file parses
// the flags, opens the stores and prints.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "command.hpp"
#include "store_uri.hpp"
#include "transport_uri.hpp"

#if __has_include("demo_driver/demo_driver.hpp")
#include "demo_driver/date_lease.hpp"
#include "demo_driver/demo_driver.hpp"
#ifdef PIPELINE_DEMO_HAVE_DISTRIBUTED
#include "demo_driver/distributed.hpp"
#endif
#define PIPELINE_CTL_HAVE_DEMO 1
#endif

namespace pipelinectl::cmd_demo {

struct Options {
  std::string date = "2025-11-18";
  std::string store;      // empty: a fresh SQLite file in the demo's directory
  std::string warehouse;  // empty: a fresh file in the demo's directory
  std::string data_dir;   // empty: the demo's directory
  bool no_update = false;
  bool lose_phase4_event = false;
  bool inject_faults = false;
  bool json = false;
  // The multi-process demo (with --transport):
  std::string transport;  // empty or memory: the in-process demo
  int workers = 2;
  bool chaos = false;
  int lead_s = 0;  // 0: 60 s, or 300 s with --chaos (its redeliveries must end before 06:00 PT)
  int debounce_s = 3;
  int readiness_wait_s = 30;
  int ack_deadline_s = 5;
  int timeout_s = 600;
};

#ifdef PIPELINE_CTL_HAVE_DEMO
int print(const Options& opts, const pipeline::Result<demo::DemoReport>& report) {
  if (!report) {
    std::fprintf(stderr, "error: %s\n", report.error().to_string().c_str());
    return kExitFailed;
  }
  if (opts.json)
    std::printf("%s\n", demo::to_json(*report).dump(2).c_str());
  else
    std::fputs(demo::render_text(*report).c_str(), stdout);
  return kExitOk;
}

#ifdef PIPELINE_DEMO_HAVE_DISTRIBUTED
// The multi-process demo: every role its own process of this executable (`service ROLE`).
int run_distributed(const Options& opts, pipeline::CalendarDate date, const std::filesystem::path& dir) {
  if (opts.store.empty() || opts.store == "memory") {
    std::fprintf(stderr, "error: --transport needs a --store the processes share (postgresql://... or sqlite:PATH)\n");
    return kExitUsage;
  }
  if (auto t = parse_transport_uri(opts.transport); !t) {
    std::fprintf(stderr, "error: --transport: %s\n", t.error().message.c_str());
    return kExitUsage;
  }
  demo::DistributedOptions o;
  o.date = date;
  o.store_uri = opts.store;
  o.store_label = redacted_store_uri(opts.store);
  o.transport_uri = opts.transport;
  o.dir = dir;
  std::error_code ec;
  o.self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) {
    std::fprintf(stderr, "error: cannot find this executable: %s\n", ec.message().c_str());
    return kExitFailed;
  }
  o.workers = opts.workers;
  o.injury_update = !opts.no_update;
  o.chaos = opts.chaos;
  o.lead = std::chrono::seconds(opts.lead_s > 0 ? opts.lead_s : opts.chaos ? 300 : 60);
  o.debounce = std::chrono::seconds(opts.debounce_s);
  o.readiness_wait = std::chrono::seconds(opts.readiness_wait_s);
  o.ack_deadline = std::chrono::seconds(opts.ack_deadline_s);
  o.timeout = std::chrono::seconds(opts.timeout_s);
  o.progress = [](const std::string& line) {
    std::fprintf(stderr, "demo: %s\n", line.c_str());
    std::fflush(stderr);
  };
  std::fprintf(stderr, "demo: processes' logs, warehouse and scraped files in %s\n", dir.c_str());
  return print(opts, demo::run_distributed_demo(o));
}
#endif

int run(const Options& opts) {
  auto date = pipeline::CalendarDate::parse(opts.date);
  if (!date) {
    std::fprintf(stderr, "error: %s\n", date.error().to_string().c_str());
    return kExitUsage;
  }
  const bool distributed = !opts.transport.empty() && opts.transport != "memory";
  // Files the user did not name go to one fresh directory, printed so it can be opened.
  std::filesystem::path dir;
  if (distributed || opts.store.empty() || opts.warehouse.empty() || opts.data_dir.empty()) {
    std::string tmpl = (std::filesystem::temp_directory_path() / "pipeline-demo-XXXXXX").string();
    if (!mkdtemp(tmpl.data())) {
      std::fprintf(stderr, "error: cannot create a directory under %s\n",
                   std::filesystem::temp_directory_path().c_str());
      return kExitFailed;
    }
    dir = tmpl;
  }
  if (distributed) {
#ifdef PIPELINE_DEMO_HAVE_DISTRIBUTED
    return run_distributed(opts, *date, dir);
#else
    std::fprintf(stderr, "error: this pipelinectl was built without Redis: the demo runs in one process only\n");
    return kExitUsage;
#endif
  }
  const std::string store_uri = opts.store.empty() ? "sqlite:" + (dir / "state.db").string() : opts.store;
  auto store = open_store(store_uri, StoreAccess::kCreate);
  if (!store) {
    std::fprintf(stderr, "error: %s\n", store.error().to_string().c_str());
    return store.error().code == pipeline::ErrorCode::kInvalidArgument ? kExitUsage : kExitFailed;
  }
  // On a shared store, one process at a time runs a date: wait for another live demo or
  // backfill of it, take it over from a dead one.
  auto lease = demo::acquire_date(**store, *date);
  if (!lease) {
    std::fprintf(stderr, "error: %s\n", lease.error().to_string().c_str());
    return kExitFailed;
  }
  demo::DemoOptions o;
  o.date = *date;
  if (!(*lease)->taken_from().empty()) {
    if (auto st = demo::recover_date(**store, *date, (*lease)->taken_from()); !st) {
      std::fprintf(stderr, "error: %s\n", st.error().to_string().c_str());
      return kExitFailed;
    }
    o.take_over = true;
  }
  o.store = store->get();
  o.store_label = redacted_store_uri(store_uri);
  o.warehouse_path = opts.warehouse.empty() ? dir / "warehouse.db" : std::filesystem::path(opts.warehouse);
  o.data_dir = opts.data_dir.empty() ? dir / "scraped" : std::filesystem::path(opts.data_dir);
  o.injury_update = !opts.no_update;
  o.lose_phase4_event = opts.lose_phase4_event;
  o.inject_faults = opts.inject_faults;
  return print(opts, demo::run_demo(o));
}
#else
int run(const Options&) {
  std::fprintf(stderr, "error: this pipelinectl was built without the example services (demo_driver)\n");
  return kExitFailed;
}
#endif

const Registrar kRegistrar{
    {"demo", "Run one game day through Phases 1-5 in simulated time, then the mid-day injury update",
     [](CLI::App& sub) -> Runner {
       auto opts = std::make_shared<Options>();
       sub.add_option("--date", opts->date, "Game date YYYY-MM-DD (default 2025-11-18)");
       sub.add_option("--store", opts->store, "State store: memory | sqlite:PATH | postgresql://... (default: a fresh SQLite file)");
       sub.add_option("--warehouse", opts->warehouse, "SQLite file for the data tables (default: a fresh file)");
       sub.add_option("--data-dir", opts->data_dir, "Directory for the scraped files (default: a fresh one)");
       sub.add_flag("--no-update", opts->no_update, "Skip the 14:00 injury update wave");
       sub.add_flag("--lose-phase4-event", opts->lose_phase4_event,
                    "Lose the Phase 4->5 event: the 06:00 PT scheduler backup produces the batch");
       sub.add_flag("--inject-faults", opts->inject_faults,
                    "Drop, duplicate and fail a share of deliveries and publishes, fail one step once, "
                    "send one poison message");
       sub.add_flag("--json", opts->json, "Print the machine-readable summary on stdout");
       add_transport_option(sub, opts->transport)
           ->description("redis://...: every role in its own process over this broker, in real time (needs "
                         "--store postgresql://... or sqlite:PATH); memory (default): one process, simulated time");
       auto* multi = "Multi-process demo";
       sub.add_option("--workers", opts->workers, "Phase 2 worker processes")->group(multi)->capture_default_str()->check(CLI::Range(1, 16));
       sub.add_flag("--chaos", opts->chaos, "SIGKILL a scraper, a Phase 2 worker, Phase 3 and the trackers mid-work "
                    "(each restarted) and send one poison message")->group(multi);
       sub.add_option("--lead", opts->lead_s, "Seconds from the day's start to 06:00 PT (default 60; 300 with --chaos)")
           ->group(multi)->check(CLI::Range(1, 86400));
       sub.add_option("--debounce", opts->debounce_s, "Seconds of the trackers' incremental window (300 in production)")
           ->group(multi)->capture_default_str()->check(CLI::Range(1, 3600));
       sub.add_option("--readiness-wait", opts->readiness_wait_s, "Seconds Phase 5 waits for players (1800 in production)")
           ->group(multi)->capture_default_str()->check(CLI::Range(0, 3600));
       sub.add_option("--ack-deadline", opts->ack_deadline_s, "Seconds before a killed process's delivery goes to another (600 in production)")
           ->group(multi)->capture_default_str()->check(CLI::Range(1, 3600));
       sub.add_option("--timeout", opts->timeout_s, "Seconds the day may take before the demo gives up")->group(multi)->capture_default_str()->check(CLI::Range(10, 86400));
       return [opts] { return run(*opts); };
     }}};

}  // namespace pipelinectl::cmd_demo
