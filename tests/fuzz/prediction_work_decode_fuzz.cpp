// libFuzzer target: the Phase 5 work decoder (PredictionWork::decode). Whatever it accepts
// must encode and decode back to the same work.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "pipeline/coordinate/batch_coordinator.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  auto w = pipeline::PredictionWork::decode(input);
  if (!w) return 0;
  auto back = pipeline::PredictionWork::decode(w->encode());
  if (!back || back->batch_id != w->batch_id || back->game_date != w->game_date || back->entity != w->entity ||
      back->attempt != w->attempt || back->version != w->version || back->kind != w->kind)
    std::abort();
  return 0;
}
