#pragma once
/// @file
/// The transport bridge: Pub/Sub push envelopes and CloudEvents in over HTTP, each
/// unified message published on to a `Transport` topic the request names.

#include <string>

#include "pipeline/core/result.hpp"
#include "pipeline/core/transport.hpp"
#include "pipeline/http/router.hpp"

namespace pipeline::inline v0::http {

/// Settings of `mount_transport_bridge`.
struct TransportBridgeOptions {
  /// Path prefix of both routes ("" → `/push` and `/events`).
  std::string prefix;
  /// Reported by `Delivery::subscription()` when a push envelope names none.
  std::string subscription = "http-bridge";
};

/// Mounts `POST <prefix>/push?topic=T` (a Pub/Sub push envelope, as `push_endpoint`
/// decodes it) and `POST <prefix>/events?topic=T` (a CloudEvent, binary or structured, as
/// `cloudevent_endpoint` decodes it). The data must be a unified `Message`; it is
/// published to `transport` on topic `T` under its stable id (the push endpoint's, or the
/// event's `id`) with its attributes, so the services subscribed there take it as if it
/// had been published in-process. Answers:
/// - 200 `{"status":"acked","id":...}` once the transport accepted it;
/// - 503 with `Retry-After` when the transport failed transiently (`is_transient`: down,
///   backpressure, a conflict, a timeout), so Pub/Sub or the CloudEvents sender retries;
/// - 400 for a missing or invalid `?topic=`, a malformed envelope or event, a payload that
///   is not a unified message, or a publish the transport refuses for good; 415 for a push
///   that is not `application/json` — never 5xx for bad input.
///
/// A redelivered request is published again with the same stable id; consumers
/// deduplicate on it (`IdempotentConsumer`).
///
/// **Thread safety:** mount before the server starts; `transport` must outlive the
/// server, and its `publish` runs on the server's I/O thread.
/// **Performance:** the endpoint's decode (one JSON parse, a base64 decode, the message
/// decode) plus one `publish`.
/// **Errors:** the router's (`kAlreadyExists` when a path is mounted already).
///
/// **Example:**
/// @snippet http_snippets_test.cpp transport_bridge
[[nodiscard]] Status mount_transport_bridge(Router& router, Transport& transport, TransportBridgeOptions options = {});

}  // namespace pipeline::inline v0::http
