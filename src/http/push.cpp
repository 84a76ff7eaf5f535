// Pub/Sub push: the envelope decoder and the endpoint.
#include "pipeline/http/push.hpp"

#include <atomic>
#include <chrono>
#include <exception>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "pipeline/core/ids.hpp"
#include "pipeline/core/json_reader.hpp"
#include "pipeline/core/message_codec.hpp"
#include "http_delivery.hpp"

namespace pipeline::inline v0::http {

namespace {
int base64_value(char c) noexcept {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+' || c == '-') return 62;
  if (c == '/' || c == '_') return 63;
  return -1;
}
}  // namespace

Result<std::string> base64_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size() / 4 * 3 + 3);
  std::uint32_t acc = 0;
  int bits = 0;
  std::size_t padding = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '=') {
      ++padding;
      continue;
    }
    if (padding != 0 || base64_value(c) < 0)
      return fail(ErrorCode::kInvalidArgument, "'data' is not valid base64: character {} ({}) is not allowed there", i,
                  c == '=' ? std::string("'='") : fmt::format("0x{:02x}", static_cast<unsigned char>(c)));
    acc = (acc << 6) | static_cast<std::uint32_t>(base64_value(c));
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xffU);
    }
  }
  const std::size_t symbols = text.size() - padding;
  if (symbols % 4 == 1 || padding > 2 || (padding != 0 && (symbols + padding) % 4 != 0))
    return fail(ErrorCode::kInvalidArgument, "'data' is not valid base64: its length ({} characters) is impossible",
                text.size());
  // Leftover bits must be zero (a canonical encoding).
  if (bits > 0 && (acc & ((1U << bits) - 1U)) != 0)
    return fail(ErrorCode::kInvalidArgument, "'data' is not valid base64: its last character has stray bits");
  return out;
}

std::string base64_encode(std::string_view bytes) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const std::uint32_t v = (static_cast<unsigned char>(bytes[i]) << 16) |
                            (static_cast<unsigned char>(bytes[i + 1]) << 8) | static_cast<unsigned char>(bytes[i + 2]);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (const std::size_t rest = bytes.size() - i; rest != 0) {
    std::uint32_t v = static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i])) << 16;
    if (rest == 2) v |= static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += rest == 2 ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

namespace {
// The string at `a` or `b` (the camelCase and snake_case spellings); an error when present
// and not a string.
Status read_either(const nlohmann::json& obj, const char* a, const char* b, std::string& out) {
  for (const char* name : {a, b}) {
    auto it = obj.find(name);
    if (it == obj.end() || it->is_null()) continue;
    if (!it->is_string())
      return fail(ErrorCode::kInvalidArgument, "push envelope field '{}' must be a string, got {}", name,
                  internal::describe_json(*it));
    out = it->get<std::string>();
    return ok();
  }
  return ok();
}
}  // namespace

Result<PushEnvelope> decode_push_envelope(std::string_view body, std::size_t max_bytes) {
  DecodeLimits limits;
  limits.max_bytes = max_bytes;
  limits.max_depth = 16;
  auto parsed = internal::parse_bounded_json(body, limits, "push envelope");
  if (!parsed) return fail(parsed.error());
  const nlohmann::json& j = *parsed;
  if (!j.is_object()) return fail(ErrorCode::kInvalidArgument, "a push envelope must be a JSON object");
  auto m = j.find("message");
  if (m == j.end() || !m->is_object())
    return fail(ErrorCode::kInvalidArgument, "push envelope field 'message' must be an object");
  PushEnvelope env;
  auto data = m->find("data");
  if (data != m->end() && !data->is_null()) {
    if (!data->is_string())
      return fail(ErrorCode::kInvalidArgument, "push envelope field 'message.data' must be a base64 string, got {}",
                  internal::describe_json(*data));
    auto decoded = base64_decode(data->get_ref<const std::string&>());
    if (!decoded) return fail(decoded.error());
    env.data = std::move(*decoded);
  }
  auto attrs = m->find("attributes");
  if (attrs != m->end() && !attrs->is_null()) {
    if (!attrs->is_object())
      return fail(ErrorCode::kInvalidArgument, "push envelope field 'message.attributes' must be an object");
    for (auto it = attrs->begin(); it != attrs->end(); ++it) {
      if (!it.value().is_string())
        return fail(ErrorCode::kInvalidArgument, "push envelope attribute '{}' must be a string, got {}",
                    internal::clip(it.key()), internal::describe_json(it.value()));
      env.attributes.emplace(it.key(), it.value().get<std::string>());
    }
  }
  PIPELINE_TRY(read_either(*m, "messageId", "message_id", env.message_id));
  PIPELINE_TRY(read_either(*m, "publishTime", "publish_time", env.publish_time));
  PIPELINE_TRY(read_either(*m, "orderingKey", "ordering_key", env.ordering_key));
  PIPELINE_TRY(read_either(j, "subscription", "subscription", env.subscription));
  for (const char* name : {"deliveryAttempt", "delivery_attempt"}) {
    auto it = j.find(name);
    if (it == j.end() || it->is_null()) continue;
    std::int64_t n = 0;
    if (!internal::json_to_int64(*it, n) || n < 1 || n > 1000000)
      return fail(ErrorCode::kInvalidArgument, "push envelope field '{}' must be a positive integer, got {}", name,
                  internal::describe_json(*it));
    env.delivery_attempt = static_cast<int>(n);
    break;
  }
  return env;
}


RequestHandler push_endpoint(Handler handler, PushEndpointOptions options) {
  return [handler = std::move(handler), options = std::move(options)](const HttpRequest& req) -> HttpResponse {
    const std::string media = req.media_type();
    if (media != "application/json")
      return HttpResponse::error(415, "unsupported_media_type",
                                 "a push request must be application/json, got '" +
                                     std::string(internal::clip(media.empty() ? "(none)" : media)) + "'");
    auto env = decode_push_envelope(req.body, options.max_payload_bytes * 4 / 3 + 64 * 1024);
    if (!env) return HttpResponse::error(400, "invalid_envelope", env.error().message);
    if (env->data.size() > options.max_payload_bytes)
      return HttpResponse::error(413, "payload_too_large", "message.data is larger than the endpoint accepts");
    std::string id;
    if (auto it = env->attributes.find(kStableIdAttribute); it != env->attributes.end()) {
      id = it->second;
      if (id.empty() || id.size() > 256 ||
          !std::all_of(id.begin(), id.end(), [](char c) { return c >= 0x20 && c <= 0x7e; }))
        return HttpResponse::error(400, "invalid_id",
                                   "attribute pipeline.id must be 1-256 printable ASCII characters");
    }
    if (options.require_message || id.empty()) {
      auto msg = decode_message(env->data);
      if (!msg) return HttpResponse::error(400, "invalid_message", msg.error().message);
      if (id.empty()) id = stable_id({msg->processor_name, msg->partition_date.to_string(), msg->execution_id});
    }
    auto delivery = std::make_shared<detail::HttpDelivery>(
        id, options.topic, env->subscription.empty() ? options.subscription : env->subscription, std::move(env->data),
        std::move(env->attributes), env->delivery_attempt);
    return detail::deliver(handler, delivery);
  };
}

}  // namespace pipeline::inline v0::http
