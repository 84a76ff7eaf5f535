// RedisTransport against a real redis-server: the Transport contract suite unchanged (in
// pump mode and with handler threads), then Redis's own behaviour: the URI and options,
// the on-Redis layout a consumer in another language reads, retention and outages.

#include <hiredis/hiredis.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "contracts/transport_contract.hpp"
#include "pipeline/core/manual_clock.hpp"
#include "pipeline/core/system_clock.hpp"
#include "pipeline/redis/redis_transport.hpp"
#include "redis/redis_server.hpp"
#include "spin_until.hpp"

namespace pipeline {
namespace redis_transport_test {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::fresh_prefix;
using testing::redis_uri;

// A plain hiredis connection for what a test does behind the transport's back (the way a
// consumer in another language would).
class RawRedis {
 public:
  explicit RawRedis(const std::string& uri) {
    // redis://127.0.0.1:PORT/0
    const auto host_start = uri.find("://") + 3;
    const auto colon = uri.find(':', host_start);
    const auto slash = uri.find('/', colon);
    const std::string host = uri.substr(host_start, colon - host_start);
    const int port = std::stoi(uri.substr(colon + 1, slash - colon - 1));
    c_ = redisConnect(host.c_str(), port);
  }
  ~RawRedis() {
    if (c_ != nullptr) redisFree(c_);
  }
  RawRedis(const RawRedis&) = delete;
  RawRedis& operator=(const RawRedis&) = delete;
  bool connected() const { return c_ != nullptr && c_->err == 0; }

  // Runs a command; returns the reply (freed by the caller through the unique_ptr).
  std::unique_ptr<redisReply, void (*)(redisReply*)> run(const std::vector<std::string>& args) {
    std::vector<const char*> argv;
    std::vector<std::size_t> lens;
    for (const auto& a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    auto* r = static_cast<redisReply*>(redisCommandArgv(c_, static_cast<int>(argv.size()), argv.data(), lens.data()));
    return {r, [](redisReply* p) {
              if (p != nullptr) freeReplyObject(p);
            }};
  }

  long long integer(const std::vector<std::string>& args) {
    auto r = run(args);
    return r && r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
  }

  // Deletes every key under `prefix`.
  void drop_prefix(const std::string& prefix) {
    std::string cursor = "0";
    do {
      auto r = run({"SCAN", cursor, "MATCH", prefix + "*", "COUNT", "1000"});
      if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2) return;
      cursor = r->element[0]->str;
      for (std::size_t i = 0; i < r->element[1]->elements; ++i) run({"DEL", r->element[1]->element[i]->str});
    } while (cursor != "0");
  }

 private:
  redisContext* c_ = nullptr;
};

enum class Mode { kPump, kThreadedOne, kThreadedMany };

class RedisHarness final : public contract::TransportHarness {
 public:
  explicit RedisHarness(Mode mode) : mode_(mode), prefix_(fresh_prefix()) {
    RedisTransportOptions options;
    options.key_prefix = prefix_;
    options.max_unacked_per_subscription = kLimit;
    options.handler_threads = mode == Mode::kPump ? 0 : (mode == Mode::kThreadedOne ? 1 : 3);
    options.poll_interval = milliseconds(20);
    auto t = RedisTransport::open(clock_, redis_uri(), options);
    if (!t) {
      ADD_FAILURE() << t.error().to_string();
      return;
    }
    transport_ = std::move(*t);
  }
  ~RedisHarness() override {
    transport_.reset();
    RawRedis raw(redis_uri());
    if (raw.connected()) raw.drop_prefix(prefix_);
  }
  Transport& transport() override { return *transport_; }
  void advance(Duration step) override { clock_.advance(step); }
  void settle() override {
    auto st = transport_->wait_until_idle(std::chrono::seconds(60));
    EXPECT_TRUE(st.has_value()) << st.error().to_string();
  }
  std::size_t backlog_limit() const override { return kLimit; }
  bool preserves_publish_order() const override { return mode_ != Mode::kThreadedMany; }

