#pragma once
/// @file
/// Pub/Sub push in: the push envelope's decoder and an endpoint that hands each pushed
/// message to the same `Handler` a `Transport` subscription uses.

#include <cstddef>
#include <string>
#include <string_view>

#include "pipeline/core/transport.hpp"
#include "pipeline/core/result.hpp"
#include "pipeline/http/http_message.hpp"

namespace pipeline::inline v0::http {

/// The attribute a publisher sets to carry the library's stable id through Pub/Sub
/// (whose own `messageId` changes on every publish of the same logical message).
inline constexpr std::string_view kStableIdAttribute = "pipeline.id";

/// One Pub/Sub push request body, decoded:
/// `{"message":{"data":"<base64>","attributes":{...},"messageId":"...","publishTime":"...",
/// "orderingKey":"..."},"subscription":"projects/p/subscriptions/s","deliveryAttempt":2}`
/// (`message_id` / `publish_time` accepted as Pub/Sub also sends them).
struct PushEnvelope {
  std::string data;               ///< `message.data`, base64-decoded (may be empty).
  Attributes attributes;          ///< `message.attributes` (string values only).
  std::string message_id;         ///< Pub/Sub's id of this publish (not the stable id).
  std::string publish_time;       ///< As sent (RFC 3339).
  std::string ordering_key;
  std::string subscription;       ///< The full subscription name, when sent.
  int delivery_attempt = 1;       ///< `deliveryAttempt` (only sent with a dead-letter policy); 1 otherwise.
};

/// Decodes a push body. Strict: a missing `message`, a `data` that is not a string of
/// valid base64, non-string attributes, a `deliveryAttempt` that is not a positive
/// integer each fail with the field named. At most `max_bytes` of input.
/// **Errors:** `kInvalidArgument` with a sentence naming the field.
Result<PushEnvelope> decode_push_envelope(std::string_view body, std::size_t max_bytes = 10 * 1024 * 1024);

/// Standard base64 (RFC 4648, with padding; `-`/`_` of the URL alphabet accepted too;
/// unpadded input accepted). **Errors:** `kInvalidArgument` naming the first bad character.
Result<std::string> base64_decode(std::string_view text);

/// Standard base64 with padding.
std::string base64_encode(std::string_view bytes);

/// Settings of `push_endpoint`.
struct PushEndpointOptions {
  std::string topic;         ///< Reported by `Delivery::topic()`.
  std::string subscription;  ///< Reported by `Delivery::subscription()` when the envelope has none.
  /// The payload must decode as a unified `Message` (message_codec.hpp); otherwise 400
  /// and the handler is not called. Off: any bytes are handed on.
  bool require_message = true;
  /// Largest `message.data` accepted once decoded.
  std::size_t max_payload_bytes = 10 * 1024 * 1024;
};

/// A `RequestHandler` for Pub/Sub push: decodes the envelope, gives `handler` a `Delivery`
/// and answers from how the handler settled it:
/// - `ack` → 200 `{"status":"acked","id":...}` (Pub/Sub reads 2xx as an ack);
/// - `nack`, or not settled when the handler returns → 503 (transient; Pub/Sub redelivers);
/// - `reject` → 400 with the reason (the message can never succeed);
/// - a wrong content type → 415, a malformed envelope, bad base64 or a payload that is
///   not a valid message → 400, each with the JSON error body; never 5xx, never a crash.
///
/// The delivery's id is the **stable id**: the `pipeline.id` attribute when present, else
/// the id the library's publisher gives the message (`stable_id({processor_name,
/// game_date, execution_id})`), never Pub/Sub's `messageId` — so wrap the handler in an
/// `IdempotentConsumer` and duplicates are processed once. `attempt()` is the envelope's
/// `deliveryAttempt`; `extend_deadline` succeeds and does nothing (push has no lease).
///
/// **Thread safety:** the handler runs on the server's I/O thread and must settle the
/// delivery before it returns (a later settle fails with `kFailedPrecondition`).
/// **Performance:** one JSON parse and one base64 decode per request, plus the message
/// decode when `require_message`.
///
/// **Example:**
/// @code
///   auto consumer = pipeline::IdempotentConsumer::create(store, body, {.name = "phase3"});
///   (void)router.add("POST", "/push/phase2", pipeline::http::push_endpoint(consumer->handler(),
///                                                      {"phase2-raw-complete", "phase3-push"}));
/// @endcode
RequestHandler push_endpoint(Handler handler, PushEndpointOptions options);

}  // namespace pipeline::inline v0::http
