// Backfills as separate processes on one SQLite file.
//
// Kill -9 in the middle of a backfill date: a child backfills one date on a SQLite file
// and SIGKILLs itself at a chosen store call; the parent reopens the file and the
// warehouse and backfills again. The end state must equal an uninterrupted backfill's:
// the date done, the same decisions (tracker waves and their trigger statuses, one
// Phase 5 batch), the same runs and the same warehouse tables.
//
// Two operators at once: two processes backfill the same dates on one store; the end
// state must equal one backfill's (no extra wave, no second or refused batch).
//
// The kill points are drawn from the seed (PIPELINE_TEST_SEED replaces it), one in each
// equal slice of the uninterrupted run's store calls, so the early, middle and late
// parts of the day are all hit.

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <iterator>
#include <map>
#include <random>
#include <regex>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "child_process.hpp"
#include "demo_driver/backfill.hpp"
#include "pipeline/mocks/counting_state_store.hpp"
#include "pipeline/sqlite/sqlite_state_store.hpp"
#include "temp_dir.hpp"
#include "test_seed.hpp"

namespace backfill_crash_test {

using nlohmann::json;
using pipeline::mocks::CountingStateStore;
using pipeline::mocks::StoreCall;
using pipeline::testing::TempDir;

const pipeline::CalendarDate kDate = *pipeline::CalendarDate::parse("2025-11-18");

/// Backfills kDate .. `to` in `dir` (store `dir/state.db`, warehouse and scraped files
/// beside it). A positive `kill_at` SIGKILLs the process at that store call; `calls` gets
/// the count.
pipeline::Result<json> backfill(const std::filesystem::path& dir, long kill_at, long* calls = nullptr,
                                pipeline::CalendarDate to = kDate) {
  auto real = pipeline::SqliteStateStore::open((dir / "state.db").string());
  if (!real) return pipeline::fail(real.error());
  CountingStateStore store(**real, {.on_operation = [&](const StoreCall& c) {
                                      if (calls != nullptr) *calls = c.index;
                                      if (c.index == kill_at) ::kill(::getpid(), SIGKILL);
                                    }});
  demo::BackfillOptions o;
  o.from = kDate;
  o.to = to;
  o.store = &store;
  o.work_dir = dir;
  return demo::run_backfill(o);
}

/// What a finished date leaves, independent of when things ran: every row key but the
/// ones that record time-dependent bookkeeping, with the values of the decisions.
struct EndState {
  json day;                                      // the stored backfill summary of kDate
  std::map<std::string, json> days;              // every date's: date -> summary
  std::map<std::string, std::string> decisions;  // tracker decision rows: key -> value
  std::vector<std::string> keys;                 // every row key
};

EndState end_state(const std::filesystem::path& dir) {
  EndState s;
  auto store = pipeline::SqliteStateStore::open((dir / "state.db").string());
  EXPECT_TRUE(store) << store.error().to_string();
  if (!store) return s;
  auto rows = (*store)->read([](pipeline::Transaction& tx) { return tx.scan(""); });
  EXPECT_TRUE(rows) << rows.error().to_string();
  if (!rows) return s;
  // Each run of the day fires a fresh Phase 1 trigger (a UUID), so a scraper's consumer
  // marker is there once per run of the day: markers are compared with the UUID blanked
  // out, as a set.
  static const std::regex uuid("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}");
  // A processor's completion id ends with its run's attempt ("<processor>/<date>/w0/a1"):
  // a run killed before it recorded its success runs again as the next attempt, so the
  // marker of its consumer names a2. Compared without the attempt; each consumer must
  // still have consumed ONE attempt of each completion (two would be a run that succeeded
  // twice).
  static const std::regex attempt("^(consumed/.*/w[0-9]+)/a[0-9]+$");
  std::map<std::string, int> attempts_consumed;
  for (const auto& r : *rows) {
    std::string key = std::regex_replace(r.key, uuid, "<uuid>");
    if (std::regex_match(key, attempt)) {
      key = std::regex_replace(key, attempt, "$1/a<n>");
      EXPECT_EQ(++attempts_consumed[key], 1) << key << ": consumed under two attempts";
    }
    s.keys.push_back(std::move(key));
    if (r.key == demo::backfill_done_key(kDate)) s.day = json::parse(r.value, nullptr, false);
    if (r.key.starts_with("backfill/done/")) s.days[r.key] = json::parse(r.value, nullptr, false);
    if (r.key.starts_with("tracker/") && r.key.find("/decision/") != std::string::npos) s.decisions[r.key] = r.value;
  }
  s.keys.erase(std::unique(s.keys.begin(), s.keys.end()), s.keys.end());
  return s;
}

/// Every row key of `expected` and no other.
void expect_same_keys(const EndState& got, const EndState& expected) {
  std::vector<std::string> extra, missing;
  std::set_difference(got.keys.begin(), got.keys.end(), expected.keys.begin(), expected.keys.end(),
                      std::back_inserter(extra));
  std::set_difference(expected.keys.begin(), expected.keys.end(), got.keys.begin(), got.keys.end(),
                      std::back_inserter(missing));
  EXPECT_TRUE(extra.empty() && missing.empty())
      << "extra rows: " << json(extra).dump() << "; missing rows: " << json(missing).dump();
}

TEST(BackfillCrash, AKillInTheMiddleOfADateEndsAsAnUninterruptedBackfillDoes) {
  TempDir root;
  const std::filesystem::path clean_dir = root.path() / "clean";
  std::filesystem::create_directories(clean_dir);
  long calls = 0;
  auto clean = backfill(clean_dir, -1, &calls);
  ASSERT_TRUE(clean) << clean.error().to_string();
  ASSERT_EQ((*clean)["ran"], 1) << clean->dump();
  const EndState expected = end_state(clean_dir);
  ASSERT_FALSE(expected.day.is_discarded());
  ASSERT_FALSE(expected.decisions.empty());
  ASSERT_GT(calls, 100) << "too few store calls to kill inside a date";

  constexpr int kKills = 6;
  std::mt19937 rng(pipeline::testing::test_seed(20251118));
  std::vector<long> kill_points;
  for (int i = 0; i < kKills; ++i) {  // one point in each sixth of the run
    std::uniform_int_distribution<long> in_slice(1 + calls * i / kKills, calls * (i + 1) / kKills);
    kill_points.push_back(in_slice(rng));
  }

  for (const long k : kill_points) {
    SCOPED_TRACE("killed at store call " + std::to_string(k) + " of " + std::to_string(calls));
    const std::filesystem::path dir = root.path() / ("k" + std::to_string(k));
    std::filesystem::create_directories(dir);
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      auto r = backfill(dir, k);
      ::_exit(r ? 0 : 3);
    }
    const auto waited = pipeline::testing::wait_child(pid, std::chrono::minutes(2));
    ASSERT_TRUE(waited) << "the child did not end within the deadline";
    ASSERT_TRUE(pipeline::testing::killed_by_sigkill(*waited))
        << "the child was to be killed, but " << pipeline::testing::describe_status(*waited);

    // The restart: a new process (here, this one) reopens the same files.
    auto again = backfill(dir, -1);
    ASSERT_TRUE(again) << again.error().to_string();
    ASSERT_EQ((*again)["ran"], 1) << again->dump(2);
    const EndState got = end_state(dir);
    // runs_total counts what the last call ran, so it differs by design; the tables and
    // the Phase 5 batch are the end state.
    EXPECT_EQ(got.day["tables"], expected.day["tables"]);
    EXPECT_EQ(got.day["phase5"], expected.day["phase5"]);
    EXPECT_EQ(got.decisions, expected.decisions) << "the same waves, decided once each";
    expect_same_keys(got, expected);  // no extra wave, batch or run row
  }
  std::cout << "[ crash    ] " << kKills << " kills inside a backfill date of " << calls << " store calls\n";
}

