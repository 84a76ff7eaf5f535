#include "demo_driver/backfill.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "demo_driver/date_lease.hpp"
#include "demo_driver/demo_driver.hpp"
#include "pipeline/core/message_codec.hpp"
#include "pipeline/orchestrate/dead_letter_recorder.hpp"

namespace demo {

using nlohmann::json;

std::string backfill_done_key(pipeline::CalendarDate date) { return fmt::format("backfill/done/{}", date); }

namespace {

// Why the date did not reach its end state, one sentence each (empty: it did). Every
// tracker decided its full wave as complete (success or no_data, not partial), Phase 5's
// batch completed or was refused by its readiness rule (the refusal's reason stays in
// the batch row), and no message of the date used up its attempts.
std::vector<std::string> unfinished(const DemoReport& report) {
  std::vector<std::string> why;
  for (const auto& [name, status] : report.trackers) {
    const pipeline::WaveStatus* full = nullptr;
    for (const auto& w : status.waves)
      if (w.number == 0) full = &w;
    if (full == nullptr || !full->decided)
      why.push_back(fmt::format("{} was never triggered", name));
    else if (full->trigger_status != "success" && full->trigger_status != "no_data")
      why.push_back(fmt::format("{} was triggered {} ({})", name, full->trigger_status, full->reason));
  }
  const auto state = report.phase5.state;
  if (state != pipeline::BatchState::kComplete && state != pipeline::BatchState::kRefused)
    why.push_back(fmt::format("the Phase 5 batch is {}", pipeline::to_string(state)));
  if (report.dead_letters > 0) why.push_back(fmt::format("{} message(s) dead-lettered", report.dead_letters));
  return why;
}

// Replays the date's recorded dead letters (a re-run of a failed date): their messages are
// delivered again with their original ids, so what failed runs again and what had
// succeeded is recognised as done.
pipeline::Result<int> replay_dead_letters(pipeline::StateStore& store, pipeline::CalendarDate date) {
  auto rows = pipeline::DeadLetterRecorder::list(store);
  if (!rows) return pipeline::fail(rows.error());
  int replayed = 0;
  for (const auto& r : *rows) {
    auto m = pipeline::decode_message(r.payload);
    if (!m || m->partition_date != date) continue;
    auto done = pipeline::DeadLetterRecorder::replay(store, r.subscription + "/" + r.id);
    if (!done) return pipeline::fail(done.error());
    ++replayed;
  }
  return replayed;
}

}  // namespace

pipeline::Result<json> run_backfill(const BackfillOptions& opt) {
  if (opt.store == nullptr) return pipeline::fail(pipeline::ErrorCode::kInvalidArgument, "backfill needs a state store");
  if (opt.to < opt.from)
    return pipeline::fail(pipeline::ErrorCode::kInvalidArgument, "--to {} is before --from {}", opt.to, opt.from);
  const std::string warehouse_path = !opt.warehouse.empty()   ? opt.warehouse
                                    : opt.work_dir.empty() ? std::string(kMemoryWarehouse)
                                                           : (opt.work_dir / "warehouse.db").string();
  const std::filesystem::path scraped_dir = opt.work_dir.empty() ? std::filesystem::path() : opt.work_dir / "scraped";
  auto warehouse = nba::Warehouse::open(warehouse_path);
  if (!warehouse) return pipeline::fail(warehouse.error());
  const nba::Season season;  // the same synthetic season for every date
  const int total = opt.from.days_until(opt.to) + 1;
  int ran = 0, skipped = 0, failed = 0;
  std::int64_t complete = 0, refused = 0, predictions = 0;
  bool interrupted = false;
  json days = json::array();
  for (int i = 0; i < total; ++i) {
    const pipeline::CalendarDate date = opt.from.plus_days(i);
    auto is_done = [&]() -> pipeline::Result<bool> {
      auto row = opt.store->get(backfill_done_key(date));
      if (!row) return pipeline::fail(row.error());
      return row->has_value();
    };
    auto skip = [&] {
      ++skipped;
      days.push_back({{"date", date.to_string()}, {"status", "skipped"}});
      if (opt.progress) opt.progress(i + 1, total, date, true);
    };
    auto done = is_done();
    if (!done) return pipeline::fail(done.error().with("date", date.to_string()));
    if (*done) {
      skip();
      continue;
    }
    if (opt.stop_after > 0 && ran + failed >= opt.stop_after) {
      interrupted = true;
      break;
    }
    // One process at a time per date: another live backfill on this store finishes it
    // first (then it is done here too), a dead one's date is taken over.
    auto lease = acquire_date(*opt.store, date, DateLeaseOptions{.done = is_done});
    if (!lease) return pipeline::fail(lease.error().with("date", date.to_string()));
    if (!*lease) {
      skip();
      continue;
    }
    // Done between the first look and the lease (the other process released it).
    done = is_done();
    if (!done) return pipeline::fail(done.error().with("date", date.to_string()));
    if (*done) {
      skip();
      continue;
    }
    const DateLease& held = **lease;  // released at the end of this iteration
    if (!held.taken_from().empty()) {
      // The process that held the date died in it.
      auto recovered = recover_date(*opt.store, date, held.taken_from());
      if (!recovered) return pipeline::fail(recovered.error().with("date", date.to_string()));
    }
    DemoOptions d;
    d.date = date;
    d.store = opt.store;
    d.store_label = "backfill";
    d.warehouse_path = warehouse_path;
    d.warehouse = &*warehouse;
    d.season = &season;
    d.data_dir = scraped_dir;
    d.injury_update = false;
    d.observe_messages = false;  // a date keeps only its counts (below)
    d.fail_processor = opt.fail_processor;
    d.take_over = !held.taken_from().empty();
    // A date that failed before: what dead-lettered is delivered again as the day settles.
    auto replayed = replay_dead_letters(*opt.store, date);
    if (!replayed) return pipeline::fail(replayed.error().with("date", date.to_string()));
    auto report = run_demo(d);
    if (!report) return pipeline::fail(report.error().with("date", date.to_string()));
    // Keep the per-date summary small: what ran, the tables, and the Phase 5 batch, taken
    // from the demo's own JSON so the stored row keeps the summary's schema.
    const auto& p5 = report->phase5;
    const json summary = to_json(*report);
    const json& p5_json = summary["phase5"];
    json day{{"runs_total", summary["runs_total"]},
             {"tables", summary["tables"]},
             {"phase5",
              {{"batch_id", p5_json["batch_id"]},
               {"state", p5_json["state"]},
               {"triggered_by", p5_json["triggered_by"]},
               {"predictions", p5_json["predictions"]},
               {"coverage", p5_json["coverage"]}}}};
    complete += p5.state == pipeline::BatchState::kComplete;
    refused += p5.state == pipeline::BatchState::kRefused;
    predictions += p5.predictions;
    if (const auto why = unfinished(*report); !why.empty()) {
      // Not marked done: a re-run runs the date again.
      ++failed;
      days.push_back(
          {{"date", date.to_string()}, {"status", "failed"}, {"reasons", why}, {"summary", std::move(day)}});
      if (opt.progress) opt.progress(i + 1, total, date, false);
      continue;
    }
    PIPELINE_TRY(opt.store->transact(
        [&](pipeline::Transaction& tx) -> pipeline::Status { return tx.put(backfill_done_key(date), day.dump()); }));
    ++ran;
    days.push_back({{"date", date.to_string()}, {"status", "ran"}, {"summary", std::move(day)}});
    if (opt.progress) opt.progress(i + 1, total, date, false);
  }
  const int remaining = total - ran - skipped - failed;
  return json{{"from", opt.from.to_string()},
              {"to", opt.to.to_string()},
              {"warehouse", warehouse_path},
              {"scraped", scraped_dir.empty() ? std::string("memory") : scraped_dir.string()},
              {"dates", total},
              {"ran", ran},
              {"skipped", skipped},
              {"failed", failed},
              {"remaining", remaining},
              {"complete", remaining == 0 && failed == 0},
              {"interrupted", interrupted},
              {"phase5", {{"batches_complete", complete}, {"batches_refused", refused}, {"predictions", predictions}}},
              {"days", std::move(days)}};
}

}  // namespace demo