 private:
  static constexpr std::size_t kLimit = 1000;  // the concurrent case publishes 800 at once
  Mode mode_;
  std::string prefix_;
  ManualClock clock_;
  std::unique_ptr<RedisTransport> transport_;
};

contract::TransportContractParam param(std::string name, Mode mode) {
  return {std::move(name), [mode] { return std::make_unique<RedisHarness>(mode); }};
}

}  // namespace redis_transport_test

namespace contract {
INSTANTIATE_TEST_SUITE_P(RedisTransport, TransportContract,
                         ::testing::Values(redis_transport_test::param("Pump", redis_transport_test::Mode::kPump),
                                           redis_transport_test::param("ThreadedOneHandler",
                                                                       redis_transport_test::Mode::kThreadedOne),
                                           redis_transport_test::param("ThreadedThreeHandlers",
                                                                       redis_transport_test::Mode::kThreadedMany)),
                         [](const auto& info) { return info.param.name; });
}  // namespace contract

namespace redis_transport_test {

// A pump-mode transport on a fresh prefix, its keys dropped afterwards.
class RedisTransportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    uri_ = redis_uri();
    ASSERT_FALSE(uri_.empty());
    options_.key_prefix = prefix_;
    auto t = RedisTransport::open(clock_, uri_, options_);
    ASSERT_TRUE(t.has_value()) << t.error().to_string();
    transport_ = std::move(*t);
  }
  void TearDown() override {
    transport_.reset();
    RawRedis raw(uri_);
    if (raw.connected()) raw.drop_prefix(prefix_);
  }
  void settle() {
    auto st = transport_->wait_until_idle();
    ASSERT_TRUE(st.has_value()) << st.error().to_string();
  }

  std::string uri_;
  std::string prefix_ = fresh_prefix();
  RedisTransportOptions options_;
  ManualClock clock_;
  std::unique_ptr<RedisTransport> transport_;
};

TEST(RedisTransportOpen, MalformedUrisAndOptionsAreInvalidArguments) {
  ManualClock clock;
  for (const char* uri : {"http://127.0.0.1:6379", "rediss://127.0.0.1:6379", "redis://", "redis://host:notaport",
                          "redis://host:70000", "redis://host:6379/x"}) {
    auto t = RedisTransport::open(clock, uri);
    ASSERT_FALSE(t.has_value()) << uri;
    EXPECT_EQ(t.error().code, ErrorCode::kInvalidArgument) << uri;
  }
  for (const std::string& uri : {redis_uri() + "?key_prefix=has space", redis_uri() + "?unknown=1"}) {
    auto t = RedisTransport::open(clock, uri);
    ASSERT_FALSE(t.has_value()) << uri;
    EXPECT_EQ(t.error().code, ErrorCode::kInvalidArgument) << uri;
  }
  RedisTransportOptions bad;
  bad.key_prefix = "has space";
  auto t = RedisTransport::open(clock, redis_uri(), bad);
  ASSERT_FALSE(t.has_value());
  EXPECT_EQ(t.error().code, ErrorCode::kInvalidArgument);
}

TEST(RedisTransportOpen, KeyPrefixFromTheUriReplacesTheOption) {
  ManualClock clock;
  RedisTransportOptions options;
  options.key_prefix = "from-option:";
  auto t = RedisTransport::open(clock, redis_uri() + "?key_prefix=from-uri:", options);
  ASSERT_TRUE(t.has_value()) << t.error().to_string();
  EXPECT_EQ((*t)->key_prefix(), "from-uri:");
  auto plain = RedisTransport::open(clock, redis_uri(), options);
  ASSERT_TRUE(plain.has_value()) << plain.error().to_string();
  EXPECT_EQ((*plain)->key_prefix(), "from-option:");
}

