// RedisTransport under faults, against real servers and processes:
// - redis-server SIGKILLed and restarted mid-stream (appendfsync always): every message
//   whose publish succeeded is delivered afterwards; handler threads reconnect by
//   themselves; calls during the outage answer kUnavailable;
// - a consumer process SIGKILLed with deliveries in flight: another consumer of the group
//   gets them after the ack deadline, with the attempt raised;
// - a poison message that kills every consumer process it reaches ends in the dead-letter
//   stream after exactly max_delivery_attempts deliveries.
// The server tests start a private server (scripts/services.sh in a scratch state
// directory), so killing it touches no other test. These tests run on the system clock
// (processes share no manual clock); every wait has a deadline and nothing asserts on time.

#include <signal.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "child_process.hpp"
#include "pipeline/core/system_clock.hpp"
#include "pipeline/redis/redis_transport.hpp"
#include "redis/redis_server.hpp"
#include "spin_until.hpp"
#include "temp_dir.hpp"

namespace pipeline {
namespace redis_fault_test {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::fresh_prefix;
using testing::redis_uri;
using testing::run_services;

// A private redis-server (appendonly, appendfsync always) that a test may kill.
class PrivateServer {
 public:
  PrivateServer() : env_("PIPELINE_SERVICES_DIR='" + dir_.file("services") + "' PIPELINE_REDIS_FSYNC=always") {
    uri_ = run_services("start-redis", env_);
  }
  ~PrivateServer() { (void)run_services("stop-redis", env_); }
  const std::string& uri() const { return uri_; }
  bool kill() { return !run_services("kill-redis", env_).empty(); }
  bool start() { return run_services("start-redis", env_) == uri_; }

