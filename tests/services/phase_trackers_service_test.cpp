// phase_trackers as a long-running process over a real Redis: it decides the Phase 2→3
// wave once from 21 completions published (each twice) by this test, its trigger reaches a
// consumer, and SIGTERM drains it to exit 0.
#include <signal.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "services/child.hpp"
#include "services/topic_watch.hpp"
#include "nba_synthetic/nba_preset.hpp"
#include "phase2_raw/raw_processors.hpp"
#include "pipeline/core/message_codec.hpp"
#include "pipeline/core/system_clock.hpp"
#include "pipeline/orchestrate/completion_tracker.hpp"
#include "pipeline/redis/redis_transport.hpp"
#include "pipeline/sqlite/sqlite_state_store.hpp"
#include "redis/redis_server.hpp"
#include "spin_until.hpp"
#include "temp_dir.hpp"

namespace pipeline::phase_trackers_service_test {

const CalendarDate kDate = *CalendarDate::parse("2025-11-18");

using testing::log_has;
using testing::spawn;

// Publishes raw processor `processor`'s completion of kDate (one changed player), under
// the stable id its service would give it.
Status publish_completion(Transport& bus, const std::string& processor) {
  Message m;
  m.processor_name = processor;
  m.phase = nba::tracker_presets().front().upstream_phase;
  m.execution_id = "exec-" + processor;
  m.correlation_id = "scrape-2025-11-18";
  m.partition_date = kDate;
  m.entities_changed = EntityChanges{{"players", {"p-" + processor}}};
  return bus.publish("nba-phase2-raw-complete", {"phase2/" + processor, encode_message(m), {}});
}

TEST(PhaseTrackersService, DecidesOnceOverRedisThenDrainsOnSigterm) {
  const std::string uri = testing::redis_uri();
  ASSERT_FALSE(uri.empty());
  const std::string prefix = testing::fresh_prefix();
  testing::TempDir dir;
  const std::string log = dir.file("phase_trackers.log");
  const std::string state = dir.file("state.db");

  // The consumer of Phase 3 triggers subscribes first: a group sees what comes after it.
  testing::TopicWatch triggers(uri, prefix, "test-phase3-consumer", "nba-phase3-trigger");
  ASSERT_TRUE(triggers.ok());

  // The settings come from a --config file, as deploy/pipeline.conf gives them; keys of
  // other services' flags (warehouse) are ignored.
  const std::string config = dir.file("pipeline.conf");
  ASSERT_TRUE(testing::append_line(config, "store = \"sqlite:" + state + "\""));
  ASSERT_TRUE(testing::append_line(config, "transport = \"" + uri + "?key_prefix=" + prefix + "\""));
  ASSERT_TRUE(testing::append_line(config, "warehouse = \"unused.db\""));
  const pid_t pid = spawn({PIPELINE_PHASE_TRACKERS_BIN, "--config", config, "--workers", "2"}, log);
  ASSERT_GT(pid, 0);
  ASSERT_TRUE(pipeline_test::spin_until([&] { return log_has(log, "phase_trackers: serving"); }))
      << "the service did not start: " << testing::read_lines(log).size() << " log lines";

  // Every raw processor's completion, each published twice (a redelivered publish).
  const auto preset = nba::tracker_presets().front();
  for (const auto& processor : phase2::raw_processors())
    for (int copy = 0; copy < 2; ++copy) ASSERT_TRUE(publish_completion(triggers.bus(), processor));
  EXPECT_TRUE(pipeline_test::spin_until([&] { return !triggers.ids().empty(); })) << "no Phase 3 trigger arrived";

  ::kill(pid, SIGTERM);
  auto status = testing::wait_child(pid);
  ASSERT_TRUE(status) << "the service did not stop on SIGTERM";
  EXPECT_TRUE(testing::exited_cleanly(*status)) << testing::describe_status(*status);
  EXPECT_TRUE(log_has(log, "phase_trackers: stopped"));
  ASSERT_TRUE(triggers.bus().wait_until_idle());
  EXPECT_EQ(triggers.ids(), std::vector<std::string>{preset.name + "/2025-11-18/w0"});

  auto store = SqliteStateStore::open(state);
  ASSERT_TRUE(store) << store.error().to_string();
  auto status_row = CompletionTracker::load_status(**store, preset.name, kDate);
  ASSERT_TRUE(status_row) << status_row.error().to_string();
  ASSERT_EQ(status_row->waves.size(), 1u) << status_row->to_json().dump();
  EXPECT_TRUE(status_row->waves[0].decided);
  EXPECT_EQ(status_row->waves[0].reason, "complete");
  EXPECT_TRUE(status_row->missing.empty());
  EXPECT_EQ((*store)->pending_outbox().value(), 0u) << "the trigger left the outbox";
}

// Two tracker processes share the subscriptions; one is SIGKILLed halfway through the
// completions. The other takes over what it held (after the ack deadline, attempt 2) and
// the wave is still decided once: one trigger, one decision, nothing left pending.
TEST(PhaseTrackersService, KilledTrackerProcessLosesNothingAndTheWaveIsDecidedOnce) {
  const std::string uri = testing::redis_uri();
  ASSERT_FALSE(uri.empty());
  const std::string prefix = testing::fresh_prefix();
  testing::TempDir dir;
  const std::string state = dir.file("state.db");
  testing::TopicWatch triggers(uri, prefix, "test-phase3-consumer", "nba-phase3-trigger");
  ASSERT_TRUE(triggers.ok());

  const std::vector<std::string> args{PIPELINE_PHASE_TRACKERS_BIN, "--store", "sqlite:" + state, "--transport",
                                      uri + "?key_prefix=" + prefix, "--ack-deadline", "2", "--workers", "2"};
  const std::string log_a = dir.file("a.log"), log_b = dir.file("b.log");
  const pid_t a = spawn(args, log_a);
  const pid_t b = spawn(args, log_b);
  ASSERT_TRUE(a > 0 && b > 0);
  ASSERT_TRUE(pipeline_test::spin_until([&] { return log_has(log_a, "phase_trackers: serving") && log_has(log_b, "phase_trackers: serving"); }));

  const auto preset = nba::tracker_presets().front();
  const auto processors = phase2::raw_processors();
  for (std::size_t i = 0; i < processors.size(); ++i) {
    if (i == processors.size() / 2) {
      ::kill(a, SIGKILL);
      auto killed = testing::wait_child(a);
      ASSERT_TRUE(killed && testing::killed_by_sigkill(*killed));
    }
    ASSERT_TRUE(publish_completion(triggers.bus(), processors[i]));
  }
  EXPECT_TRUE(pipeline_test::spin_until([&] { return !triggers.ids().empty(); }, std::chrono::seconds(120)))
      << "no trigger: what the killed process held was not taken over";

  // The wave can be decided before the survivor claims what the killed process read but
  // did not ack (those completions were recorded already): wait until it has claimed and
  // acked them too, each after the 2 s ack deadline, before stopping it.
  EXPECT_TRUE(pipeline_test::spin_until(
      [&] {
        auto pending = triggers.bus().unacked(preset.name + "-tracker");
        return pending && *pending == 0;
      },
      std::chrono::seconds(120)))
      << "what the killed process held was never taken over";
  ::kill(b, SIGTERM);
  auto stopped = testing::wait_child(b);
  ASSERT_TRUE(stopped && testing::exited_cleanly(*stopped)) << (stopped ? testing::describe_status(*stopped) : "hung");
  ASSERT_TRUE(triggers.bus().wait_until_idle());
  EXPECT_EQ(triggers.ids(), std::vector<std::string>{preset.name + "/2025-11-18/w0"});
  auto unacked = triggers.bus().unacked(preset.name + "-tracker");
  ASSERT_TRUE(unacked) << unacked.error().to_string();
  EXPECT_EQ(*unacked, 0u) << "a completion was left pending in the group";
  auto store = SqliteStateStore::open(state);
  ASSERT_TRUE(store) << store.error().to_string();
  auto status = CompletionTracker::load_status(**store, preset.name, kDate);
  ASSERT_TRUE(status) << status.error().to_string();
  ASSERT_EQ(status->waves.size(), 1u) << status->to_json().dump();
  EXPECT_TRUE(status->waves[0].decided);
  EXPECT_TRUE(status->missing.empty()) << status->to_json().dump();
  EXPECT_EQ((*store)->pending_outbox().value(), 0u);
}

}  // namespace pipeline::phase_trackers_service_test
