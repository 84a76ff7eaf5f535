// The examples of include/pipeline/schedule/ and of the coordinate layer's Scheduler and
// HybridTrigger, which run on a DailySchedule (`@snippet schedule_snippets_test.cpp <tag>`).

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "pipeline/alert/alert_manager.hpp"
#include "pipeline/coordinate/batch_coordinator.hpp"
#include "pipeline/coordinate/hybrid_trigger.hpp"
#include "pipeline/coordinate/scheduler.hpp"
#include "pipeline/coordinate/stored_upstream.hpp"
#include "pipeline/core/manual_clock.hpp"
#include "pipeline/core/timestamp.hpp"
#include "pipeline/memory/memory_state_store.hpp"
#include "pipeline/memory/memory_transport.hpp"
#include "pipeline/schedule/daily_schedule.hpp"
#include "pipeline/schedule/local_time.hpp"

namespace pipeline::schedule_snippets_test {
namespace {

TEST(ScheduleSnippets, DailySchedule) {
  std::vector<std::string> lines;
  //! [daily_schedule]
  auto s = pipeline::DailySchedule::create("America/Los_Angeles",
                                           pipeline::DailySchedule::phase5_jobs());
  auto day = pipeline::CalendarDate::parse("2025-11-18");
  auto instants = s->instants(*day, *day);   // kept: a loop over *s->instants(...) would dangle
  for (const auto& i : *instants)
    lines.push_back(i.job + " " + pipeline::format_rfc3339(i.at));   // backup 2025-11-18T14:00:00Z ...
  //! [daily_schedule]
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines[0], "backup 2025-11-18T14:00:00Z");
}

TEST(ScheduleSnippets, LocalTime) {
  //! [local_time]
  auto t = pipeline::parse_rfc3339("2025-03-09T13:00:00Z");
  auto w = pipeline::local_wall_time(*t, "America/Los_Angeles");
  // w->to_string() == "2025-03-09 06:00:00 PDT (UTC-07:00)"
  //! [local_time]
  ASSERT_TRUE(w) << w.error().to_string();
  EXPECT_EQ(w->to_string(), "2025-03-09 06:00:00 PDT (UTC-07:00)");
}

TEST(ScheduleSnippets, Scheduler) {
  pipeline::ManualClock clock{*pipeline::parse_rfc3339("2025-11-18T08:00:00Z")};   // 00:00 PST
  std::vector<std::string> fired;
  //! [scheduler]
  auto schedule = pipeline::DailySchedule::phase5();   // America/Los_Angeles
  auto scheduler = pipeline::Scheduler::create(clock,
      [s = *schedule](pipeline::TimePoint t) -> std::optional<pipeline::Scheduler::Due> {
        if (auto i = s.next_after(t)) return pipeline::Scheduler::Due{i->job, i->at};
        return std::nullopt;
      },
      [&](const std::string& job, pipeline::TimePoint) { fired.push_back(job); });
  ASSERT_TRUE(scheduler) << scheduler.error().to_string();
  (*scheduler)->start();
  //! [scheduler]
  clock.advance(std::chrono::hours(7));   // through 07:00 PST
  EXPECT_EQ(fired, (std::vector<std::string>{"backup", "retry", "retry", "status_check"}));
}

TEST(ScheduleSnippets, HybridTrigger) {
  pipeline::ManualClock clock{*pipeline::parse_rfc3339("2025-11-18T08:00:00Z")};   // 00:00 PST
  pipeline::MemoryStateStore store = pipeline::MemoryStateStore::create().value();
  auto transport = pipeline::MemoryTransport::create(clock).value();
  auto alerts = pipeline::AlertManager::create(clock, {}).value();
  auto upstream = pipeline::StoredUpstream::create(store, {}).value();
  auto coordinator = pipeline::BatchCoordinator::create(clock, store, *alerts, upstream, upstream).value();
  //! [hybrid_trigger]
  auto schedule = *pipeline::DailySchedule::phase5();
  auto hybrid = pipeline::HybridTrigger::create(clock, store, *transport, *coordinator,
      [schedule](pipeline::TimePoint t) -> std::optional<pipeline::Scheduler::Due> {
        if (auto i = schedule.next_after(t)) return pipeline::Scheduler::Due{i->job, i->at};
        return std::nullopt;
      },
      [schedule](pipeline::TimePoint t) { return schedule.wall_time(t).date; });
  ASSERT_TRUE(hybrid) << hybrid.error().to_string();
  auto started = (*hybrid)->start();
  //! [hybrid_trigger]
  ASSERT_TRUE(started) << started.error().to_string();
  clock.advance(std::chrono::hours(7));   // no Phase 4 event: the 06:00 backup runs
  const auto runs = (*hybrid)->runs();
  ASSERT_FALSE(runs.empty());
  EXPECT_EQ(runs[0].source, "backup");
  EXPECT_EQ(runs[0].game_date, *pipeline::CalendarDate::parse("2025-11-18"));
}

}  // namespace
}  // namespace pipeline::schedule_snippets_test