TEST(RedisTransportOpen, UnreachableServerIsUnavailableAndThePasswordIsNeverInTheMessage) {
  ManualClock clock;
  RedisTransportOptions options;
  options.connect_timeout = milliseconds(500);
  // Port 1 on loopback: nothing listens there.
  auto t = RedisTransport::open(clock, "redis://app:s3cret-word@127.0.0.1:1/0", options);
  ASSERT_FALSE(t.has_value());
  EXPECT_EQ(t.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(t.error().to_string().find("s3cret-word"), std::string::npos) << t.error().to_string();
}

TEST(RedisTransportOpen, AWrongPasswordIsRefusedWithoutEchoingIt) {
  ManualClock clock;
  std::string uri = redis_uri();
  ASSERT_FALSE(uri.empty());
  RedisTransportOptions options;
  options.password = "not-the-password";  // the test server has none: AUTH fails
  auto t = RedisTransport::open(clock, uri, options);
  ASSERT_FALSE(t.has_value());
  EXPECT_EQ(t.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(t.error().to_string().find("not-the-password"), std::string::npos) << t.error().to_string();
}

TEST_F(RedisTransportTest, KeyPrefixesKeepTwoPipelinesApart) {
  ManualClock clock;
  RedisTransportOptions other_options;
  other_options.key_prefix = fresh_prefix();
  auto other = RedisTransport::open(clock, uri_, other_options);
  ASSERT_TRUE(other.has_value());
  std::vector<std::string> mine, theirs;
  auto a = transport_->subscribe({"sub", "topic", {}}, [&](DeliveryPtr d) {
    mine.push_back(d->id());
    (void)d->ack();
  });
  auto b = (*other)->subscribe({"sub", "topic", {}}, [&](DeliveryPtr d) {
    theirs.push_back(d->id());
    (void)d->ack();
  });
  ASSERT_TRUE(a.has_value());
  ASSERT_TRUE(b.has_value());
  ASSERT_TRUE(transport_->publish("topic", {"m-mine", "{}", {}}).has_value());
  ASSERT_TRUE((*other)->publish("topic", {"m-theirs", "{}", {}}).has_value());
  settle();
  ASSERT_TRUE((*other)->wait_until_idle().has_value());
  EXPECT_EQ(mine, (std::vector<std::string>{"m-mine"}));
  EXPECT_EQ(theirs, (std::vector<std::string>{"m-theirs"}));
  b->reset();
  other->reset();
  RawRedis(uri_).drop_prefix(other_options.key_prefix);
}

TEST_F(RedisTransportTest, AConsumerInAnotherLanguageReadsAndAcksWithPlainStreamCommands) {
  // The layout docs/architecture.md describes: stream <prefix>topic:<topic>, group = the
  // subscription's name, fields id, payload and a:<attribute>.
  auto sub = transport_->subscribe({"foreign-sub", "orders", {}}, [](DeliveryPtr) {});
  ASSERT_TRUE(sub.has_value());
  (*sub)->close();
  ASSERT_TRUE(transport_->publish("orders", {"order/1", R"({"n":1})", {{"traceparent", "00-abc"}}}).has_value());
  RawRedis raw(uri_);
  auto r = raw.run({"XREADGROUP", "GROUP", "foreign-sub", "python-1", "COUNT", "10", "STREAMS",
                    prefix_ + "topic:orders", ">"});
  ASSERT_TRUE(r && r->type == REDIS_REPLY_ARRAY && r->elements == 1);
  const redisReply* entries = r->element[0]->element[1];
  ASSERT_EQ(entries->elements, 1u);
  const std::string eid = entries->element[0]->element[0]->str;
  const redisReply* fields = entries->element[0]->element[1];
  std::map<std::string, std::string> got;
  for (std::size_t i = 0; i + 1 < fields->elements; i += 2) got[fields->element[i]->str] = fields->element[i + 1]->str;
  EXPECT_EQ(got, (std::map<std::string, std::string>{{"id", "order/1"}, {"payload", R"({"n":1})"},
                                                    {"a:traceparent", "00-abc"}}));
  EXPECT_EQ(raw.integer({"XACK", prefix_ + "topic:orders", "foreign-sub", eid}), 1);
  // The backlog counter is the transport's; a foreign consumer decrements it too.
  EXPECT_EQ(raw.integer({"HINCRBY", prefix_ + "topic:orders:groups", "foreign-sub", "-1"}), 0);
  EXPECT_EQ(*transport_->unacked("foreign-sub"), 0u);
}

TEST_F(RedisTransportTest, AttemptCountsDeliveriesAcrossTransportsSharingTheSubscription) {
  // Two processes' worth of transports in one group: a lease lost by the first is taken
  // over by the second with the attempt raised.
  RedisTransportOptions other_options = options_;
  other_options.consumer_name = "second";
  auto second = RedisTransport::open(clock_, uri_, other_options);
  ASSERT_TRUE(second.has_value());
  std::vector<int> first_attempts, second_attempts;
  SubscriptionSettings settings;
  settings.ack_deadline = seconds(30);
  auto a = transport_->subscribe({"shared", "work", settings}, [&](DeliveryPtr d) {
    first_attempts.push_back(d->attempt());  // holds it: the process "dies"
  });
  ASSERT_TRUE(a.has_value());
  ASSERT_TRUE(transport_->publish("work", {"job-1", "{}", {}}).has_value());
  settle();
  (*a)->close();
  auto b = (*second)->subscribe({"shared", "work", settings}, [&](DeliveryPtr d) {
    second_attempts.push_back(d->attempt());
    EXPECT_TRUE(d->ack().has_value());
  });
  ASSERT_TRUE(b.has_value());
  ASSERT_TRUE((*second)->wait_until_idle().has_value());
  EXPECT_TRUE(second_attempts.empty()) << "taken over before the deadline";
  clock_.advance(seconds(31));
  ASSERT_TRUE((*second)->wait_until_idle().has_value());
  EXPECT_EQ(first_attempts, (std::vector<int>{1}));
  EXPECT_EQ(second_attempts, (std::vector<int>{2}));
}

TEST_F(RedisTransportTest, RetentionTrimsOnlyWhatEveryGroupAcknowledged) {
  std::vector<DeliveryPtr> held;
  auto slow = transport_->subscribe({"slow", "retained", {}}, [&](DeliveryPtr d) { held.push_back(d); });
  auto fast = transport_->subscribe({"fast", "retained", {}}, [](DeliveryPtr d) { (void)d->ack(); });
  ASSERT_TRUE(slow.has_value());
  ASSERT_TRUE(fast.has_value());
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(transport_->publish("retained", {fmt::format("m{}", i), "{}", {}}).has_value());
  settle();
  ASSERT_EQ(held.size(), 20u);
  RawRedis raw(uri_);
  const std::string stream = prefix_ + "topic:retained";
  ASSERT_EQ(*transport_->trim("retained"), 0u) << "the slow group acknowledged nothing";
  EXPECT_EQ(raw.integer({"XLEN", stream}), 20);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(held[static_cast<std::size_t>(i)]->ack().has_value());
  EXPECT_EQ(*transport_->trim("retained"), 10u);
  EXPECT_EQ(raw.integer({"XLEN", stream}), 10);
  // What is left is exactly the unacknowledged half, still settleable.
  for (int i = 10; i < 20; ++i) ASSERT_TRUE(held[static_cast<std::size_t>(i)]->ack().has_value());
  EXPECT_EQ(*transport_->trim("retained"), 9u) << "the last delivered entry is kept as the groups' position";
  EXPECT_EQ(*transport_->unacked("slow"), 0u);
  EXPECT_EQ(*transport_->unacked("fast"), 0u);
}

TEST_F(RedisTransportTest, ABatchLargerThanOneScriptCallStopsAtTheBacklogLimitAcrossCalls) {
  // 600 messages are three script calls (256 + 256 + 88); a limit of 300 stops the second
  // after 44 of its messages, and the third is never sent.
  RedisTransportOptions o = options_;
  o.max_unacked_per_subscription = 300;
  auto limited = RedisTransport::open(clock_, uri_, o);
  ASSERT_TRUE(limited.has_value()) << limited.error().to_string();
  std::vector<DeliveryPtr> held;
  auto sub = (*limited)->subscribe({"big", "big-batches", {}}, [&](DeliveryPtr d) { held.push_back(d); });
  ASSERT_TRUE(sub.has_value());
  auto batch = [](int from, int to) {
    std::vector<OutgoingMessage> out;
    for (int i = from; i < to; ++i) out.push_back({fmt::format("m{}", i), "{}", {}});
    return out;
  };
  auto first = (*limited)->publish_batch("big-batches", batch(0, 600));
  ASSERT_FALSE(first.status.has_value());
  EXPECT_EQ(first.status.error().code, ErrorCode::kBackpressure);
  EXPECT_EQ(first.published, 300u);
  RawRedis raw(uri_);
  EXPECT_EQ(raw.integer({"XLEN", prefix_ + "topic:big-batches"}), 300);
  EXPECT_EQ(*(*limited)->unacked("big"), 300u);
  ASSERT_TRUE((*limited)->wait_until_idle().has_value());
  ASSERT_EQ(held.size(), 300u);
  for (std::size_t i = 0; i < held.size(); ++i) ASSERT_EQ(held[i]->id(), fmt::format("m{}", i)) << "publish order";
  for (auto& d : held) ASSERT_TRUE(d->ack().has_value());
  auto rest = (*limited)->publish_batch("big-batches", batch(300, 600));
  ASSERT_TRUE(rest.status.has_value()) << rest.status.error().to_string();
  EXPECT_EQ(rest.published, 300u);
  ASSERT_TRUE((*limited)->wait_until_idle().has_value());
  ASSERT_EQ(held.size(), 600u);
  for (std::size_t i = 300; i < held.size(); ++i) EXPECT_EQ(held[i]->id(), fmt::format("m{}", i));
}

TEST_F(RedisTransportTest, UnknownSubscriptionHasNoDeadLettersAndReplayIsNotFound) {
  auto letters = transport_->dead_letters("nobody");
  ASSERT_TRUE(letters.has_value());
  EXPECT_TRUE(letters->empty());
  EXPECT_EQ(transport_->replay_dead_letter("nobody", "x").error().code, ErrorCode::kNotFound);
}

TEST_F(RedisTransportTest, ASubscriptionNameStaysOnItsTopic) {
  auto a = transport_->subscribe({"sticky", "topic-one", {}}, [](DeliveryPtr) {});
  ASSERT_TRUE(a.has_value());
  (*a)->close();
  auto b = transport_->subscribe({"sticky", "topic-two", {}}, [](DeliveryPtr) {});
  ASSERT_FALSE(b.has_value());
  EXPECT_EQ(b.error().code, ErrorCode::kInvalidArgument);
}

TEST_F(RedisTransportTest, ThreadedHandlersDeliverOnASystemClockWithoutPumping) {
  SystemClock clock;
  RedisTransportOptions options = options_;
  options.handler_threads = 2;
  auto t = RedisTransport::open(clock, uri_, options);
  ASSERT_TRUE(t.has_value());
  std::atomic<int> acked{0};
  auto sub = (*t)->subscribe({"live", "live-topic", {}}, [&](DeliveryPtr d) {
    if (d->ack()) ++acked;
  });
  ASSERT_TRUE(sub.has_value());
  for (int i = 0; i < 100; ++i) ASSERT_TRUE((*t)->publish("live-topic", {fmt::format("m{}", i), "{}", {}}).has_value());
  EXPECT_TRUE(pipeline_test::spin_until([&] { return acked.load() == 100; }));
  EXPECT_EQ(*(*t)->unacked("live"), 0u);
}

}  // namespace redis_transport_test
}  // namespace pipeline

