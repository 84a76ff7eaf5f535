#pragma once
// Shared by the decoder fuzz targets: whatever a decoder accepts must be a valid message
// that survives encode -> decode unchanged. Anything else aborts, so libFuzzer reports it.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "pipeline/core/message_codec.hpp"

namespace pipeline::fuzz {

inline void check_round_trip(const Result<Message>& decoded) {
  if (!decoded) {
    if (decoded.error().message.empty()) {
      std::fprintf(stderr, "decoder failed without a message\n");
      std::abort();
    }
    return;
  }
  if (auto st = validate_message(*decoded); !st) {
    std::fprintf(stderr, "decoded message is invalid: %s\n", st.error().to_string().c_str());
    std::abort();
  }
  const std::string text = encode_message(*decoded);
  auto again = decode_message(text);
  if (!again) {
    std::fprintf(stderr, "re-encoded message does not decode: %s\n%s\n", again.error().to_string().c_str(),
                 text.c_str());
    std::abort();
  }
  if (!(*again == *decoded)) {
    std::fprintf(stderr, "round trip changed the message:\n%s\n%s\n", text.c_str(), encode_message(*again).c_str());
    std::abort();
  }
}

}  // namespace pipeline::fuzz
