// CloudEvents 1.0 HTTP binding: binary and structured mode in, a completion out.
#include "pipeline/http/cloudevents.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "http_delivery.hpp"
#include "pipeline/core/json_reader.hpp"
#include "pipeline/core/message_codec.hpp"
#include "pipeline/core/trace_context.hpp"
#include "pipeline/http/push.hpp"

namespace pipeline::inline v0::http {

namespace {

constexpr std::size_t kMaxAttributeBytes = 4096;

Status check_required(const CloudEvent& e) {
  if (e.id.empty()) return fail(ErrorCode::kInvalidArgument, "invalid CloudEvent: missing required attribute 'id'");
  if (e.source.empty())
    return fail(ErrorCode::kInvalidArgument, "invalid CloudEvent: missing required attribute 'source'");
  if (e.type.empty()) return fail(ErrorCode::kInvalidArgument, "invalid CloudEvent: missing required attribute 'type'");
  for (const auto* v : {&e.id, &e.source, &e.type, &e.subject, &e.time, &e.datacontenttype, &e.dataschema})
    if (v->size() > kMaxAttributeBytes)
      return fail(ErrorCode::kInvalidArgument, "invalid CloudEvent: an attribute is longer than {} bytes",
                  kMaxAttributeBytes);
  if (!e.traceparent.empty()) {
    if (auto t = TraceContext::parse(e.traceparent); !t)
      return fail(ErrorCode::kInvalidArgument, "invalid CloudEvent: traceparent '{}' is not a W3C traceparent: {}",
                  internal::clip(e.traceparent), t.error().message);
  }
  return ok();
}

}  // namespace

Result<CloudEvent> decode_structured_cloudevent(std::string_view body) {
  DecodeLimits limits;
  limits.max_bytes = 10 * 1024 * 1024;
  auto parsed = internal::parse_bounded_json(body, limits, "CloudEvent");
  if (!parsed) return fail(parsed.error());
  const nlohmann::json& j = *parsed;
  if (!j.is_object()) return fail(ErrorCode::kInvalidArgument, "invalid CloudEvent: a structured event must be a JSON object");
  CloudEvent e;
  auto str = [&](const char* name, std::string& out) -> Status {
    auto it = j.find(name);
    if (it == j.end() || it->is_null()) return ok();
    if (!it->is_string())
      return fail(ErrorCode::kInvalidArgument, "invalid CloudEvent: attribute '{}' must be a string, got {}", name,
                  internal::describe_json(*it));
    out = it->get<std::string>();
    return ok();
  };
  std::string specversion;
  PIPELINE_TRY(str("specversion", specversion));
  if (specversion != "1.0")
    return fail(ErrorCode::kInvalidArgument, "invalid CloudEvent: specversion '{}' is not 1.0",
                internal::clip(specversion.empty() ? "(missing)" : specversion));
  PIPELINE_TRY(str("id", e.id));
  PIPELINE_TRY(str("source", e.source));
  PIPELINE_TRY(str("type", e.type));
  PIPELINE_TRY(str("subject", e.subject));
  PIPELINE_TRY(str("time", e.time));
  PIPELINE_TRY(str("datacontenttype", e.datacontenttype));
  PIPELINE_TRY(str("dataschema", e.dataschema));
  PIPELINE_TRY(str("traceparent", e.traceparent));
  const auto data = j.find("data");
  const auto data64 = j.find("data_base64");
  const bool has_data = data != j.end() && !data->is_null();
  const bool has_data64 = data64 != j.end() && !data64->is_null();
  if (has_data && has_data64)
    return fail(ErrorCode::kInvalidArgument, "invalid CloudEvent: both 'data' and 'data_base64' are present");
  if (has_data64) {
    if (!data64->is_string())
      return fail(ErrorCode::kInvalidArgument, "invalid CloudEvent: 'data_base64' must be a string");
    auto bytes = base64_decode(data64->get_ref<const std::string&>());
    if (!bytes) return fail(ErrorCode::kInvalidArgument, "invalid CloudEvent: data_base64: {}", bytes.error().message);
    e.data = std::move(*bytes);
  } else if (has_data) {
    // JSON data is carried as its JSON text; a string under a non-JSON content type is the
    // text itself.
    const bool json_type = e.datacontenttype.empty() || e.datacontenttype.find("json") != std::string::npos;
    e.data = data->is_string() && !json_type ? data->get<std::string>()
                                             : data->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  PIPELINE_TRY(check_required(e));
  return e;
}

Result<CloudEvent> decode_cloudevent(const HttpRequest& request) {
  const std::string media = request.media_type();
  if (media == "application/cloudevents+json") return decode_structured_cloudevent(request.body);
  if (media.rfind("application/cloudevents", 0) == 0)
    return fail(ErrorCode::kInvalidArgument, "invalid CloudEvent: event format '{}' is not supported (use "
                                             "application/cloudevents+json or binary mode)",
                internal::clip(media));
  auto specversion = request.header("ce-specversion");
  if (!specversion)
    return fail(ErrorCode::kInvalidArgument,
                "not a CloudEvent: no ce-specversion header and the content type is not application/cloudevents+json");
  if (*specversion != "1.0")
    return fail(ErrorCode::kInvalidArgument, "invalid CloudEvent: ce-specversion '{}' is not 1.0",
                internal::clip(*specversion));
  CloudEvent e;
  auto get = [&](std::string_view name, std::string& out) {
    if (auto v = request.header(name)) {
      // Binary-mode header values are percent-encoded where needed (spec 3.1.3.2).
      auto decoded = percent_decode(*v, false);
      out = decoded ? std::move(*decoded) : std::string(*v);
    }
  };
  get("ce-id", e.id);
  get("ce-source", e.source);
  get("ce-type", e.type);
  get("ce-subject", e.subject);
  get("ce-time", e.time);
  get("ce-dataschema", e.dataschema);
  if (auto tp = request.header("ce-traceparent")) {
    e.traceparent = std::string(*tp);
  } else if (auto tp2 = request.header("traceparent")) {
    e.traceparent = std::string(*tp2);
  }
  if (auto ct = request.header("Content-Type")) e.datacontenttype = std::string(*ct);
  e.data = request.body;
  PIPELINE_TRY(check_required(e));
  return e;
}

nlohmann::json completion_cloudevent(const Message& m, std::string_view stable_id, std::string_view time) {
  nlohmann::json e{{"specversion", "1.0"},
                   {"id", stable_id},
                   {"source", fmt::format("/pipeline/{}/{}", m.phase, m.processor_name)},
                   {"type", kCompletionEventType},
                   {"subject", m.partition_date.to_string()},
                   {"datacontenttype", "application/json"},
                   {"data", nlohmann::json::parse(encode_message(m))}};
  if (!time.empty()) e["time"] = time;
  if (!m.traceparent.empty()) e["traceparent"] = m.traceparent;
  return e;
}

RequestHandler cloudevent_endpoint(Handler handler, CloudEventEndpointOptions options) {
  return [handler = std::move(handler), options = std::move(options)](const HttpRequest& req) -> HttpResponse {
    auto e = decode_cloudevent(req);
    if (!e) return HttpResponse::error(400, "invalid_cloudevent", e.error().message);
    if (options.require_message) {
      auto m = decode_message(e->data);
      if (!m) return HttpResponse::error(400, "invalid_message", m.error().message);
    }
    Attributes attrs;
    if (!e->traceparent.empty()) attrs.emplace(std::string(attributes::kTraceparent), e->traceparent);
    attrs.emplace("ce-type", e->type);
    attrs.emplace("ce-source", e->source);
    if (!e->subject.empty()) attrs.emplace("ce-subject", e->subject);
    if (e->id.size() > 256)
      return HttpResponse::error(400, "invalid_cloudevent", "invalid CloudEvent: id is longer than 256 characters");
    auto delivery = std::make_shared<detail::HttpDelivery>(e->id, options.topic, options.subscription,
                                                           std::move(e->data), std::move(attrs), 1);
    return detail::deliver(handler, delivery);
  };
}

}  // namespace pipeline::inline v0::http
