// Retention over the memory store: what goes (old, decided, sent), what stays whatever its
// age (live, unsent, undated), and that age is by game date, not by the wall clock.
#include <chrono>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "pipeline/alert/store_alert_sink.hpp"
#include "pipeline/coordinate/batch_records.hpp"
#include "pipeline/core/manual_clock.hpp"
#include "pipeline/memory/memory_state_store.hpp"
#include "pipeline/orchestrate/dead_letter_recorder.hpp"
#include "pipeline/orchestrate/run_history.hpp"
#include "pipeline/runtime/retention.hpp"

namespace pipeline {
namespace retention_test {

using std::chrono::hours;

const CalendarDate kFirst = *CalendarDate::parse("2025-11-01");

/// A store holding `days` game dates of finished work (every family), the newest last.
struct Rig {
  explicit Rig(int days) {
    for (int i = 0; i < days; ++i) add_finished_date(kFirst.plus_days(i));
  }

  void put(const std::string& key, const std::string& value) {
    EXPECT_TRUE(store.transact([&](Transaction& tx) { return tx.put(key, value); }));
  }

  void add_batch(CalendarDate d, BatchState state) {
    internal::BatchRecord rec;
    rec.batch_id = fmt::format("phase5-{}-b1", d);
    rec.number = 1;
    rec.state = state;
    put(fmt::format("phase5/batch/{}/0001", d), rec.encode());
  }

  void add_finished_date(CalendarDate d) {
    const std::string t = fmt::format("tracker/phase3/{}/", d);
    put(t + "exec/e1", "loader");
    put(t + "w000/first", "1");
    put(t + "w000/done/loader", "{}");
    put(t + "decision/w000", "{}");
    RunHistory history = RunHistory::create(clock, store).value();
    const RunKey run{"loader", d, 0};
    EXPECT_TRUE(history.try_start(run, "worker-1", hours(24)));
    EXPECT_TRUE(history.record_success(run, "worker-1"));
    put(fmt::format("process/loader/{}/w0/completion", d), "{}");
    put(fmt::format("consumed/analytics/phase3/{}/w0", d), "phase3-trigger");
    put(fmt::format("consumed/scraper/uuid-{}", i++), fmt::format("process/scraper/{}/w0/completion", d));
    add_batch(d, BatchState::kComplete);
    put(fmt::format("phase5/done/phase5-{}-b1", d), "complete");
    Alert alert;  // recorded under the game date its key names
    alert.key = fmt::format("coverage/phase5/{}", d);
    alert.message = "coverage 71%";
    alert.at = clock.now();
    EXPECT_TRUE(StoreAlertSink::create(store).value()->send(alert));
    // One outbox entry sent on the game date.
    EXPECT_TRUE(store.transact([&](Transaction& tx) -> Status {
      auto e = tx.enqueue({"topic", {fmt::format("msg/{}", d), "payload", {}}});
      if (!e) return fail(e.error());
      return ok();
    }));
    clock.advance_to(TimePoint(d.sys_days()) + hours(12));
    auto claimed = store.claim_outbox({"relay", 10, clock.now(), std::chrono::seconds(30)});
    EXPECT_TRUE(claimed);
    std::vector<std::string> keys;
    for (const auto& r : *claimed) keys.push_back(r.entry.outbox_key());
    EXPECT_TRUE(store.complete_outbox(keys));
  }

  std::size_t rows(const std::string& prefix = "") { return store.scan(prefix)->size(); }

  Result<RetentionReport> prune(Duration older_than, bool dry_run = false) {
    RetentionOptions options;
    options.older_than = older_than;
    options.dry_run = dry_run;
    auto r = Retention::create(clock, store, options);
    if (!r) return fail(r.error());
    return (*r)->run_once();
  }

