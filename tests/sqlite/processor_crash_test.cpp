// Kill -9 inside Processor::run: a child runs one processor on a SQLite file and SIGKILLs
// itself at its k-th store call, for every k the run makes; the parent reopens the file
// after the lease expired and runs again. Each time the end state must equal an
// uninterrupted run's: the run succeeded once, one success completion is committed, and
// the step ran again only when the kill came before the success was recorded.

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <iostream>
#include <string>

#include <gtest/gtest.h>

#include "child_process.hpp"
#include "pipeline/core/manual_clock.hpp"
#include "pipeline/core/message_codec.hpp"
#include "pipeline/mocks/counting_state_store.hpp"
#include "pipeline/orchestrate/run_history.hpp"
#include "pipeline/process/processor.hpp"
#include "pipeline/sqlite/sqlite_state_store.hpp"
#include "temp_dir.hpp"

namespace pipeline::processor_crash_test {

using mocks::CountingStateStore;
using mocks::StoreCall;
using testing::append_line;
using testing::read_lines;
using testing::TempDir;

const CalendarDate kDate = *CalendarDate::parse("2025-11-18");

/// A step whose one effect is a line in a file (fsynced): how the test counts step runs.
class LoggingProcessor final : public Processor {
 public:
  LoggingProcessor(CreateKey key, Clock& clock, StateStore& store, RunHistory& history, std::string steps_log)
      : Processor(key, clock, store, history,
                  ProcessorOptions{"daily_summary", "phase3", "crash-complete", "summary", "analytics"}),
        steps_log_(std::move(steps_log)) {}

 protected:
  Result<ProcessResult> process(const ProcessRequest& req) override {
    if (!append_line(steps_log_, req.date.to_string(), true)) return fail(ErrorCode::kUnavailable, "step log");
    ProcessResult r;
    r.record_count = 3;
    return r;
  }

 private:
  std::string steps_log_;
};

/// One run on `db`; a non-negative `kill_at` SIGKILLs the process at that store call.
/// Returns the run's outcome, or an error; counts the store calls in `calls`.
Result<RunOutcome> run_once(const std::string& db, const std::string& steps_log, TimePoint now, long kill_at,
                            long* calls = nullptr) {
  auto real = SqliteStateStore::open(db);
  if (!real) return fail(real.error());
  CountingStateStore store(**real, {.on_operation = [&](const StoreCall& c) {
                                      if (calls != nullptr) *calls = c.index;
                                      if (c.index == kill_at) ::kill(::getpid(), SIGKILL);
                                    }});
  ManualClock clock(now);
  auto history = RunHistory::create(clock, store);
  if (!history) return fail(history.error());
  auto processor = Processor::create<LoggingProcessor>(clock, store, *history, steps_log);
  if (!processor) return fail(processor.error());
  auto report = (*processor)->run(kDate);
  if (!report) return fail(report.error());
  return report->outcome;
}

struct EndState {
  std::size_t completions = 0;  // success completions committed to the outbox
  std::int64_t records = -1;
  bool succeeded = false;
};

EndState end_state(const std::string& db) {
  EndState s;
  auto store = SqliteStateStore::open(db);
  EXPECT_TRUE(store);
  if (!store) return s;
  auto rows = (*store)->claim_outbox({"inspector", 1000, ManualClock::kDefaultStart + std::chrono::hours(100),
                                     std::chrono::minutes(1)});
  EXPECT_TRUE(rows);
  if (rows) {
    for (const auto& r : *rows) {
      auto m = decode_message(r.entry.message.payload);
      EXPECT_TRUE(m) << m.error().to_string();
      if (m && m->status == CompletionStatus::kSuccess) {
        ++s.completions;
        s.records = m->record_count;
      }
    }
  }
  ManualClock clock(ManualClock::kDefaultStart + std::chrono::hours(100));
  RunHistory history = RunHistory::create(clock, **store).value();
  auto rec = history.get({"daily_summary", kDate, 0});
  EXPECT_TRUE(rec) << rec.error().to_string();
  s.succeeded = rec && *rec && (*rec)->state == RunState::kSuccess;
  return s;
}

TEST(ProcessorCrash, AKillAtAnyStoreCallOfARunEndsAsAnUninterruptedRunDoes) {
  TempDir dir;
  // The uninterrupted run: how many store calls it makes, and its end state.
  const std::string clean_db = dir.file("clean.db"), clean_steps = dir.file("clean.steps");
  long calls = 0;
  auto clean = run_once(clean_db, clean_steps, ManualClock::kDefaultStart, -1, &calls);
  ASSERT_TRUE(clean) << clean.error().to_string();
  ASSERT_EQ(*clean, RunOutcome::kCompleted);
  ASSERT_GT(calls, 2) << "too few store calls to kill inside";
  const EndState expected = end_state(clean_db);
  ASSERT_TRUE(expected.succeeded);
  ASSERT_EQ(expected.completions, 1u);
  ASSERT_EQ(read_lines(clean_steps).size(), 1u);

  int reran = 0, answered = 0;
  for (long k = 1; k <= calls; ++k) {
    SCOPED_TRACE("killed at store call " + std::to_string(k));
    const std::string db = dir.file("k" + std::to_string(k) + ".db"), steps = dir.file("k" + std::to_string(k) + ".steps");
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      auto r = run_once(db, steps, ManualClock::kDefaultStart, k);
      ::_exit(r ? 0 : 3);
    }
    const auto waited = testing::wait_child(pid);
    ASSERT_TRUE(waited) << "the child did not end within the deadline";
    ASSERT_TRUE(WIFSIGNALED(*waited) && WTERMSIG(*waited) == SIGKILL)
        << "the child was to be killed, but " << testing::describe_status(*waited);
    const std::size_t steps_before = read_lines(steps).size();

    // Restart an hour later: any lease the killed run held has expired.
    auto again = run_once(db, steps, ManualClock::kDefaultStart + std::chrono::hours(1), -1);
    ASSERT_TRUE(again) << again.error().to_string();
    const EndState got = end_state(db);
    EXPECT_TRUE(got.succeeded);
    EXPECT_EQ(got.completions, expected.completions) << "one success completion, whatever the kill";
    EXPECT_EQ(got.records, expected.records);
    const std::size_t steps_after = read_lines(steps).size();
    if (*again == RunOutcome::kCompleted) {
      ++reran;
      EXPECT_EQ(steps_after, steps_before + 1) << "a killed run runs again";
    } else {
      ++answered;
      EXPECT_EQ(*again, RunOutcome::kAlreadyDone);
      EXPECT_EQ(steps_after, steps_before) << "a run whose success was committed does not run again";
      EXPECT_EQ(steps_before, 1u);
    }
  }
  std::cout << "[ crash    ] " << calls << " kill points: " << reran << " ran again, " << answered
            << " answered as already done\n";
  EXPECT_GT(reran, 0);
}

}  // namespace pipeline::processor_crash_test
