// Processor::snapshot_for: change detection over the input the trigger names.
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "pipeline/core/ids.hpp"
#include "pipeline/core/manual_clock.hpp"
#include "pipeline/memory/memory_state_store.hpp"
#include "pipeline/process/processor.hpp"

namespace pipeline {
namespace processor_snapshot_test {

const CalendarDate kDate = *CalendarDate::parse("2025-11-18");

/// A raw processor whose input is the file its trigger names: here the trigger's
/// `metadata.report` ({player: status}) stands in for the file.
class ReportLoader final : public Processor {
 public:
  using Processor::Processor;
  std::vector<std::string> loaded;
  const Message* seen_trigger = nullptr;

 protected:
  Result<ProcessResult> process(const ProcessRequest& req) override {
    loaded = req.changes.ids_to_process();
    ProcessResult r;
    r.record_count = static_cast<std::int64_t>(loaded.size());
    return r;
  }
  Result<std::vector<EntitySnapshot>> snapshot_for(CalendarDate, const Message* trigger) override {
    seen_trigger = trigger;
    if (!trigger) return fail(ErrorCode::kInvalidArgument, "no trigger, no report");
    std::vector<EntitySnapshot> out;
    for (const auto& [id, status] : trigger->metadata->at("report").items())
      out.push_back({id, {{"status", status.get<std::string>()}}});
    return out;
  }
};

Message report_trigger(int wave, std::map<std::string, std::string> report) {
  Message m;
  m.processor_name = "injury_scraper";
  m.phase = "phase1_scrapers";
  m.execution_id = new_execution_id();
  m.partition_date = kDate;
  m.metadata = nlohmann::json{{"wave", wave}, {"report", report}};
  return m;
}

struct Fixture {
  ManualClock clock;
  MemoryStateStore store = MemoryStateStore::create().value();
  RunHistory history = RunHistory::create(clock, store).value();
  FingerprintChangeDetector detector = *ChangeDetector::create(store, FingerprintChangeDetectorOptions{"players", {"status"}, "change"});
  std::unique_ptr<ReportLoader> loader = Processor::create<ReportLoader>(clock, store, history, [this] {
                                           ProcessorOptions o{"injury_report", "phase2_raw", "t", "injury_report", "raw"};
                                           o.detector = &detector;
                                           return o;
                                         }()).value();
};

}  // namespace processor_snapshot_test

using namespace processor_snapshot_test;

TEST(ProcessorSnapshot, SnapshotForSeesTheTriggerAndDetectsOnlyWhatItChanged) {
  Fixture f;
  const auto morning = report_trigger(0, {{"a", "available"}, {"b", "available"}, {"c", "out"}});
  auto first = f.loader->run(kDate, &morning);
  ASSERT_TRUE(first) << first.error().to_string();
  EXPECT_EQ(f.loader->seen_trigger, &morning);
  EXPECT_EQ(f.loader->loaded, (std::vector<std::string>{"a", "b", "c"}));

  const auto update = report_trigger(1, {{"a", "available"}, {"b", "questionable"}, {"c", "out"}});
  auto second = f.loader->run(kDate, &update);
  ASSERT_TRUE(second) << second.error().to_string();
  EXPECT_EQ(second->outcome, RunOutcome::kCompleted);
  EXPECT_FALSE(second->full);
  EXPECT_EQ(f.loader->loaded, (std::vector<std::string>{"b"}));
}

TEST(ProcessorSnapshot, WithoutATriggerTheSnapshotFailsAndTheRunProcessesEverything) {
  Fixture f;
  auto report = f.loader->run(kDate);
  ASSERT_TRUE(report) << report.error().to_string();
  EXPECT_TRUE(report->full);
  EXPECT_EQ(f.loader->seen_trigger, nullptr);
  ASSERT_TRUE(report->completion);
  EXPECT_NE(report->completion->metadata->value("change_detection_fallback", "").find("no trigger, no report"),
            std::string::npos);
}

}  // namespace pipeline
