// libFuzzer target: the Phase 1 scraper message adapter.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_round_trip.hpp"
#include "pipeline/core/legacy_messages.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  static const pipeline::CalendarDate kGameDate = *pipeline::CalendarDate::parse("2025-11-14");
  pipeline::fuzz::check_round_trip(pipeline::adapt_scraper_message(input, kGameDate));
  return 0;
}