TEST(BackfillConcurrent, TwoBackfillsOfTheSameDatesOnOneStoreEndAsOneBackfillDoes) {
  const pipeline::CalendarDate last = kDate.plus_days(2);
  TempDir root;
  const std::filesystem::path one_dir = root.path() / "one", two_dir = root.path() / "two";
  std::filesystem::create_directories(one_dir);
  std::filesystem::create_directories(two_dir);
  auto single = backfill(one_dir, -1, nullptr, last);
  ASSERT_TRUE(single) << single.error().to_string();
  ASSERT_EQ((*single)["ran"], 3) << single->dump();
  const EndState expected = end_state(one_dir);
  ASSERT_EQ(expected.days.size(), 3u);

  // Two operators start the same range on one store at the same moment.
  std::vector<pid_t> children;
  for (int i = 0; i < 2; ++i) {
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      auto r = backfill(two_dir, -1, nullptr, last);
      // Every date ends done, run by one of the two: here or skipped as done there.
      const bool ok = r && (*r)["complete"] == true && (*r)["failed"] == 0 &&
                      (*r)["phase5"]["batches_refused"] == 0;
      if (!ok) std::cerr << (r ? r->dump(2) : r.error().to_string()) << "\n";
      ::_exit(ok ? 0 : 3);
    }
    children.push_back(pid);
  }
  for (const pid_t pid : children) {
    const auto waited = pipeline::testing::wait_child(pid, std::chrono::minutes(3));
    ASSERT_TRUE(waited) << "a backfill did not end within the deadline";
    EXPECT_TRUE(pipeline::testing::exited_cleanly(*waited)) << pipeline::testing::describe_status(*waited);
  }
  const EndState got = end_state(two_dir);
  ASSERT_EQ(got.days.size(), 3u);
  for (const auto& [key, day] : expected.days) {
    SCOPED_TRACE(key);
    ASSERT_TRUE(got.days.count(key));
    EXPECT_EQ(got.days.at(key)["tables"], day["tables"]);
    EXPECT_EQ(got.days.at(key)["phase5"], day["phase5"]) << "one batch per date, none refused";
  }
  EXPECT_EQ(got.decisions, expected.decisions) << "no extra wave: each decided once";
  expect_same_keys(got, expected);
}

}  // namespace backfill_crash_test