 private:
  testing::TempDir dir_;
  std::string env_;
  std::string uri_;
};

RedisTransportOptions fault_options(std::size_t threads) {
  RedisTransportOptions o;
  o.key_prefix = fresh_prefix();
  o.handler_threads = threads;
  o.poll_interval = milliseconds(20);
  o.command_timeout = milliseconds(1000);
  o.connect_timeout = milliseconds(1000);
  o.reconnect_backoff = milliseconds(10);
  o.max_reconnect_backoff = milliseconds(200);
  return o;
}

TEST(RedisFaults, ServerKilledAndRestartedMidStreamLosesNoPublishedMessage) {
  PrivateServer server;
  ASSERT_FALSE(server.uri().empty()) << "could not start a private redis-server through scripts/services.sh";
  SystemClock clock;
  auto options = fault_options(2);
  auto transport = RedisTransport::open(clock, server.uri(), options);
  ASSERT_TRUE(transport.has_value()) << transport.error().to_string();
  SubscriptionSettings settings;
  settings.ack_deadline = seconds(2);  // acks lost in the crash come back soon
  std::mutex mu;
  std::set<std::string> delivered;
  auto sub = (*transport)->subscribe({"crash-sub", "crash-topic", settings}, [&](DeliveryPtr d) {
    {
      std::lock_guard lock(mu);
      delivered.insert(d->id());
    }
    (void)d->ack();  // may fail during the outage: then it is redelivered
  });
  ASSERT_TRUE(sub.has_value()) << sub.error().to_string();

  constexpr int kMessages = 600;
  std::mutex pub_mu;
  std::set<std::string> published;
  std::map<ErrorCode, int> failures;
  std::map<ErrorCode, std::string> failure_text;
  std::atomic<bool> publisher_ok{true};
  // The publisher runs on while the server dies and comes back; each message is retried
  // until its publish succeeds (the outbox relay's behaviour).
  std::thread publisher([&] {
    for (int i = 0; i < kMessages && publisher_ok; ++i) {
      const std::string id = fmt::format("m{}", i);
      publisher_ok = pipeline_test::spin_until(
          [&] {
            auto st = (*transport)->publish("crash-topic", {id, "{}", {}});
            std::lock_guard lock(pub_mu);
            if (st) {
              published.insert(id);
              return true;
            }
            ++failures[st.error().code];
            failure_text[st.error().code] = st.error().to_string();
            return false;
          },
          seconds(60));
    }
  });
  EXPECT_TRUE(pipeline_test::spin_until([&] {
    std::lock_guard lock(pub_mu);
    return published.size() >= kMessages / 3;
  }));
  ASSERT_TRUE(server.kill());
  // Down: calls answer kUnavailable (within the command timeout), never anything else.
  auto pinged = (*transport)->ping();
  ASSERT_FALSE(pinged.has_value());
  EXPECT_EQ(pinged.error().code, ErrorCode::kUnavailable) << pinged.error().to_string();
  auto down = (*transport)->publish("crash-topic", {"during-outage", "{}", {}});
  EXPECT_FALSE(down.has_value());
  if (!down) {
    EXPECT_EQ(down.error().code, ErrorCode::kUnavailable) << down.error().to_string();
  }
  const bool restarted = server.start();
  publisher.join();
  ASSERT_TRUE(restarted);
  ASSERT_TRUE(publisher_ok.load());
  EXPECT_TRUE(pipeline_test::spin_until([&] { return (*transport)->ping().has_value(); }));
  for (const auto& [code, n] : failures)
    EXPECT_EQ(code, ErrorCode::kUnavailable) << n << " calls failed so, the last with: " << failure_text[code];
  EXPECT_GT(failures[ErrorCode::kUnavailable], 0) << "the publisher never saw the outage";

  const bool all = pipeline_test::spin_until(
      [&] {
        std::lock_guard lock(mu);
        return std::includes(delivered.begin(), delivered.end(), published.begin(), published.end());
      },
      seconds(120));
  std::lock_guard lock(mu);
  std::vector<std::string> missing;
  std::set_difference(published.begin(), published.end(), delivered.begin(), delivered.end(),
                      std::back_inserter(missing));
  EXPECT_TRUE(all) << missing.size() << " published messages never delivered, e.g. "
                   << (missing.empty() ? "" : missing.front());
  EXPECT_EQ(published.size(), static_cast<std::size_t>(kMessages));
}

TEST(RedisFaults, KilledConsumersDeliveriesGoToAnotherConsumerAfterTheDeadline) {
  const std::string uri = redis_uri();
  ASSERT_FALSE(uri.empty());
  testing::TempDir dir;
  const std::string seen_file = dir.file("child-seen");
  auto options = fault_options(1);
  SubscriptionSettings settings;
  settings.ack_deadline = seconds(3);  // room for a loaded machine: every handler acks well within it
  constexpr int kMessages = 20;
  {
    // The group exists before anything is published.
    SystemClock clock;
    auto t = RedisTransport::open(clock, uri, options);
    ASSERT_TRUE(t.has_value());
    auto sub = (*t)->subscribe({"kill-sub", "kill-topic", settings}, [](DeliveryPtr) {});
    ASSERT_TRUE(sub.has_value());
    (*sub)->close();
    for (int i = 0; i < kMessages; ++i)
      ASSERT_TRUE((*t)->publish("kill-topic", {fmt::format("job-{}", i), "{}", {}}).has_value());
  }
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // The consumer that dies: takes every job, settles none.
    SystemClock clock;
    auto child_options = options;
    child_options.consumer_name = "doomed";
    auto t = RedisTransport::open(clock, uri, child_options);
    if (!t) ::_exit(2);
    auto sub = (*t)->subscribe({"kill-sub", "kill-topic", settings}, [&](DeliveryPtr d) {
      testing::append_line(seen_file, fmt::format("{} {}", d->id(), d->attempt()));
    });
    if (!sub) ::_exit(3);
    for (;;) ::pause();
  }
  const bool took_all =
      pipeline_test::spin_until([&] { return testing::read_lines(seen_file).size() >= kMessages; }, seconds(60));
  ::kill(child, SIGKILL);
  auto status = testing::wait_child(child);
  ASSERT_TRUE(status.has_value());
  EXPECT_TRUE(testing::killed_by_sigkill(*status)) << testing::describe_status(*status);
  ASSERT_TRUE(took_all) << "the doomed consumer saw only " << testing::read_lines(seen_file).size();
  for (const auto& line : testing::read_lines(seen_file)) EXPECT_TRUE(line.ends_with(" 1")) << line;

