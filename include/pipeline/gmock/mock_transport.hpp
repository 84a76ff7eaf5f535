#pragma once
/// @file
/// `mocks::MockTransport`, `mocks::MockSubscription` and `mocks::MockDelivery`:
/// GoogleMock mocks of the `Transport` port (target `pipeline::gmock`, which links GoogleTest's gmock).

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <gmock/gmock.h>

#include "pipeline/core/result.hpp"
#include "pipeline/core/transport.hpp"

namespace pipeline::inline v0::mocks {

/// A GoogleMock `Subscription`: what `MockTransport::subscribe` returns unless told
/// otherwise. `name()` returns the name it was made with; expect `close()` to check
/// that a component detaches its handler.
///
/// **Thread safety:** as any GoogleMock mock: calls from any thread; set expectations
/// before other threads call. **Performance:** for unit tests (each call takes
/// GoogleMock's lock and matches expectations).
///
/// **Example:**
/// @code
///   auto sub = std::make_unique<::testing::StrictMock<pipeline::mocks::MockSubscription>>("sub");
///   EXPECT_CALL(*sub, close());
/// @endcode
class MockSubscription : public Subscription {
 public:
  explicit MockSubscription(std::string name) : name_(std::move(name)) {
    ON_CALL(*this, name).WillByDefault(::testing::ReturnRef(name_));
  }
  MOCK_METHOD(const std::string&, name, (), (const, noexcept, override));
  MOCK_METHOD(void, close, (), (override));

 private:
  std::string name_;
};

/// A GoogleMock `Delivery`, for a test of a handler: hand it one and expect how it
/// settles (`EXPECT_CALL(*delivery, ack())`). The getters answer from the message, topic,
/// subscription and attempt it was made with; the deadline is never; unless a test sets
/// an action, `ack`, `nack`, `reject` and `extend_deadline` succeed.
///
/// **Thread safety:** as any GoogleMock mock: calls from any thread (a handler may settle
/// later, on another thread); set expectations before. **Performance:** for unit tests.
///
/// **Example:**
/// @code
///   auto delivery = std::make_shared<::testing::StrictMock<pipeline::mocks::MockDelivery>>(
///       pipeline::OutgoingMessage{"phase2/2025-11-18", "{}", {}}, "phase2-complete", "phase3-sub");
///   EXPECT_CALL(*delivery, nack(::testing::HasSubstr("does not decode")));
///   handler(delivery);
/// @endcode
class MockDelivery : public Delivery {
 public:
  explicit MockDelivery(OutgoingMessage message = {}, std::string topic = {}, std::string subscription = {},
                        int attempt = 1)
      : message_(std::move(message)), topic_(std::move(topic)), subscription_(std::move(subscription)) {
    using ::testing::Return;
    using ::testing::ReturnRef;
    ON_CALL(*this, id).WillByDefault(ReturnRef(message_.id));
    ON_CALL(*this, topic).WillByDefault(ReturnRef(topic_));
    ON_CALL(*this, subscription).WillByDefault(ReturnRef(subscription_));
    ON_CALL(*this, payload).WillByDefault(ReturnRef(message_.payload));
    ON_CALL(*this, attributes).WillByDefault(ReturnRef(message_.attributes));
    ON_CALL(*this, attempt).WillByDefault(Return(attempt));
    ON_CALL(*this, deadline).WillByDefault(Return(TimePoint::max()));
  }
  MOCK_METHOD(const std::string&, id, (), (const, noexcept, override));
  MOCK_METHOD(const std::string&, topic, (), (const, noexcept, override));
  MOCK_METHOD(const std::string&, subscription, (), (const, noexcept, override));
  MOCK_METHOD(const std::string&, payload, (), (const, noexcept, override));
  MOCK_METHOD(const Attributes&, attributes, (), (const, noexcept, override));
  MOCK_METHOD(int, attempt, (), (const, noexcept, override));
  MOCK_METHOD(TimePoint, deadline, (), (const, override));
  MOCK_METHOD(Status, ack, (), (override));
  MOCK_METHOD(Status, nack, (std::string_view reason), (override));
  MOCK_METHOD(Status, reject, (std::string_view reason), (override));
  MOCK_METHOD(Status, extend_deadline, (Duration extension), (override));

