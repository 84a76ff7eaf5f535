// Registers the demo driver as backfill's day runner, when pipelinectl links it: each
// date runs Phases 1-4 (no injury update wave) against the backfill's store, with the
// warehouse and scraped files in the backfill's work directory.
#if __has_include("demo_driver/demo_driver.hpp")
#include <filesystem>

#include <nlohmann/json.hpp>

#include "backfill_runner.hpp"
#include "demo_driver/demo_driver.hpp"

namespace backfill_demo_day {

const bool kRegistered = [] {
  pipelinectl::day_runner() = [](pipeline::StateStore& store, pipeline::CalendarDate date,
                                 const std::filesystem::path& work_dir) -> pipeline::Result<nlohmann::json> {
    demo::DemoOptions o;
    o.date = date;
    o.store = &store;
    o.store_label = "backfill";
    o.warehouse_path = work_dir / "warehouse.db";
    o.data_dir = work_dir / "scraped";
    o.injury_update = false;
    auto summary = demo::run_demo(o);
    if (!summary) return pipeline::fail(summary.error());
    // Keep the per-date summary small: what ran, and the trackers' decisions.
    return nlohmann::json{{"runs_total", summary->value("runs_total", nlohmann::json::object())},
                          {"tables", summary->value("tables", nlohmann::json::object())}};
  };
  return true;
}();

}  // namespace backfill_demo_day
#endif
