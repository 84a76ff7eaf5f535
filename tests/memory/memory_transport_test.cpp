#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "contracts/transport_contract.hpp"
#include "pipeline/core/manual_clock.hpp"
#include "pipeline/memory/memory_transport.hpp"
#include "pipeline/memory/memory_transport_core.hpp"
#include "spin_until.hpp"

namespace pipeline {
namespace memory_transport_test {

using std::chrono::seconds;

enum class Mode { kPump, kInline, kThreadedOne, kThreadedMany };

class MemoryHarness final : public contract::TransportHarness {
 public:
  explicit MemoryHarness(Mode mode)
      : mode_(mode),
        transport_(MemoryTransport::create(clock_, MemoryTransportOptions{kLimit, mode == Mode::kInline}).value()) {
    if (mode == Mode::kThreadedOne || mode == Mode::kThreadedMany) {
      const bool started = transport_->start(mode == Mode::kThreadedOne ? 1 : 3).has_value();
      EXPECT_TRUE(started);
    }
  }
  Transport& transport() override { return *transport_; }
  void advance(Duration step) override { clock_.advance(step); }
  void settle() override { transport_->wait_until_idle(); }
  std::size_t backlog_limit() const override { return kLimit; }
  bool preserves_publish_order() const override { return mode_ != Mode::kThreadedMany; }