namespace pipeline::redis_transport_test {

TEST_F(RedisTransportTest, ClosingLeavesNoEmptyConsumerInTheGroup) {
  std::vector<DeliveryPtr> held;
  auto settled = transport_->subscribe({"tidy", "tidy-topic", {}}, [](DeliveryPtr d) { (void)d->ack(); });
  ASSERT_TRUE(settled.has_value());
  ASSERT_TRUE(transport_->publish("tidy-topic", {"m1", "{}", {}}).has_value());
  settle();
  (*settled)->close();
  RawRedis raw(uri_);
  auto r = raw.run({"XINFO", "CONSUMERS", prefix_ + "topic:tidy-topic", "tidy"});
  ASSERT_TRUE(r && r->type == REDIS_REPLY_ARRAY);
  EXPECT_EQ(r->elements, 0u) << "an empty consumer was left in the group";
  // A consumer holding a delivery stays: deleting it would drop its pending entries.
  auto holding = transport_->subscribe({"tidy", "tidy-topic", {}}, [&](DeliveryPtr d) { held.push_back(d); });
  ASSERT_TRUE(holding.has_value());
  ASSERT_TRUE(transport_->publish("tidy-topic", {"m2", "{}", {}}).has_value());
  settle();
  (*holding)->close();
  r = raw.run({"XINFO", "CONSUMERS", prefix_ + "topic:tidy-topic", "tidy"});
  ASSERT_TRUE(r && r->type == REDIS_REPLY_ARRAY);
  EXPECT_EQ(r->elements, 1u);
  ASSERT_EQ(held.size(), 1u);
  EXPECT_TRUE(held[0]->ack().has_value()) << "the lease outlives the closed handler";
}

}  // namespace pipeline::redis_transport_test

