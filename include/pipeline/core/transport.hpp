#pragma once
/// @file
/// The `Transport` port: at-least-once topics and subscriptions (Pub/Sub, Redis Streams,
/// or the in-memory implementation).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pipeline/core/clock.hpp"
#include "pipeline/core/result.hpp"

namespace pipeline::inline v0 {

/// Message attributes: small string key/values carried beside the payload.
using Attributes = std::map<std::string, std::string, std::less<>>;

/// Attribute names the library reserves (all begin with "pipeline.").
namespace attributes {
inline constexpr std::string_view kSourceTopic = "pipeline.source_topic";          ///< On dead letters.
inline constexpr std::string_view kSourceSubscription = "pipeline.source_subscription";  ///< On dead letters.
inline constexpr std::string_view kDeliveryAttempts = "pipeline.delivery_attempts";  ///< On dead letters.
inline constexpr std::string_view kLastError = "pipeline.last_error";              ///< On dead letters.
inline constexpr std::string_view kTraceparent = "traceparent";                   ///< W3C, when known.
}  // namespace attributes

/// What a publisher hands the transport.
struct OutgoingMessage {
  /// The caller's **stable id** (1–256 printable ASCII characters). The same logical
  /// message always carries the same id across retries, relays and redeliveries;
  /// consumers deduplicate on it, never on a transport's own message id.
  std::string id;
  std::string payload;     ///< Opaque bytes (the library sends JSON).
  Attributes attributes;   ///< Delivered unchanged.
};

/// What `Transport::publish_batch` did: messages `[0, published)` were accepted, in order;
/// when `status` is an error, it is why message `published` was not, and the call stopped
/// there (all or a prefix, never a gap).
struct PublishBatchResult {
  std::size_t published = 0;
  Status status;  ///< ok when every message was accepted.
};

/// Per-subscription delivery settings. Defaults follow the seeds' Pub/Sub setup.
struct SubscriptionSettings {
  /// How long a delivery may stay unacknowledged before it is redelivered.
  Duration ack_deadline = std::chrono::seconds(600);
  /// Deliveries (first included) before a message moves to the dead-letter topic.
  int max_delivery_attempts = 5;
  /// Redelivery delay after a nack: min_backoff * 2^(attempt-1), capped at max_backoff.
  Duration min_backoff = std::chrono::seconds(10);
  Duration max_backoff = std::chrono::seconds(600);
  /// Where dead letters go; empty means `TopicNaming::dead_letter(topic)`.
  std::string dead_letter_topic;
};

/// The arguments of `Transport::publish`: one message for one topic.
///
/// A struct, so a field added later (an ordering key, a deadline) reaches every
/// implementation without changing `do_publish`'s signature. `topic` is a view: it is
/// valid for the call only, so an implementation (or a mock's action) that keeps the
/// topic copies it; the message is handed over and may be moved from.
struct PublishParams {
  std::string_view topic;   ///< Created on first use.
  OutgoingMessage message;  ///< Handed over: the transport may move from it.
};

/// The arguments of `Transport::publish_batch`: messages for one topic, in order.
/// `topic` is a view valid for the call only, as in `PublishParams`.
struct PublishBatchParams {
  std::string_view topic;
  std::vector<OutgoingMessage> messages;  ///< Published in this order.
};

/// The arguments of `Transport::subscribe`: a named subscription on a topic. Each
/// subscription receives every message published to its topic **after the subscription
/// was first created**; subscriptions with different names are independent; the same
/// name resumes the same backlog. A struct so that a new field does not change the
/// virtual's signature; it owns its strings, so a caller may keep it (services do).
struct SubscribeParams {
  std::string name;
  std::string topic;
  SubscriptionSettings settings;
};

/// One delivery of one message to one subscription. Settle it with `ack` or `nack`;
/// while it is unsettled, the transport redelivers it after its deadline.
///
/// **Thread safety:** all members may be called from any thread, including after the
/// handler returned (hold the `DeliveryPtr` to ack asynchronously).
/// **Errors:** `ack`, `nack` and `extend_deadline` return `kFailedPrecondition` when the
/// delivery is already settled or its lease was lost (the deadline passed and the
/// message was handed out again) — the work may then run twice, which is why
/// consumers deduplicate on `id()`; `kUnavailable` when the transport is down.
class Delivery {
 public:
  virtual ~Delivery() = default;
  [[nodiscard]] virtual const std::string& id() const noexcept = 0;            ///< The stable id.
  [[nodiscard]] virtual const std::string& topic() const noexcept = 0;
  [[nodiscard]] virtual const std::string& subscription() const noexcept = 0;
  [[nodiscard]] virtual const std::string& payload() const noexcept = 0;
  [[nodiscard]] virtual const Attributes& attributes() const noexcept = 0;
  /// 1 for the first delivery, 2 for the first redelivery, ...
  [[nodiscard]] virtual int attempt() const noexcept = 0;
  /// When the transport will consider this delivery lost and redeliver.
  [[nodiscard]] virtual TimePoint deadline() const = 0;
  /// Done: never deliver this message to this subscription again.
  virtual Status ack() = 0;
  /// Failed: redeliver after backoff, or dead-letter it once attempts are used up.
  /// `reason` is kept as the message's last error.
  virtual Status nack(std::string_view reason) = 0;
  /// Invalid: retrying cannot help (it does not decode, it breaks a rule), so the message
  /// moves to the dead-letter topic now, whatever attempts remain, with `reason` as its
  /// last error — instead of being redelivered until its attempts run out.
  virtual Status reject(std::string_view reason) = 0;
  /// Still working: the deadline becomes now + `extension` (long batches call this
  /// periodically so they are not redelivered mid-run).
  virtual Status extend_deadline(Duration extension) = 0;
};

using DeliveryPtr = std::shared_ptr<Delivery>;

/// Receives deliveries. Called on a transport thread (threaded mode) or on the thread
/// that pumps the transport; never with a transport lock held. It should not throw: a
/// throw is caught and treated as `nack` with the exception's text.
using Handler = std::function<void(DeliveryPtr)>;

/// An active handler attachment. Destroying it (or `close()`) stops new deliveries to
/// this handler; the subscription and its backlog persist in the transport, and
/// unsettled deliveries are redelivered after their deadline.
class Subscription {
 public:
  virtual ~Subscription() = default;
  [[nodiscard]] virtual const std::string& name() const noexcept = 0;
  /// Detaches the handler and waits until no call of it is running (do not call it from
  /// inside the handler).
  virtual void close() = 0;
};

/// A message that used up its delivery attempts.
struct DeadLetter {
  std::string id;               ///< The stable id, unchanged.
  std::string source_topic;
  std::string subscription;
  std::string payload;
  Attributes attributes;        ///< The original attributes.
  int attempts = 0;
  std::string last_error;
  TimePoint dead_lettered_at;
};

/// The transport port: publish bytes to topics, deliver them at least once to every
/// subscription, dead-letter what keeps failing.
///
/// Contract (tests/contracts/transport_contract.hpp checks it for every implementation):
/// - **at least once**: a published message is delivered to every subscription of its
///   topic until acknowledged, dead-lettered, or the subscription is deleted;
/// - redelivery after `ack_deadline` without ack, or after backoff following `nack`;
///   `extend_deadline` postpones it;
/// - `reject` dead-letters a delivery at once, whatever attempts remain;
/// - after `max_delivery_attempts` deliveries without ack, the message is published to
///   the dead-letter topic (with `attributes::kDeliveryAttempts`, `kLastError`,
///   `kSourceTopic`, `kSourceSubscription`) and listed by `dead_letters`;
/// - retention trims only acknowledged messages; when unacknowledged messages fill a
///   subscription's backlog, `publish` fails with `kBackpressure` — never a silent drop;
/// - **no ordering** is promised across redeliveries; implementations state any order
///   they do keep;
/// - `publish_batch` is `publish` of each message in turn, stopping at the first refusal:
///   what it accepted is a prefix of the batch, and the refused message and those after
///   it reach no subscription (after `kUnavailable` they may or may not have, exactly as
///   for a `publish` that answers `kUnavailable`: send them again with the same ids).
///
/// **Implementing it:** the virtuals whose arguments may grow take one params struct
/// (`PublishParams`, `PublishBatchParams`, `SubscribeParams`), so a field added to one
/// does not break implementations. `publish` and `publish_batch` are public non-virtual
/// functions (the short `(topic, message)` form every caller uses, and the params form
/// a wrapper forwards unchanged) over the protected virtuals `do_publish` and
/// `do_publish_batch`: an implementation overrides those, and since it declares no
/// `publish` of its own, no overload of `publish` is hidden in it (a derived class
/// overriding one overload of a name hides the others). `subscribe` has one form and is
/// itself the virtual.
///
/// **Thread safety:** implementations must allow every member to be called from any
/// thread. **Performance:** `publish` adds nothing to `do_publish` (the message is moved
/// through, the topic stays a view). **Errors:** `publish` → `kInvalidArgument` (bad topic name or id),
/// `kBackpressure`, `kUnavailable`; `subscribe` → `kInvalidArgument`,
/// `kAlreadyExists` (a handler is already attached to that subscription name).
///
/// **Example:**
/// @code
///   auto sub = transport.subscribe({"phase3-sub", "acme-phase2-raw-complete", {}},
///                                  [](pipeline::DeliveryPtr d) { handle(d->payload()); d->ack(); });
///   transport.publish("acme-phase2-raw-complete", {"phase2/2025-11-18/orders_feed", json, {}});
/// @endcode
class Transport {
 public:
  virtual ~Transport() = default;