 private:
  static constexpr std::size_t kLimit = 1000;
  Mode mode_;
  ManualClock clock_;
  std::unique_ptr<MemoryTransport> transport_;
};

contract::TransportContractParam param(std::string name, Mode mode) {
  return {std::move(name), [mode] { return std::make_unique<MemoryHarness>(mode); }};
}

}  // namespace memory_transport_test

namespace contract {
INSTANTIATE_TEST_SUITE_P(MemoryTransport, TransportContract,
                         ::testing::Values(memory_transport_test::param("Pump", memory_transport_test::Mode::kPump),
                                           memory_transport_test::param("Inline", memory_transport_test::Mode::kInline),
                                           memory_transport_test::param("ThreadedOneWorker",
                                                                        memory_transport_test::Mode::kThreadedOne),
                                           memory_transport_test::param("ThreadedThreeWorkers",
                                                                        memory_transport_test::Mode::kThreadedMany)),
                         [](const auto& info) { return info.param.name; });
}  // namespace contract

namespace memory_transport_test {

TEST(MemoryTransport, CreateRejectsAZeroUnackedLimit) {
  ManualClock clock;
  auto transport = MemoryTransport::create(clock, {.max_unacked_per_subscription = 0});
  ASSERT_FALSE(transport);
  EXPECT_EQ(transport.error().code, ErrorCode::kInvalidArgument);
}

TEST(MemoryTransport, PumpModeDeliversNothingUntilPumped) {
  ManualClock clock;
  auto transport = MemoryTransport::create(clock).value();
  int calls = 0;
  auto sub = transport->subscribe({"s", "t", {}}, [&](DeliveryPtr d) {
    ++calls;
    (void)d->ack();
  });
  ASSERT_TRUE(sub.has_value());
  ASSERT_TRUE(transport->publish("t", {"m1", "{}", {}}).has_value());
  EXPECT_EQ(calls, 0);
  EXPECT_EQ(transport->unacked("s"), 1u);
  EXPECT_EQ(transport->pump(), 1u);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(transport->unacked("s"), 0u);
}

TEST(MemoryTransport, InlineDeliveryRunsTheHandlerInsidePublish) {
  ManualClock clock;
  auto transport = MemoryTransport::create(clock, MemoryTransportOptions{100, true}).value();
  std::vector<std::string> seen;
  auto sub = transport->subscribe({"s", "t", {}}, [&](DeliveryPtr d) {
    seen.push_back(d->id());
    // A publish from inside a handler is picked up by the running loop, not recursively.
    if (d->id() == "m1") {
      EXPECT_TRUE(transport->publish("t", {"m2", "{}", {}}).has_value());
    }
    EXPECT_EQ(seen.size(), d->id() == "m1" ? 1u : 2u);
    (void)d->ack();
  });
  ASSERT_TRUE(transport->publish("t", {"m1", "{}", {}}).has_value());
  EXPECT_EQ(seen, (std::vector<std::string>{"m1", "m2"}));
}

TEST(MemoryTransport, ThreadedModeRedeliversWhenTheManualClockAdvancesWithoutPump) {
  ManualClock clock;
  auto transport = MemoryTransport::create(clock).value();
  ASSERT_TRUE(transport->start(2).has_value());
  std::atomic<int> calls{0};
  SubscriptionSettings s;
  s.ack_deadline = seconds(30);
  auto sub = transport->subscribe({"s", "t", s}, [&](DeliveryPtr d) {
    if (++calls >= 2) (void)d->ack();
  });
  ASSERT_TRUE(transport->publish("t", {"m1", "{}", {}}).has_value());
  transport->wait_until_idle();
  EXPECT_EQ(calls.load(), 1);
  clock.advance(seconds(30));  // the timer wakes a worker; nobody pumps
  transport->wait_until_idle();
  EXPECT_EQ(calls.load(), 2);
}

TEST(MemoryTransport, BackoffDoublesAndIsCappedAtMaxBackoff) {
  SubscriptionSettings s;
  s.min_backoff = seconds(10);
  s.max_backoff = seconds(60);
  using Core = internal::MemoryTransportCore;
  EXPECT_EQ(Core::backoff_for(s, 1), seconds(10));
  EXPECT_EQ(Core::backoff_for(s, 2), seconds(20));
  EXPECT_EQ(Core::backoff_for(s, 3), seconds(40));
  EXPECT_EQ(Core::backoff_for(s, 4), seconds(60));
  EXPECT_EQ(Core::backoff_for(s, 40), seconds(60));
}

TEST(MemoryTransport, CloseWaitsForTheRunningHandlerCall) {
  ManualClock clock;
  auto transport = MemoryTransport::create(clock).value();
  ASSERT_TRUE(transport->start(1).has_value());
  std::atomic<bool> entered{false}, release{false}, finished{false};
  auto sub = transport->subscribe({"s", "t", {}}, [&](DeliveryPtr d) {
    entered = true;
    EXPECT_TRUE(pipeline_test::spin_until([&] { return release.load(); }));
    finished = true;
    (void)d->ack();
  });
  ASSERT_TRUE(transport->publish("t", {"m1", "{}", {}}).has_value());
  ASSERT_TRUE(pipeline_test::spin_until([&] { return entered.load(); }));
  std::thread closer([&] { (*sub)->close(); EXPECT_TRUE(finished.load()); });
  release = true;
  closer.join();
}

TEST(MemoryTransport, DeliveryOutlivingTheTransportAnswersUnavailable) {
  DeliveryPtr kept;
  {
    ManualClock clock;
    auto transport = MemoryTransport::create(clock).value();
    auto sub = transport->subscribe({"s", "t", {}}, [&](DeliveryPtr d) { kept = d; });
    ASSERT_TRUE(transport->publish("t", {"m1", "{}", {}}).has_value());
    transport->pump();
    sub->reset();
    transport.reset();
  }
  ASSERT_TRUE(kept);
  EXPECT_EQ(kept->ack().error().code, ErrorCode::kUnavailable);
}

TEST(MemoryTransport, ReplayRefusedWithBackpressureWhenTheSubscriptionIsFull) {
  ManualClock clock;
  auto transport = MemoryTransport::create(clock, MemoryTransportOptions{1, false}).value();
  SubscriptionSettings s;
  s.max_delivery_attempts = 1;
  bool fail_it = true;
  auto sub = transport->subscribe({"s", "t", s}, [&](DeliveryPtr d) {
    if (fail_it) (void)d->nack("no");
  });
  ASSERT_TRUE(transport->publish("t", {"m1", "{}", {}}).has_value());
  transport->pump();
  fail_it = false;
  ASSERT_TRUE(transport->publish("t", {"m2", "{}", {}}).has_value());
  transport->pump();  // m2 held unacked: the subscription is full
  EXPECT_EQ(transport->replay_dead_letter("s", "m1").error().code, ErrorCode::kBackpressure);
  EXPECT_EQ(transport->dead_letters("s")->size(), 1u);
}

}  // namespace memory_transport_test
}  // namespace pipeline
