// libFuzzer target: the Phase 4 phase4_complete message adapter.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_round_trip.hpp"
#include "pipeline/core/legacy_messages.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  pipeline::fuzz::check_round_trip(pipeline::adapt_phase4_message(input));
  return 0;
}
