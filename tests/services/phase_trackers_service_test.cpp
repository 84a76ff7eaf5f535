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

TEST(PhaseTrackersService, DecidesOnceOverRedisThenDrainsOnSigterm) {
  const std::string uri = testing::redis_uri();
  ASSERT_FALSE(uri.empty());
  const std::string prefix = testing::fresh_prefix();
  testing::TempDir dir;
  const std::string log = dir.file("phase_trackers.log");
  const std::string state = dir.file("state.db");

  // The consumer of Phase 3 triggers subscribes first: a group sees what comes after it.
  SystemClock clock;
  RedisTransportOptions options;
  options.key_prefix = prefix;
  options.handler_threads = 1;
  auto bus = RedisTransport::open(clock, uri, options);
  ASSERT_TRUE(bus) << bus.error().to_string();
  std::mutex mu;
  std::vector<std::string> triggers;
  auto watch = (*bus)->subscribe({"test-phase3-consumer", "nba-phase3-trigger", {}}, [&](DeliveryPtr d) {
    {
      std::lock_guard lock(mu);
      triggers.push_back(d->id());
    }
    (void)d->ack();
  });
  ASSERT_TRUE(watch) << watch.error().to_string();

  const pid_t pid = spawn({PIPELINE_PHASE_TRACKERS_BIN, "--store", "sqlite:" + state, "--transport",
                           uri + "?key_prefix=" + prefix, "--workers", "2"},
                          log);
  ASSERT_GT(pid, 0);
  ASSERT_TRUE(pipeline_test::spin_until([&] { return log_has(log, "trackers running"); }))
      << "the service did not start: " << testing::read_lines(log).size() << " log lines";

  // Every raw processor's completion, each published twice (a redelivered publish).
  const auto preset = nba::tracker_presets().front();
  for (const auto& processor : phase2::raw_processors()) {
    Message m;
    m.processor_name = processor;
    m.phase = preset.upstream_phase;
    m.execution_id = "exec-" + processor;
    m.correlation_id = "scrape-2025-11-18";
    m.partition_date = kDate;
    m.entities_changed = EntityChanges{{"players", {"p-" + processor}}};
    const std::string payload = encode_message(m);
    for (int copy = 0; copy < 2; ++copy)
      ASSERT_TRUE((*bus)->publish("nba-phase2-raw-complete", {"phase2/" + processor, payload, {}}));
  }
  EXPECT_TRUE(pipeline_test::spin_until([&] {
    std::lock_guard lock(mu);
    return !triggers.empty();
  })) << "no Phase 3 trigger arrived";

  ::kill(pid, SIGTERM);
  auto status = testing::wait_child(pid);
  ASSERT_TRUE(status) << "the service did not stop on SIGTERM";
  EXPECT_TRUE(testing::exited_cleanly(*status)) << testing::describe_status(*status);
  EXPECT_TRUE(log_has(log, "phase_trackers: stopped"));
  ASSERT_TRUE((*bus)->wait_until_idle());
  {
    std::lock_guard lock(mu);
    EXPECT_EQ(triggers, std::vector<std::string>{preset.name + "/2025-11-18/w0"});
  }

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

}  // namespace pipeline::phase_trackers_service_test
