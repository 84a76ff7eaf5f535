// A phase's example service as a long-running process over a real Redis: phase3_analytics
// serves the Phase 3 trigger topic, runs its five processors for a trigger published (twice)
// by this test, publishes their completions right after each commit, and drains on SIGTERM.
// Phase 1 and 2 run first with --once to fill the warehouse.
#include <signal.h>

#include <mutex>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "pipeline/core/ids.hpp"
#include "pipeline/core/message_codec.hpp"
#include "pipeline/core/system_clock.hpp"
#include "pipeline/redis/redis_transport.hpp"
#include "redis/redis_server.hpp"
#include "services/child.hpp"
#include "services/topic_watch.hpp"
#include "spin_until.hpp"
#include "temp_dir.hpp"

namespace pipeline::phase_service_test {

TEST(PhaseServiceProcess, ServesItsTriggerTopicOverRedisThenDrainsOnSigterm) {
  const std::string uri = testing::redis_uri();
  ASSERT_FALSE(uri.empty());
  const std::string prefix = testing::fresh_prefix();
  testing::TempDir dir;
  const std::string store = "sqlite:" + dir.file("state.db");
  const std::string warehouse = dir.file("warehouse.db");
  const std::string data = dir.file("scraped");
  const std::string log = dir.file("services.log");

  for (const std::vector<std::string>& once :
       {std::vector<std::string>{PIPELINE_PHASE1_BIN, "--once", "--store", store, "--data-dir", data},
        std::vector<std::string>{PIPELINE_PHASE2_BIN, "--once", "--store", store, "--warehouse", warehouse,
                                 "--data-dir", data}}) {
    auto status = testing::run_to_end(once, log);
    ASSERT_TRUE(status && testing::exited_cleanly(*status))
        << once[0] << ": " << (status ? testing::describe_status(*status) : "hung");
  }

  testing::TopicWatch completions(uri, prefix, "test-phase3-complete", "nba-phase3-analytics-complete");
  ASSERT_TRUE(completions.ok());
  // The processors whose completions arrived, and their distinct stable ids.
  const auto processors = [&] {
    std::set<std::string> out;
    for (const auto& m : completions.messages()) out.insert(m ? m->processor_name : "undecodable");
    return out;
  };
  const auto distinct_ids = [&] {
    const auto ids = completions.ids();
    return std::set<std::string>(ids.begin(), ids.end());
  };

  const pid_t pid = testing::spawn({PIPELINE_PHASE3_BIN, "--store", store, "--warehouse", warehouse, "--transport",
                                    uri + "?key_prefix=" + prefix},
                                   log);
  ASSERT_GT(pid, 0);
  ASSERT_TRUE(pipeline_test::spin_until([&] { return testing::log_has(log, "phase3_analytics: serving"); }))
      << "the service did not start";

  Message trigger;
  trigger.processor_name = "phase3_analytics";
  trigger.phase = "phase3_analytics";
  trigger.execution_id = new_execution_id();
  trigger.correlation_id = trigger.execution_id;
  trigger.partition_date = *CalendarDate::parse("2025-11-18");
  for (int copy = 0; copy < 2; ++copy)  // a duplicate delivery runs no step twice
    ASSERT_TRUE(completions.bus().publish("nba-phase3-trigger",
                                          {"phase3_analytics/2025-11-18/w0", encode_message(trigger), {}}));
  const std::set<std::string> expected{"player_game_summary", "team_offense_game_summary", "team_defense_game_summary",
                                       "upcoming_player_game_context", "upcoming_team_game_context"};
  EXPECT_TRUE(pipeline_test::spin_until([&] { return processors() == expected; }))
      << "the five completions did not all arrive";

  ::kill(pid, SIGTERM);
  auto status = testing::wait_child(pid);
  ASSERT_TRUE(status) << "the service did not stop on SIGTERM";
  EXPECT_TRUE(testing::exited_cleanly(*status)) << testing::describe_status(*status);
  EXPECT_TRUE(testing::log_has(log, "phase3_analytics: stopped"));
  ASSERT_TRUE(completions.bus().wait_until_idle());
  // The duplicate trigger ran no step again: run history answered it, re-publishing each
  // stored completion under its stable id, which consumers deduplicate on.
  EXPECT_EQ(distinct_ids().size(), expected.size()) << "a processor ran twice (a second stable id)";
}

}  // namespace pipeline::phase_service_test