  int i = 0;
  ManualClock clock{TimePoint(kFirst.sys_days())};
  MemoryStateStore store = MemoryStateStore::create().value();
};

TEST(Retention, DeletesEveryFamilysRowsOfDatesOlderThanTheWindowCountedFromTheNewestDate) {
  Rig rig(10);  // 2025-11-01 .. 2025-11-10
  const std::size_t per_date = rig.rows() / 10;
  auto r = rig.prune(hours(72));
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->newest->to_string(), "2025-11-10");
  EXPECT_EQ(r->oldest_kept->to_string(), "2025-11-07");  // the newest and the three before
  EXPECT_EQ(r->deleted.at("tracker"), 6u * 4);
  EXPECT_EQ(r->deleted.at("run_history"), 6u);
  EXPECT_EQ(r->deleted.at("process"), 6u);
  EXPECT_EQ(r->deleted.at("consumed"), 6u * 2);  // a marker with no date in its id is aged by its value
  EXPECT_EQ(r->deleted.at("phase5"), 6u * 2);
  EXPECT_EQ(r->deleted.at("alert"), 6u);
  EXPECT_EQ(r->outbox_deleted, 6u);
  EXPECT_TRUE(r->kept_live.empty());
  EXPECT_EQ(rig.rows(), per_date * 4);
  EXPECT_EQ(rig.rows("tracker/phase3/2025-11-06/"), 0u);
  EXPECT_EQ(rig.rows("tracker/phase3/2025-11-07/"), 4u);
  // A pruned outbox id is forgotten; a kept one is still deduplicated.
  auto again = rig.store.transact([&](Transaction& tx) -> Status {
    auto old_id = tx.enqueue({"topic", {"msg/2025-11-01", "p", {}}});
    auto kept_id = tx.enqueue({"topic", {"msg/2025-11-10", "p", {}}});
    EXPECT_TRUE(old_id && *old_id);
    EXPECT_TRUE(kept_id && !*kept_id);
    return ok();
  });
  EXPECT_TRUE(again);
}

TEST(Retention, AgeIsByGameDateSoAStoreLeftIdleKeepsItsRows) {
  Rig rig(5);
  ASSERT_TRUE(rig.prune(hours(72)));
  const std::size_t left = rig.rows();
  rig.clock.advance(hours(24 * 365));  // a year later, nothing new
  auto r = rig.prune(hours(72));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->total(), 0u);
  EXPECT_EQ(rig.rows(), left);
}

TEST(Retention, NeverDeletesUndecidedWavesLiveLeasesUndecidedBatchesUnsentEntriesOrUndatedRows) {
  Rig rig(10);
  const CalendarDate old = kFirst.plus_days(1);
  // A wave begun and not decided; another date with an armed deadline.
  rig.put(fmt::format("tracker/phase3/{}/w001/first", old), "1");
  rig.put(fmt::format("tracker/phase4/open/{}/w000", kFirst.plus_days(2)), "due");
  rig.put(fmt::format("tracker/phase4/{}/w000/first", kFirst.plus_days(2)), "1");
  // A run still leased (the clock is on the newest date; the lease runs 10 min).
  RunHistory history = RunHistory::create(rig.clock, rig.store).value();
  ASSERT_TRUE(history.try_start({"slow", old, 0}, "worker-2", hours(24)));
  // A batch still waiting; an entry never sent; rows naming no date.
  rig.add_batch(kFirst.plus_days(3), BatchState::kWaiting);
  ASSERT_TRUE(rig.store.transact([&](Transaction& tx) -> Status {
    auto e = tx.enqueue({"topic", {"unsent/2025-11-01", "p", {}}});
    if (!e) return fail(e.error());
    return ok();
  }));
  rig.put("trackers/phase3", "{}");
  rig.put("tracker/phase3/registry", "{}");

  auto r = rig.prune(hours(72));
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(rig.rows(fmt::format("tracker/phase3/{}/", old)), 5u);  // w000's four and w001/first
  EXPECT_EQ(rig.rows(fmt::format("tracker/phase4/")), 2u);
  EXPECT_EQ(r->kept_live.at("tracker"), 5u + 2u);
  ASSERT_TRUE(history.get({"slow", old, 0}).value().has_value());
  EXPECT_FALSE(history.get({"loader", old, 0}).value().has_value());  // finished: gone
  EXPECT_EQ(r->kept_live.at("run_history"), 1u);
  EXPECT_EQ(rig.rows(fmt::format("phase5/batch/{}/", kFirst.plus_days(3))), 1u);
  EXPECT_EQ(rig.rows(fmt::format("phase5/done/phase5-{}", kFirst.plus_days(3))), 1u);
  EXPECT_EQ(rig.store.pending_outbox().value(), 1u);
  EXPECT_EQ(rig.rows("trackers/"), 1u);
  EXPECT_EQ(rig.rows("tracker/phase3/registry"), 1u);

  // Once the lease ends and the wave and batch are decided, the next pass takes them.
  rig.clock.advance(hours(1));
  rig.put(fmt::format("tracker/phase3/{}/decision/w001", old), "{}");
  rig.add_batch(kFirst.plus_days(3), BatchState::kComplete);
  auto later = rig.prune(hours(72));
  ASSERT_TRUE(later);
  EXPECT_EQ(rig.rows(fmt::format("tracker/phase3/{}/", old)), 0u);
  EXPECT_EQ(rig.rows(fmt::format("phase5/batch/{}/", kFirst.plus_days(3))), 0u);
  EXPECT_FALSE(history.get({"slow", old, 0}).value().has_value());
  EXPECT_EQ(later->kept_live.count("run_history"), 0u);
}