namespace pipeline::redis_transport_test {

TEST(RedisTransportOpen, UserAndPasswordFromTheUriTheOptionOrTheEnvironment) {
  const std::string uri = redis_uri();
  ASSERT_FALSE(uri.empty());
  RawRedis raw(uri);
  ASSERT_TRUE(raw.connected());
  const std::string user = "pipeline-test-" + std::to_string(::getpid());
  auto created = raw.run({"ACL", "SETUSER", user, "on", ">pw-" + user, "~*", "&*", "+@all"});
  ASSERT_TRUE(created && created->type == REDIS_REPLY_STATUS);
  const std::string host_port = uri.substr(std::string("redis://").size());
  ManualClock clock;
  {
    auto t = RedisTransport::open(clock, "redis://" + user + ":pw-" + user + "@" + host_port);
    ASSERT_TRUE(t.has_value()) << t.error().to_string();
    EXPECT_TRUE((*t)->ping().has_value());
  }
  {
    RedisTransportOptions o;
    o.password = "pw-" + user;
    auto t = RedisTransport::open(clock, "redis://" + user + "@" + host_port, o);
    EXPECT_FALSE(t.has_value()) << "a user alone in the URI is read as a password";
    auto u = RedisTransport::open(clock, "redis://" + user + ":x@" + host_port, o);
    ASSERT_TRUE(u.has_value()) << "the option's password wins over the URI's: " << u.error().to_string();
  }
  {
    ::setenv("PIPELINE_TEST_REDIS_PASSWORD", ("pw-" + user).c_str(), 1);
    RedisTransportOptions o;
    o.password_env = "PIPELINE_TEST_REDIS_PASSWORD";
    auto t = RedisTransport::open(clock, "redis://" + user + ":@" + host_port, o);
    ::unsetenv("PIPELINE_TEST_REDIS_PASSWORD");
    ASSERT_TRUE(t.has_value()) << t.error().to_string();
  }
  {
    auto t = RedisTransport::open(clock, "redis://" + user + ":wrong-" + user + "@" + host_port);
    ASSERT_FALSE(t.has_value());
    EXPECT_EQ(t.error().code, ErrorCode::kUnavailable);
    EXPECT_EQ(t.error().to_string().find("wrong-" + user), std::string::npos) << t.error().to_string();
  }
  raw.run({"ACL", "DELUSER", user});
}

}  // namespace pipeline::redis_transport_test