 private:
  OutgoingMessage message_;
  std::string topic_;
  std::string subscription_;
};

/// A GoogleMock `Transport`, for a test that checks what a component asks of its
/// transport, or makes one call fail (the fakes in pipeline/mocks/ cover the rest).
///
/// The mocked members are the port's virtuals: `do_publish` and `do_publish_batch`
/// (what the non-virtual `publish` and `publish_batch` call), `subscribe`,
/// `dead_letters`, `replay_dead_letter` and `ping`. Unless a test sets an action:
/// `do_publish`, `replay_dead_letter` and `ping` succeed; `do_publish_batch` does what
/// the port's default does (one `do_publish` per message, so expectations on
/// `do_publish` see batches too); `subscribe` succeeds with a `MockSubscription` (the
/// handler goes nowhere: capture it with `::testing::SaveArg<1>` to deliver);
/// `dead_letters` is empty. `delegate_to(real)` forwards every unset call to a real
/// transport instead, so a test can fail one publish of an otherwise working pipeline.
/// `PublishParams::topic` is a view valid during the call only: a matcher reads it at
/// the call, an action that keeps it copies it.
///
/// **Thread safety:** as any GoogleMock mock: its members may be called from any thread
/// (transports are called from worker threads); set expectations before other threads
/// call. **Performance:** for unit tests (each call takes GoogleMock's lock and
/// matches expectations). **Errors:** what the test's actions return.
///
/// **Example:**
/// @code
///   ::testing::NiceMock<pipeline::mocks::MockTransport> transport;
///   EXPECT_CALL(transport, do_publish(::testing::Field(&pipeline::PublishParams::topic, "acme-phase3-trigger")))
///       .WillOnce(::testing::Return(pipeline::fail(pipeline::ErrorCode::kUnavailable, "broker down")));
///   // ... run the component: its first publish to that topic fails ...
/// @endcode
class MockTransport : public Transport {
 public:
  MockTransport() {
    ON_CALL(*this, do_publish_batch).WillByDefault([this](PublishBatchParams params) {
      return Transport::do_publish_batch(std::move(params));
    });
    ON_CALL(*this, subscribe).WillByDefault([](const SubscribeParams& params, const Handler&) {
      return Result<std::unique_ptr<Subscription>>(
          std::make_unique<::testing::NiceMock<MockSubscription>>(params.name));
    });
  }

  /// Every call without an action of its own goes to `real` (which must outlive this).
  void delegate_to(Transport& real) {
    ON_CALL(*this, do_publish).WillByDefault([&real](PublishParams params) { return real.publish(std::move(params)); });
    ON_CALL(*this, do_publish_batch).WillByDefault([&real](PublishBatchParams params) {
      return real.publish_batch(std::move(params));
    });
    ON_CALL(*this, subscribe).WillByDefault([&real](const SubscribeParams& params, Handler handler) {
      return real.subscribe(params, std::move(handler));
    });
    ON_CALL(*this, dead_letters).WillByDefault([&real](std::string_view subscription) {
      return real.dead_letters(subscription);
    });
    ON_CALL(*this, replay_dead_letter).WillByDefault([&real](std::string_view subscription, std::string_view id) {
      return real.replay_dead_letter(subscription, id);
    });
    ON_CALL(*this, ping).WillByDefault([&real] { return real.ping(); });
  }

  MOCK_METHOD(Status, do_publish, (PublishParams params), (override));
  MOCK_METHOD(PublishBatchResult, do_publish_batch, (PublishBatchParams params), (override));
  MOCK_METHOD(Result<std::unique_ptr<Subscription>>, subscribe, (const SubscribeParams& params, Handler handler),
              (override));
  MOCK_METHOD(Result<std::vector<DeadLetter>>, dead_letters, (std::string_view subscription), (override));
  MOCK_METHOD(Status, replay_dead_letter, (std::string_view subscription, std::string_view id), (override));
  MOCK_METHOD(Status, ping, (), (override));
};

}  // namespace pipeline::inline v0::mocks
