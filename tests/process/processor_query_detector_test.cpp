// Processor with a detector that reads its own source (QueryChangeDetector): no snapshot
// is taken, and the query's ids are what the run processes.
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "pipeline/change/query_change_detector.hpp"
#include "pipeline/core/manual_clock.hpp"
#include "pipeline/memory/memory_state_store.hpp"
#include "pipeline/process/processor.hpp"

namespace pipeline {
namespace processor_query_detector_test {

const CalendarDate kDate = *CalendarDate::parse("2025-11-18");

class ListRunner final : public ChangeQueryRunner {
 public:
  std::vector<ChangeQueryRow> rows;
  Result<std::vector<ChangeQueryRow>> changed_entities(std::string_view, std::span<const QueryParam>) override {
    return rows;
  }
};

/// Processes what it is asked to; keeps the default `snapshot` (which fails), so a run that
/// asked for a snapshot would fall back to processing everything.
class Summaries final : public Processor {
 public:
  using Processor::Processor;
  std::vector<std::string> processed;
  bool full = false;

 protected:
  Result<ProcessResult> process(const ProcessRequest& req) override {
    full = req.full();
    processed = req.changes.ids_to_process();
    ProcessResult r;
    r.record_count = static_cast<std::int64_t>(processed.size());
    return r;
  }
};

TEST(ProcessorWithQueryDetector, TakesNoSnapshotAndProcessesOnlyWhatTheQueryReports) {
  ManualClock clock;
  MemoryStateStore store = MemoryStateStore::create().value();
  RunHistory history = RunHistory::create(clock, store).value();
  ListRunner runner;
  runner.rows = {{"p2", "changed"}, {"p1", "added"}};
  auto detector = QueryChangeDetector::create(runner, {"players", "SELECT id FROM diff WHERE d = :date", {}});
  ASSERT_TRUE(detector) << detector.error().to_string();
  ProcessorOptions options{"player_summary", "phase3", "t", "player_summary", "analytics"};
  options.detector = &*detector;
  auto created = Processor::create<Summaries>(clock, store, history, options);
  ASSERT_TRUE(created) << created.error().to_string();
  Summaries& proc = **created;
  auto report = proc.run(kDate);
  ASSERT_TRUE(report) << report.error().to_string();
  EXPECT_EQ(report->outcome, RunOutcome::kCompleted);
  EXPECT_FALSE(report->full);
  EXPECT_FALSE(proc.full);
  EXPECT_EQ(proc.processed, (std::vector<std::string>{"p1", "p2"}));
  ASSERT_TRUE(report->completion);
  EXPECT_FALSE(report->completion->metadata->contains("change_detection_fallback"));
}

}  // namespace processor_query_detector_test
}  // namespace pipeline