  SystemClock clock;
  auto survivor_options = options;
  survivor_options.consumer_name = "survivor";
  auto t = RedisTransport::open(clock, uri, survivor_options);
  ASSERT_TRUE(t.has_value());
  std::mutex mu;
  std::map<std::string, int> attempts;
  auto sub = (*t)->subscribe({"kill-sub", "kill-topic", settings}, [&](DeliveryPtr d) {
    std::lock_guard lock(mu);
    attempts[d->id()] = d->attempt();
    EXPECT_TRUE(d->ack().has_value());
  });
  ASSERT_TRUE(sub.has_value());
  EXPECT_TRUE(pipeline_test::spin_until(
      [&] {
        std::lock_guard lock(mu);
        return attempts.size() == kMessages;
      },
      seconds(60)));
  std::lock_guard lock(mu);
  for (const auto& [id, attempt] : attempts) EXPECT_EQ(attempt, 2) << id;
  EXPECT_EQ(*(*t)->unacked("kill-sub"), 0u);
  sub->reset();
  t->reset();
}

TEST(RedisFaults, PoisonThatKillsEveryConsumerIsDeadLetteredAfterExactlyMaxAttempts) {
  const std::string uri = redis_uri();
  ASSERT_FALSE(uri.empty());
  testing::TempDir dir;
  const std::string seen_file = dir.file("attempts");
  auto options = fault_options(1);
  SubscriptionSettings settings;
  settings.ack_deadline = seconds(1);
  settings.max_delivery_attempts = 3;
  SystemClock clock;
  auto t = RedisTransport::open(clock, uri, options);
  ASSERT_TRUE(t.has_value());
  {
    auto sub = (*t)->subscribe({"poison-sub", "poison-topic", settings}, [](DeliveryPtr) {});
    ASSERT_TRUE(sub.has_value());
  }
  ASSERT_TRUE((*t)->publish("poison-topic", {"poison", "crash me", {{"k", "v"}}}).has_value());

  // Consumer processes, one after another; each dies on the poison message.
  int children = 0;
  while (testing::read_lines(seen_file).size() < 3 && children < 10) {
    ++children;
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      SystemClock child_clock;
      auto ct = RedisTransport::open(child_clock, uri, options);
      if (!ct) ::_exit(2);
      auto sub = (*ct)->subscribe({"poison-sub", "poison-topic", settings}, [&](DeliveryPtr d) {
        testing::append_line(seen_file, std::to_string(d->attempt()));
        ::raise(SIGKILL);  // the poison takes the process down mid-handler
      });
      if (!sub) ::_exit(3);
      for (;;) ::pause();
    }
    auto status = testing::wait_child(child, seconds(60));
    ASSERT_TRUE(status.has_value()) << "a consumer never received the poison message";
    ASSERT_TRUE(testing::killed_by_sigkill(*status)) << testing::describe_status(*status);
  }
  EXPECT_EQ(testing::read_lines(seen_file), (std::vector<std::string>{"1", "2", "3"}));
  // A fourth consumer (this process) finds it due with its attempts used up: it goes to
  // the dead-letter stream instead of a fourth delivery.
  int fourth = 0;
  auto sub = (*t)->subscribe({"poison-sub", "poison-topic", settings}, [&](DeliveryPtr) { ++fourth; });
  ASSERT_TRUE(sub.has_value());
  std::vector<DeadLetter> letters;
  EXPECT_TRUE(pipeline_test::spin_until(
      [&] {
        auto l = (*t)->dead_letters("poison-sub");
        if (l) letters = *l;
        return !letters.empty();
      },
      seconds(60)));
  sub->reset();
  EXPECT_EQ(fourth, 0);
  ASSERT_EQ(letters.size(), 1u);
  EXPECT_EQ(letters[0].id, "poison");
  EXPECT_EQ(letters[0].attempts, 3);
  EXPECT_EQ(letters[0].payload, "crash me");
  EXPECT_EQ(letters[0].attributes, (Attributes{{"k", "v"}}));
  EXPECT_EQ(letters[0].last_error, "ack deadline passed on attempt 3");
  EXPECT_EQ(testing::read_lines(seen_file), (std::vector<std::string>{"1", "2", "3"}));
}

}  // namespace redis_fault_test
}  // namespace pipeline