TEST(Retention, DeadLettersStayForTheirRetentionAfterTheyWereRecorded) {
  Rig rig(20);  // newest 2025-11-20
  auto dead_letter = [&](const std::string& id, CalendarDate recorded_on) {
    DeadLetterRecord d;
    d.id = id;
    d.source_topic = "t";
    d.subscription = "s";
    d.recorded_at = TimePoint(recorded_on.sys_days()) + hours(12);
    rig.put(d.key(), d.to_json().dump());
  };
  dead_letter("young", kFirst.plus_days(15));  // 5 days before the newest date: kept (7 days)
  dead_letter("old", kFirst.plus_days(5));
  auto r = rig.prune(hours(72));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->deleted.at("dlq"), 1u);
  EXPECT_EQ(rig.rows("dlq/s/young"), 1u);
  EXPECT_EQ(rig.rows("dlq/s/old"), 0u);
}

TEST(Retention, ADryRunCountsWhatWouldGoAndDeletesNothing) {
  Rig rig(10);
  const std::size_t before = rig.rows();
  auto dry = rig.prune(hours(72), true);
  ASSERT_TRUE(dry);
  EXPECT_TRUE(dry->dry_run);
  EXPECT_FALSE(dry->outbox_deleted.has_value());
  EXPECT_EQ(rig.rows(), before);
  auto real = rig.prune(hours(72));
  ASSERT_TRUE(real);
  EXPECT_EQ(real->deleted, dry->deleted);
  EXPECT_EQ(real->to_json()["deleted"], dry->to_json()["deleted"]);
  EXPECT_EQ(dry->to_json()["outbox_deleted"], nullptr);
}

TEST(Retention, AnEmptyStoreHasNothingToAge) {
  Rig rig(0);
  auto r = rig.prune(hours(72));
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->newest.has_value());
  EXPECT_EQ(r->total(), 0u);
}

TEST(Retention, RefusesAWindowShorterThanTheRedeliveryHorizon) {
  Rig rig(1);
  RetentionOptions short_window;
  short_window.older_than = hours(24);
  auto r = Retention::create(rig.clock, rig.store, short_window);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(r.error().message.find("redelivery horizon"), std::string::npos) << r.error().message;
  RetentionOptions bad_prefix;
  bad_prefix.dated_prefixes = {"no-slash"};
  EXPECT_FALSE(Retention::create(rig.clock, rig.store, bad_prefix));
}

TEST(Retention, ParsesDurationsInDaysHoursAndMinutes) {
  EXPECT_EQ(parse_retention_duration("3d").value(), hours(72));
  EXPECT_EQ(parse_retention_duration("72h").value(), hours(72));
  EXPECT_EQ(parse_retention_duration("90m").value(), std::chrono::minutes(90));
  for (const char* bad : {"", "d", "3", "-3d", "0d", "3w", "3.5d", "3dd", " 3d"})
    EXPECT_FALSE(parse_retention_duration(bad)) << bad;
}

}  // namespace retention_test
}  // namespace pipeline