namespace pipeline::redis_transport_test {

TEST_F(RedisTransportTest, ScriptsFlushedFromTheServerAreSentAgain) {
  // The server forgets its scripts when it restarts or when an operator runs SCRIPT
  // FLUSH: the next call gets NOSCRIPT and must send the script's body instead of failing.
  std::vector<std::string> ids;
  auto sub = transport_->subscribe({"flushed", "flushed-topic", {}}, [&](DeliveryPtr d) {
    ids.push_back(d->id());
    EXPECT_TRUE(d->ack().has_value());
  });
  ASSERT_TRUE(sub.has_value());
  std::vector<std::string> expected;
  for (int i = 0; i < 8; ++i) {  // every pooled connection has loaded the script
    expected.push_back(fmt::format("before-{}", i));
    ASSERT_TRUE(transport_->publish("flushed-topic", {expected.back(), "{}", {}}).has_value());
  }
  settle();
  RawRedis raw(uri_);
  auto flushed = raw.run({"SCRIPT", "FLUSH"});
  ASSERT_TRUE(flushed && flushed->type == REDIS_REPLY_STATUS);
  for (int i = 0; i < 8; ++i) {
    expected.push_back(fmt::format("after-{}", i));
    auto st = transport_->publish("flushed-topic", {expected.back(), "{}", {}});
    ASSERT_TRUE(st.has_value()) << st.error().to_string();
  }
  settle();
  EXPECT_EQ(ids, expected);
}

}  // namespace pipeline::redis_transport_test
