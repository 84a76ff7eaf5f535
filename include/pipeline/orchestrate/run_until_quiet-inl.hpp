#pragma once
/// @file
/// Bodies of pipeline/orchestrate/run_until_quiet.hpp (see pipeline/core/config.hpp).

#include "pipeline/orchestrate/run_until_quiet.hpp"

namespace pipeline::inline v0 {

PIPELINE_INLINE Result<int> run_until_quiet(const QuietLoop& loop) {
  if (loop.transport == nullptr) return fail(ErrorCode::kInvalidArgument, "run_until_quiet needs a transport");
  auto run_all = [](const std::vector<std::function<Result<std::size_t>()>>& hooks) -> Result<std::size_t> {
    std::size_t moved = 0;
    for (const auto& hook : hooks) {
      auto n = hook();
      if (!n) return fail(n.error());
      moved += *n;
    }
    return moved;
  };
  for (int round = 1; round <= loop.max_rounds; ++round) {
    std::size_t moved = 0;
    for (auto* publisher : loop.publishers) publisher->settle();
    for (auto* relay : loop.relays) {
      auto n = relay->drain();
      if (!n) return fail(n.error());
      moved += *n;
    }
    moved += loop.transport->pump();
    auto stepped = run_all(loop.steps);
    if (!stepped) return fail(stepped.error());
    moved += *stepped;
    if (moved > 0) continue;
    auto quiet = run_all(loop.on_quiet);
    if (!quiet) return fail(quiet.error());
    if (*quiet == 0) return round;
  }
  return fail(ErrorCode::kDeadlineExceeded, "the pipeline was still moving after {} rounds", loop.max_rounds);
}

}  // namespace pipeline::inline v0
