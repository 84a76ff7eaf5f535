// Outages of the server itself, on a private server (its own scratch directory and port
// through scripts/services.sh), so stopping and restarting it disturbs no other test.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "pipeline/core/manual_clock.hpp"
#include "pipeline/orchestrate/completion_tracker.hpp"
#include "pipeline/postgres/postgres_state_store.hpp"
#include "spin_until.hpp"
#include "temp_dir.hpp"

namespace postgres_outage_test {

using pipeline::ErrorCode;
using pipeline::PostgresStateStore;
using pipeline::Status;
using pipeline::Transaction;

// A PostgreSQL server of this test alone, stopped and deleted with the object.
class PrivateServer {
 public:
  PrivateServer() { uri_ = run("start"); }
  ~PrivateServer() { run("stop"); }
  PrivateServer(const PrivateServer&) = delete;
  PrivateServer& operator=(const PrivateServer&) = delete;
  const std::string& uri() const { return uri_; }
  // `services.sh <verb>`; returns its last line of output, "" (and a test failure) on failure.
  std::string run(const std::string& verb) {
    const std::string cmd = "PIPELINE_SERVICES_DIR='" + dir_.path().string() + "/services' '" PIPELINE_SOURCE_DIR
                            "/scripts/services.sh' " + verb;
    std::string out;
    FILE* p = ::popen(cmd.c_str(), "r");
    if (p == nullptr) {
      ADD_FAILURE() << cmd << ": popen failed";
      return out;
    }
    char buf[512];
    while (std::fgets(buf, sizeof buf, p) != nullptr) out = buf;
    if (::pclose(p) != 0) {
      ADD_FAILURE() << cmd << " failed";
      return "";
    }
    while (!out.empty() && out.back() == '\n') out.pop_back();
    return out;
  }

 private:
  pipeline::testing::TempDir dir_;
  std::string uri_;
};

pipeline::PostgresStateStoreOptions quick_timeout() {
  pipeline::PostgresStateStoreOptions o;
  o.connect_timeout = std::chrono::seconds(2);
  return o;
}

TEST(PostgresOutage, CallsAreUnavailableWhileTheServerIsDownAndSucceedOnceItIsBack) {
  PrivateServer server;
  ASSERT_FALSE(server.uri().empty());
  auto store = PostgresStateStore::open(server.uri(), quick_timeout());
  ASSERT_TRUE(store) << store.error().to_string();
  ASSERT_TRUE((*store)->transact([](Transaction& tx) { return tx.put("k", "before"); }));

  server.run("pause");
  auto st = (*store)->transact([](Transaction& tx) -> Status {
    PIPELINE_TRY(tx.put("k", "during"));
    return tx.put("k2", "during");
  });
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, ErrorCode::kUnavailable) << st.error().to_string();
  auto pending = (*store)->pending_outbox();
  ASSERT_FALSE(pending);
  EXPECT_EQ(pending.error().code, ErrorCode::kUnavailable);
  auto claimed = (*store)->claim_outbox("relay", 10, std::chrono::system_clock::now(), std::chrono::seconds(30));
  ASSERT_FALSE(claimed);
  EXPECT_EQ(claimed.error().code, ErrorCode::kUnavailable);

  ASSERT_FALSE(server.run("start").empty());
  EXPECT_EQ((*store)->get("k").value(), std::optional<std::string>("before")) << "nothing half-written";
  EXPECT_FALSE((*store)->get("k2").value().has_value());
  ASSERT_TRUE((*store)->transact([](Transaction& tx) { return tx.put("k", "after"); }));
  EXPECT_EQ((*store)->get("k").value(), std::optional<std::string>("after"));
}

// A fast restart of the server in the middle of a tracker run: recording calls fail with
// kUnavailable or succeed; a caller retries what failed (as a redelivery would), and the
// run ends exactly as without the restart: every completion counted once, one trigger.
TEST(PostgresOutage, TrackerRunAcrossARestartDecidesOnce) {
  PrivateServer server;
  ASSERT_FALSE(server.uri().empty());
  auto store = PostgresStateStore::open(server.uri(), quick_timeout());
  ASSERT_TRUE(store) << store.error().to_string();
  pipeline::ManualClock clock;
  constexpr int kUpstream = 20;
  pipeline::CompletionTrackerConfig config;
  config.name = "phase3";
  config.upstream_phase = "phase2_raw";
  config.downstream_phase = "phase3_analytics";
  config.trigger_topic = "test-phase3-trigger";
  ASSERT_TRUE(config.registry.add_processor("x", "p3"));
  for (int i = 0; i < kUpstream; ++i) {
    const std::string p = "p" + std::to_string(i);
    config.expected.push_back(p);
    ASSERT_TRUE(config.registry.add_processor(p, "p2"));
    ASSERT_TRUE(config.registry.add_trigger(p, {"x"}));
  }
  auto tracker = pipeline::CompletionTracker::create(**store, clock, config);
  ASSERT_TRUE(tracker) << tracker.error().to_string();
  const auto date = *pipeline::CalendarDate::parse("2025-11-18");

  std::atomic<int> recorded{0};
  std::atomic<int> unavailable{0};
  std::atomic<int> other_errors{0};
  std::atomic<int> triggers{0};
  std::atomic<bool> down{false};
  std::thread writer([&] {
    for (int i = 0; i < kUpstream; ++i) {
      if (i == 5 && !pipeline_test::spin_until([&] { return down.load(); })) ADD_FAILURE() << "the server never went down";
      pipeline::Message m;
      m.processor_name = "p" + std::to_string(i);
      m.phase = "phase2_raw";
      m.execution_id = "exec-" + std::to_string(i);
      m.correlation_id = "corr";
      m.partition_date = date;
      const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(120);
      for (;;) {
        auto r = (*tracker)->record_completion(m);
        if (r) {
          triggers += static_cast<int>(r->triggered.size());
          break;
        }
        if (r.error().code != ErrorCode::kUnavailable) {
          ++other_errors;
          ADD_FAILURE() << r.error().to_string();
          break;
        }
        ++unavailable;
        if (std::chrono::steady_clock::now() > give_up) {
          ADD_FAILURE() << "the store stayed unavailable";
          return;
        }
        std::this_thread::yield();  // a redelivery, at once
      }
      ++recorded;
    }
  });
  // The restart, in two steps (pg_ctl stop -m fast, then start) so the writer is sure to
  // call while the server is down.
  ASSERT_TRUE(pipeline_test::spin_until([&] { return recorded.load() >= 5; }));
  server.run("pause");
  down = true;
  EXPECT_TRUE(pipeline_test::spin_until([&] { return unavailable.load() >= 2; }));
  ASSERT_FALSE(server.run("start").empty());
  writer.join();

  EXPECT_EQ(recorded.load(), kUpstream);
  EXPECT_EQ(other_errors.load(), 0);
  EXPECT_EQ(triggers.load(), 1);
  auto status = pipeline::CompletionTracker::load_status(**store, "phase3", date);
  ASSERT_TRUE(status) << status.error().to_string();
  EXPECT_EQ((*store)->pending_outbox().value(), 1u) << "one trigger in the outbox";
  auto rows = (*store)->claim_outbox("relay", 10, clock.now(), std::chrono::seconds(30)).value();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].entry.message.id, "phase3/2025-11-18/w0");
  EXPECT_GE(unavailable.load(), 2) << "the writer never saw the server down";
}

}  // namespace postgres_outage_test
