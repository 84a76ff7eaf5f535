#pragma once
/// @file
/// CloudEvents 1.0 over HTTP: decoding the binary (`ce-*` headers) and structured
/// (`application/cloudevents+json`) modes, rendering a completion as a structured event,
/// and an endpoint that hands each event to a transport `Handler`.

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "pipeline/core/message.hpp"
#include "pipeline/core/result.hpp"
#include "pipeline/core/transport.hpp"
#include "pipeline/http/http_message.hpp"

namespace pipeline::inline v0::http {

/// One CloudEvent (spec 1.0): the required context attributes, the optional ones the
/// library uses, the W3C `traceparent` extension, and the data as bytes.
struct CloudEvent {
  std::string id;               ///< Required. For the library's events: the stable id.
  std::string source;           ///< Required URI-reference ("/pipeline/phase4_precompute/ml_feature_store").
  std::string type;             ///< Required ("dev.pipeline.completion.v1").
  std::string subject;          ///< Optional (the library puts the game date here).
  std::string time;             ///< Optional RFC 3339.
  std::string datacontenttype;  ///< Optional ("application/json").
  std::string dataschema;       ///< Optional.
  std::string traceparent;      ///< Distributed-tracing extension; validated when present.
  std::string data;             ///< The data, as bytes (JSON text for JSON data).
};

/// The `type` of a completion rendered by `completion_cloudevent`.
inline constexpr std::string_view kCompletionEventType = "dev.pipeline.completion.v1";

/// Decodes a CloudEvent from an HTTP request: structured mode when the media type is
/// `application/cloudevents+json`, binary mode when `ce-specversion` is present.
/// **Errors:** `kInvalidArgument` naming what is wrong ("ce-specversion '0.3' is not 1.0",
/// "missing required attribute 'source'", "traceparent '...' is not a W3C traceparent",
/// "both data and data_base64").
Result<CloudEvent> decode_cloudevent(const HttpRequest& request);

/// Decodes the structured-mode JSON body alone (see `decode_cloudevent`).
Result<CloudEvent> decode_structured_cloudevent(std::string_view body);

/// Renders a completion as a structured-mode CloudEvent (JSON object): `id` the stable id,
/// `source` `/pipeline/<phase>/<processor_name>`, `type` `kCompletionEventType`, `subject`
/// the game date, `time` (given), `datacontenttype` application/json, `data` the message's
/// JSON, and `traceparent` when the message has one.
nlohmann::json completion_cloudevent(const Message& m, std::string_view stable_id, std::string_view time);

/// Settings of `cloudevent_endpoint`.
struct CloudEventEndpointOptions {
  std::string topic;         ///< Reported by `Delivery::topic()`.
  std::string subscription;  ///< Reported by `Delivery::subscription()`.
  /// The data must decode as a unified `Message`; otherwise 400, handler not called.
  bool require_message = true;
};

/// A `RequestHandler` for CloudEvents (binary or structured): the event becomes a
/// `Delivery` whose id is the event's `id` (the producer's stable id: redeliveries carry
/// the same one) and whose attributes carry `traceparent`, `ce-type`, `ce-source`; answers
/// as `push_endpoint` does (200 ack, 503 nack or unsettled, 400 reject or invalid event).
/// **Thread safety:** as `push_endpoint`.
RequestHandler cloudevent_endpoint(Handler handler, CloudEventEndpointOptions options);

}  // namespace pipeline::inline v0::http
