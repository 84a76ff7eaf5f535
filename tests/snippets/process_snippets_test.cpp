// The example of include/pipeline/process/ (`@snippet process_snippets_test.cpp <tag>`).

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "pipeline/change/query_change_detector.hpp"
#include "pipeline/core/manual_clock.hpp"
#include "pipeline/memory/memory_state_store.hpp"
#include "pipeline/orchestrate/run_history.hpp"
#include "pipeline/process/processor.hpp"

namespace pipeline::process_snippets_test {
namespace {

//! [processor]
class PlayerGameSummary final : public pipeline::Processor {
 public:
  using Processor::Processor;  // (CreateKey, Clock&, StateStore&, RunHistory&, ProcessorOptions)

 protected:
  pipeline::Result<pipeline::ProcessResult> process(const pipeline::ProcessRequest& req) override {
    auto filter = req.sql_filter("player_id");          // bound values, never pasted ids
    if (!filter) return pipeline::fail(filter.error());
    return upsert_summaries(req.date, *filter);         // idempotent upserts
  }
//! [processor]

 private:
  pipeline::Result<pipeline::ProcessResult> upsert_summaries(pipeline::CalendarDate, const pipeline::SqlFilter& filter) {
    filters.push_back(filter);
    pipeline::ProcessResult r;
    r.record_count = static_cast<std::int64_t>(filter.parameters.size());
    return r;
  }

 public:
  std::vector<pipeline::SqlFilter> filters;   // what each run would have read
};

// A warehouse whose diff says two players changed.
class TwoChanged final : public pipeline::ChangeQueryRunner {
  pipeline::Result<std::vector<pipeline::ChangeQueryRow>> changed_entities(
      std::string_view, std::span<const pipeline::QueryParam>) override {
    return std::vector<pipeline::ChangeQueryRow>{{"curry", "changed"}, {"lebron-james", "added"}};
  }
};

TEST(ProcessSnippets, Processor) {
  pipeline::ManualClock clock;
  pipeline::MemoryStateStore store = pipeline::MemoryStateStore::create().value();
  auto history = pipeline::RunHistory::create(clock, store).value();
  TwoChanged runner;
  auto detector = pipeline::QueryChangeDetector::create(runner, {"players", "SELECT id FROM diff WHERE d = :date", {}});
  ASSERT_TRUE(detector) << detector.error().to_string();
  pipeline::ProcessorOptions options{"player_game_summary", "phase3_analytics", "acme-phase3-complete",
                                     "player_game_summary", "analytics"};
  options.detector = &*detector;
  //! [processor_create]
  auto summary = pipeline::Processor::create<PlayerGameSummary>(clock, store, history, options);
  ASSERT_TRUE(summary) << summary.error().to_string();  // kInvalidArgument names a bad option
  auto report = (*summary)->run(*pipeline::CalendarDate::parse("2025-11-18"));
  //! [processor_create]
  ASSERT_TRUE(report) << report.error().to_string();
  EXPECT_EQ(report->outcome, pipeline::RunOutcome::kCompleted);
  ASSERT_EQ((*summary)->filters.size(), 1u);
  EXPECT_EQ((*summary)->filters[0].parameters, (std::vector<std::string>{"curry", "lebron-james"}));
  EXPECT_EQ(report->completion->record_count, 2);
}

}  // namespace
}  // namespace pipeline::process_snippets_test
