// kill -9 at random points, several processes on one database: two trackers record
// every completion of several dates (each its own shuffled order, so both deliver every
// message: duplicates) while a relay publishes the outbox. Killed processes are
// restarted, as a supervisor would. Afterwards every date is decided once, every trigger
// was published with its stable id, and every completion a process saw committed is in
// the store.
#include <signal.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "child_process.hpp"
#include "pipeline/core/manual_clock.hpp"
#include "pipeline/orchestrate/completion_tracker.hpp"
#include "postgres/postgres_server.hpp"
#include "temp_dir.hpp"
#include "test_seed.hpp"

namespace postgres_crash_test {

using pipeline::testing::append_line;
using pipeline::testing::read_lines;

constexpr int kDates = 4;
constexpr int kUpstream = 8;

pipeline::CompletionTrackerOptions config() {
  pipeline::CompletionTrackerOptions c;
  c.name = "phase3";
  c.upstream_phase = "phase2_raw";
  c.downstream_phase = "phase3_analytics";
  c.trigger_topic = "test-phase3-trigger";
  c.deadline = std::nullopt;  // only complete dates trigger
  (void)c.registry.add_processor("x", "p3");
  for (int i = 0; i < kUpstream; ++i) {
    const std::string p = "p" + std::to_string(i);
    c.expected.push_back(p);
    (void)c.registry.add_processor(p, "p2");
    (void)c.registry.add_trigger(p, {"x"});
  }
  return c;
}

pipeline::CalendarDate date_of(int d) { return pipeline::CalendarDate::parse("2025-11-18")->plus_days(d); }

pipeline::Result<std::unique_ptr<pipeline::PostgresStateStore>> open(const std::string& prefix) {
  pipeline::PostgresStateStoreOptions o;
  o.table_prefix = prefix;
  return pipeline::PostgresStateStore::open(pipeline::testing::postgres_uri(), o);
}

// A tracker process: records every completion in its own order; after each commit it
// logs "<date> <processor>". Exits 0 when all are recorded.
[[noreturn]] void tracker_process(const std::string& prefix, const std::string& log, unsigned seed) {
  auto store = open(prefix);
  if (!store) ::_exit(3);
  pipeline::ManualClock clock;
  auto tracker = pipeline::CompletionTracker::create(clock, **store, config());
  if (!tracker) ::_exit(4);
  std::vector<std::pair<int, int>> work;
  for (int d = 0; d < kDates; ++d)
    for (int p = 0; p < kUpstream; ++p) work.emplace_back(d, p);
  std::shuffle(work.begin(), work.end(), std::mt19937(seed));
  for (auto [d, p] : work) {
    pipeline::Message m;
    m.processor_name = "p" + std::to_string(p);
    m.phase = "phase2_raw";
    m.execution_id = "exec-" + std::to_string(d) + "-" + std::to_string(p);
    m.correlation_id = "corr";
    m.partition_date = date_of(d);
    for (;;) {
      auto r = (*tracker)->record_completion(m);
      if (r) break;
      if (r.error().code != pipeline::ErrorCode::kUnavailable && r.error().code != pipeline::ErrorCode::kConflict)
        ::_exit(5);
    }
    append_line(log, date_of(d).to_string() + " " + m.processor_name);
  }
  ::_exit(0);
}

// A relay process: claims with a short lease, logs each id it "publishes", completes it.
[[noreturn]] void relay_process(const std::string& prefix, const std::string& log) {
  auto store = open(prefix);
  if (!store) ::_exit(3);
  for (;;) {
    auto rows = (*store)->claim_outbox({"relay-" + std::to_string(::getpid()), 4, std::chrono::system_clock::now(),
                                       std::chrono::milliseconds(200)});
    if (!rows) continue;
    std::vector<std::string> keys;
    for (const auto& r : *rows) {
      append_line(log, r.entry.message.id);
      keys.push_back(r.entry.outbox_key());
    }
    if (!keys.empty()) (void)(*store)->complete_outbox(keys);
  }
}

TEST(PostgresCrash, KilledTrackersAndRelayDecideOncePublishEveryTriggerAndLoseNothing) {
  const unsigned seed = pipeline::testing::test_seed(2112);
  std::mt19937 rng(seed);
  const std::string prefix = pipeline::testing::fresh_prefix();
  ASSERT_TRUE(open(prefix)) << "cannot open the store";
  pipeline::testing::TempDir dir;
  const std::string recorded = dir.file("recorded.log"), published = dir.file("published.log");

  // Children: 0 and 1 trackers, 2 the relay.
  auto spawn = [&](int role) -> pid_t {
    const unsigned child_seed = rng();
    const pid_t pid = ::fork();
    if (pid == 0) {
      if (role == 2) relay_process(prefix, published);
      tracker_process(prefix, recorded, child_seed);
    }
    return pid;
  };
  std::vector<pid_t> pids = {spawn(0), spawn(1), spawn(2)};
  for (pid_t p : pids) ASSERT_GT(p, 0);

  // Kill a random child once the logs have grown past a random mark, then restart it.
  int kills = 0;
  for (int round = 0; round < 6; ++round) {
    const std::size_t mark = read_lines(recorded).size() + 1 + rng() % 4;
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (read_lines(recorded).size() < mark && std::chrono::steady_clock::now() < give_up) {
      int status = 0;
      for (int role = 0; role < 2; ++role)  // a tracker that finished is not restarted
        if (pids[role] > 0 && ::waitpid(pids[role], &status, WNOHANG) == pids[role]) {
          ASSERT_TRUE(pipeline::testing::exited_cleanly(status)) << pipeline::testing::describe_status(status);
          pids[role] = 0;
        }
      if (pids[0] == 0 && pids[1] == 0) break;
      ::sched_yield();
    }
    if (pids[0] == 0 && pids[1] == 0) break;
    int role = static_cast<int>(rng() % 3);
    if (pids[role] == 0) role = 2;
    ::kill(pids[role], SIGKILL);
    auto st = pipeline::testing::wait_child(pids[role]);
    ASSERT_TRUE(st.has_value());
    ++kills;
    pids[role] = spawn(role);
  }
  for (int role = 0; role < 2; ++role)
    if (pids[role] > 0) {
      auto st = pipeline::testing::wait_child(pids[role], std::chrono::seconds(120));
      ASSERT_TRUE(st.has_value()) << "a tracker hung";
      EXPECT_TRUE(pipeline::testing::exited_cleanly(*st)) << pipeline::testing::describe_status(*st);
    }
  auto store = open(prefix);
  ASSERT_TRUE(store);
  // The relay drains what is left, then stops.
  const bool drained = [&] {
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::chrono::steady_clock::now() < give_up) {
      auto pending = (*store)->pending_outbox();
      if (pending && *pending == 0) return true;
      ::sched_yield();
    }
    return false;
  }();
  ::kill(pids[2], SIGKILL);
  (void)pipeline::testing::wait_child(pids[2]);
  ASSERT_TRUE(drained) << "the outbox was not drained";
  EXPECT_GE(kills, 1);