  /// Publishes one message to `topic` (created on first use).
  Status publish(std::string_view topic, OutgoingMessage message) {
    return do_publish(PublishParams{topic, std::move(message)});
  }
  /// The same, from a params struct (what a wrapping transport forwards).
  Status publish(PublishParams params) { return do_publish(std::move(params)); }

  /// Publishes `messages` to `topic`, in order, as `publish` of each in turn would, and
  /// stops at the first one refused (see `PublishBatchResult`): a failed batch is retried
  /// from `published` on. A networked transport sends the batch in one round trip, which
  /// is what makes batches worth forming where a caller has them (the outbox relay).
  /// **Errors:** as `publish`, for the first message refused.
  PublishBatchResult publish_batch(std::string_view topic, std::vector<OutgoingMessage> messages) {
    return do_publish_batch(PublishBatchParams{topic, std::move(messages)});
  }
  /// The same, from a params struct (what a wrapping transport forwards).
  PublishBatchResult publish_batch(PublishBatchParams params) { return do_publish_batch(std::move(params)); }

  /// Creates the subscription if needed and attaches `handler` to it.
  virtual Result<std::unique_ptr<Subscription>> subscribe(const SubscribeParams& params, Handler handler) = 0;

  /// Dead letters of `subscription`, oldest first.
  virtual Result<std::vector<DeadLetter>> dead_letters(std::string_view subscription) = 0;

  /// Moves one dead letter back into `subscription` for a fresh set of attempts.
  /// **Errors:** `kNotFound` when no dead letter has that id.
  virtual Status replay_dead_letter(std::string_view subscription, std::string_view id) = 0;

  /// Checks that the transport can reach its broker now (one round trip for a networked
  /// transport), for readiness checks. The default, for in-process transports, succeeds.
  /// **Errors:** `kUnavailable` when the broker cannot be reached within the timeout.
  virtual Status ping() { return ok(); }

 protected:
  /// What `publish` does: publishes `params.message` to `params.topic`.
  virtual Status do_publish(PublishParams params) = 0;

  /// What `publish_batch` does. The default, for in-process transports and wrappers,
  /// calls `do_publish` for each message and stops at the first refusal; a networked
  /// transport overrides it to send the batch in one round trip.
  virtual PublishBatchResult do_publish_batch(PublishBatchParams params) {
    PublishBatchResult out;
    for (auto& message : params.messages) {
      out.status = do_publish(PublishParams{params.topic, std::move(message)});
      if (!out.status) break;
      ++out.published;
    }
    return out;
  }
};

}  // namespace pipeline::inline v0
