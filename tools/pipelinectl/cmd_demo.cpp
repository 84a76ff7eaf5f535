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

#if __has_include("demo_driver/demo_driver.hpp")
#include "demo_driver/date_lease.hpp"
#include "demo_driver/demo_driver.hpp"
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
};

#ifdef PIPELINE_CTL_HAVE_DEMO
int run(const Options& opts) {
  auto date = pipeline::CalendarDate::parse(opts.date);
  if (!date) {
    std::fprintf(stderr, "error: %s\n", date.error().to_string().c_str());
    return kExitUsage;
  }
  // Files the user did not name go to one fresh directory, printed so it can be opened.
  std::filesystem::path dir;
  if (opts.store.empty() || opts.warehouse.empty() || opts.data_dir.empty()) {
    std::string tmpl = (std::filesystem::temp_directory_path() / "pipeline-demo-XXXXXX").string();
    if (!mkdtemp(tmpl.data())) {
      std::fprintf(stderr, "error: cannot create a directory under %s\n",
                   std::filesystem::temp_directory_path().c_str());
      return kExitFailed;
    }
    dir = tmpl;
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
  auto report = demo::run_demo(o);
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
       return [opts] { return run(*opts); };
     }}};

}  // namespace pipelinectl::cmd_demo
