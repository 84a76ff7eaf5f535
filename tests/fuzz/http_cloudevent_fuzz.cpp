// libFuzzer target: the structured CloudEvent decoder and the router of pipeline::http.
// A decoded event re-rendered from its fields must decode to the same fields.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include <nlohmann/json.hpp>

#include "pipeline/http/cloudevents.hpp"
#include "pipeline/http/push.hpp"
#include "pipeline/http/router.hpp"

namespace {
const pipeline::http::Router& router() {
  static const pipeline::http::Router r = [] {
    pipeline::http::Router x;
    auto ok = [](const pipeline::http::HttpRequest&) { return pipeline::http::HttpResponse::text(200, "ok"); };
    (void)x.add("GET", "/health", ok);
    (void)x.add("POST", "/trigger", ok);
    (void)x.add("GET", "/status", ok);
    return x;
  }();
  return r;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  auto e = pipeline::http::decode_structured_cloudevent(input);
  if (e) {
    nlohmann::json j{{"specversion", "1.0"}, {"id", e->id}, {"source", e->source}, {"type", e->type},
                     {"data_base64", pipeline::http::base64_encode(e->data)}};
    if (!e->traceparent.empty()) j["traceparent"] = e->traceparent;
    auto back = pipeline::http::decode_structured_cloudevent(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    if (back && (back->data != e->data)) std::abort();
  }
  // The router on an arbitrary method and path: always an answer, never a throw.
  pipeline::http::HttpRequest req;
  const auto split = input.find(' ');
  req.method = std::string(input.substr(0, split));
  req.path = split == std::string_view::npos ? "/" : std::string(input.substr(split + 1));
  const auto res = router().handle(req);
  if (res.status < 200 || res.status > 599) std::abort();
  return 0;
}
