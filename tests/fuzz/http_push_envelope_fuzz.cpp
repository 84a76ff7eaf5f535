// libFuzzer target: the Pub/Sub push envelope decoder, base64 and percent-decoding of
// pipeline::http. Whatever decodes must round-trip its data through base64.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "pipeline/http/http_message.hpp"
#include "pipeline/http/push.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  auto env = pipeline::http::decode_push_envelope(input);
  if (env) {
    auto back = pipeline::http::base64_decode(pipeline::http::base64_encode(env->data));
    if (!back || *back != env->data) std::abort();
    if (env->delivery_attempt < 1) std::abort();
  }
  auto raw = pipeline::http::base64_decode(input);
  if (raw) {
    auto again = pipeline::http::base64_decode(pipeline::http::base64_encode(*raw));
    if (!again || *again != *raw) std::abort();
  }
  (void)pipeline::http::percent_decode(input, true);
  return 0;
}
