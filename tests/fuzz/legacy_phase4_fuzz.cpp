// libFuzzer target: the NBA example's phase4_complete message adapter
// (examples/phase5_coordinator/phase4_complete.cpp, compiled into this target).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_round_trip.hpp"
#include "phase5_coordinator/phase4_complete.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  pipeline::fuzz::check_round_trip(nba::phase5::adapt_phase4_message(input));
  return 0;
}