  // Nothing committed is lost: every completion a tracker saw committed is done.
  std::map<std::string, std::set<std::string>> logged;
  for (const auto& line : read_lines(recorded)) logged[line.substr(0, 10)].insert(line.substr(11));
  // Decided once: one wave and one trigger per date.
  std::set<std::string> expected_ids;
  for (int d = 0; d < kDates; ++d) {
    const auto date = date_of(d);
    expected_ids.insert("phase3/" + date.to_string() + "/w0");
    auto status = pipeline::CompletionTracker::load_status(**store, "phase3", date);
    ASSERT_TRUE(status) << status.error().to_string();
    EXPECT_EQ(status->done.size(), static_cast<std::size_t>(kUpstream)) << date.to_string();
    EXPECT_EQ(status->waves.size(), 1u) << date.to_string();
    for (const auto& p : logged[date.to_string()])
      EXPECT_NE(std::find(status->done.begin(), status->done.end(), p), status->done.end()) << p;
  }
  pipeline::testing::PgAdmin admin(pipeline::testing::postgres_uri());
  EXPECT_EQ(admin.exec("SELECT count(*) FROM \"" + prefix + "outbox\""), std::to_string(kDates));
  // Published at least once each, with its stable id, and nothing else.
  std::set<std::string> seen;
  for (const auto& id : read_lines(published)) seen.insert(id);
  EXPECT_EQ(seen, expected_ids);
  admin.drop_tables(prefix);
}

}  // namespace postgres_crash_test
