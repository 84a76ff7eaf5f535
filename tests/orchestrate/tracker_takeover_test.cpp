// A tracker's partial deadline or debounce timer armed by a process that died is decided
// by another live process (its periodic `check_deadlines`), and two live processes
// decide each wave once between them: memory store and SQLite (a connection each).

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "pipeline/alert/alert_manager.hpp"
#include "pipeline/alert/callback_sink.hpp"
#include "pipeline/core/manual_clock.hpp"
#include "pipeline/core/message_codec.hpp"
#include "pipeline/memory/memory_state_store.hpp"
#include "pipeline/orchestrate/completion_tracker.hpp"
#ifdef PIPELINE_TEST_HAVE_SQLITE
#include "pipeline/sqlite/sqlite_state_store.hpp"
#endif
#include "orchestrate/tracker_test_config.hpp"
#include "temp_dir.hpp"

namespace pipeline {
namespace tracker_takeover_test {

using std::chrono::minutes;

const CalendarDate kDate = *CalendarDate::parse("2025-11-18");

CompletionTrackerOptions config() { return testing::five_processor_config(); }

Message completion(const std::string& processor, const std::string& exec, ChangedEntities changes = EntityChanges{}) {
  Message m;
  m.processor_name = processor;
  m.phase = "phase2_raw";
  m.execution_id = exec;
  m.correlation_id = exec;
  m.partition_date = kDate;
  m.entities_changed = std::move(changes);
  return m;
}

/// One tracker process: its alert manager (recording) and tracker.
struct Process {
  Process(StateStore& store, ManualClock& clock)
      : alerts(AlertManager::create(
                   clock, {CallbackAlertSinkMt::create([this](const Alert& a) { raised.push_back(a); }).value()})
                   .value()) {
    auto options = config();
    options.alerts = alerts.get();
    auto t = CompletionTracker::create(clock, store, options);
    EXPECT_TRUE(t) << t.error().to_string();
    if (t) tracker = std::move(*t);
  }
  std::vector<Alert> raised;
  std::unique_ptr<AlertManager> alerts;
  std::unique_ptr<CompletionTracker> tracker;
};

class TrackerTakeoverTest : public ::testing::TestWithParam<std::string> {
 protected:
  StateStore& store_for(int process) {
#ifdef PIPELINE_TEST_HAVE_SQLITE
    if (GetParam() == "sqlite") {
      while (static_cast<int>(sqlite.size()) <= process) {
        auto s = SqliteStateStore::open(dir.file("state.db"));
        EXPECT_TRUE(s) << s.error().to_string();
        sqlite.push_back(std::move(*s));
      }
      return *sqlite[static_cast<std::size_t>(process)];
    }
#endif
    (void)process;
    return memory;
  }

  std::unique_ptr<Process> start(int process) { return std::make_unique<Process>(store_for(process), clock); }

  /// The trigger ids enqueued since the last call, in commit order (marked sent).
  std::vector<std::string> triggers() {
    auto rows = store_for(0).claim_outbox({"test", 100, clock.now(), minutes(1)});
    EXPECT_TRUE(rows);
    std::vector<std::string> out;
    for (const auto& r : *rows) out.push_back(r.entry.message.id);
    EXPECT_TRUE(store_for(0).complete_outbox(out));
    return out;
  }

  /// What the service runtime does on its timer: every 5 minutes, `check_deadlines` (which
  /// decides what is due and arms a timer in this process for what is not).
  void poll_until(Process& live, TimePoint until) {
    while (clock.now() < until) {
      clock.advance(minutes(5));
      auto d = live.tracker->check_deadlines();
      EXPECT_TRUE(d) << d.error().to_string();
    }
  }

  testing::TempDir dir;
  ManualClock clock;
  MemoryStateStore memory = MemoryStateStore::create().value();
#ifdef PIPELINE_TEST_HAVE_SQLITE
  std::vector<std::unique_ptr<SqliteStateStore>> sqlite;
#endif
};

TEST_P(TrackerTakeoverTest, ADeadProcessesPartialDeadlineIsDecidedByTheLiveOne) {
  const TimePoint t0 = clock.now();
  auto owner = start(0);
  auto live = start(1);
  for (auto p : {"a", "b", "c"}) ASSERT_TRUE(owner->tracker->record_completion(completion(p, std::string("x-") + p)));
  clock.advance(minutes(10));
  owner.reset();  // the process that armed the 30-minute timer dies
  poll_until(*live, t0 + minutes(45));
  EXPECT_EQ(triggers(), (std::vector<std::string>{"phase3/2025-11-18/w0"}));
  auto st = live->tracker->status(kDate);
  ASSERT_TRUE(st);
  ASSERT_EQ(st->waves.size(), 1u);
  EXPECT_TRUE(st->waves[0].partial);
  EXPECT_EQ(st->waves[0].triggered_at, t0 + minutes(30)) << "decided at its deadline, not when the owner returns";
  EXPECT_EQ(live->raised.size(), 1u) << "the partial-trigger warning, raised by the live process";
}

TEST_P(TrackerTakeoverTest, TwoLiveProcessesDecideTheDeadlineOnceAndAlertOnce) {
  auto owner = start(0);
  auto live = start(1);
  for (auto p : {"a", "b", "c"}) ASSERT_TRUE(owner->tracker->record_completion(completion(p, std::string("x-") + p)));
  // The live one checks before the deadline: it arms a timer of its own beside the owner's.
  auto none = live->tracker->check_deadlines();
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
  clock.advance(minutes(45));
  EXPECT_EQ(triggers(), (std::vector<std::string>{"phase3/2025-11-18/w0"}));
  EXPECT_EQ(owner->raised.size() + live->raised.size(), 1u) << "one partial-trigger warning between them";
}

TEST_P(TrackerTakeoverTest, ADeadProcessesDebounceWaveIsDecidedByTheLiveOne) {
  auto owner = start(0);
  auto live = start(1);
  for (auto p : {"a", "b", "c", "d", "e"})
    ASSERT_TRUE(owner->tracker->record_completion(completion(p, std::string("x-") + p)));
  clock.advance(minutes(60));
  // A late change opens wave 1 with a 5-minute debounce; its process dies at once.
  auto late = owner->tracker->record_completion(completion("c", "late-1", EntityChanges{{"players", {"p7"}}}));
  ASSERT_TRUE(late);
  EXPECT_EQ(late->wave, 1);
  owner.reset();
  const TimePoint opened = clock.now();
  EXPECT_EQ(triggers(), (std::vector<std::string>{"phase3/2025-11-18/w0"}));
  poll_until(*live, opened + minutes(10));
  EXPECT_EQ(triggers(), (std::vector<std::string>{"phase3/2025-11-18/w1"}));
  auto st = live->tracker->status(kDate);
  ASSERT_TRUE(st);
  ASSERT_EQ(st->waves.size(), 2u);
  EXPECT_EQ(st->waves[1].triggered_at, opened + minutes(5));
}

#ifdef PIPELINE_TEST_HAVE_SQLITE
INSTANTIATE_TEST_SUITE_P(Stores, TrackerTakeoverTest, ::testing::Values("memory", "sqlite"),
                         [](const auto& info) { return info.param; });
#else
INSTANTIATE_TEST_SUITE_P(Stores, TrackerTakeoverTest, ::testing::Values("memory"),
                         [](const auto& info) { return info.param; });
#endif

}  // namespace tracker_takeover_test
}  // namespace pipeline
