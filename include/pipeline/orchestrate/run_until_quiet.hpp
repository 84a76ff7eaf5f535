#pragma once
/// @file
/// `run_until_quiet`: runs a manual-clock pipeline until nothing moves, in one call.

#include <cstddef>
#include <functional>
#include <vector>

#include "pipeline/core/config.hpp"
#include "pipeline/core/result.hpp"
#include "pipeline/memory/memory_transport.hpp"
#include "pipeline/orchestrate/outbox_relay.hpp"
#include "pipeline/publish/unified_publisher.hpp"

namespace pipeline::inline v0 {

/// What `run_until_quiet` drives. Pointers are the caller's and must outlive the call.
struct QuietLoop {
  MemoryTransport* transport = nullptr;      ///< Pumped every round (pump mode). Required.
  std::vector<OutboxRelay*> relays{};          ///< Drained every round.
  std::vector<UnifiedPublisher*> publishers{};  ///< Settled every round.
  /// More work for every round (a batching worker's flush, …): each returns how much it moved.
  std::vector<std::function<Result<std::size_t>()>> steps{};
  /// Work that only makes sense once the rest is quiet (a check that reads a whole
  /// ledger): run at each quiet point; if any moves something, the rounds go on.
  std::vector<std::function<Result<std::size_t>()>> on_quiet{};
  /// Rounds before giving up: a pipeline that keeps moving (a handler that republishes
  /// forever) is a bug to report, not a hang.
  int max_rounds = 10000;
};

/// Runs rounds — settle each publisher, drain each relay, pump the transport, run each
/// step — until a round moves nothing and no `on_quiet` hook moves anything. Time does
/// not pass: what waits on the clock (a nack's backoff, a debounce, a lease) stays
/// waiting until the caller advances the `ManualClock` and calls again, which is what
/// makes a manual-clock test deterministic. Replaces the loop every test and demo writes:
/// `publisher.settle(); transport.pump(); relay.drain(); transport.pump();`.
///
/// Returns the rounds run (1 when everything was already quiet).
///
/// **Errors:** the first error of a relay or hook (nothing after it runs in that round;
/// call again after handling it); `kInvalidArgument` without a transport;
/// `kDeadlineExceeded` when still moving after `max_rounds`.
/// **Thread safety:** call it from the thread that drives the clock; the transport must
/// be in pump mode. **Performance:** one cheap pump and one outbox claim per relay per
/// round when idle.
///
/// **Example:**
/// @snippet orchestrate_snippets_test.cpp run_until_quiet
Result<int> run_until_quiet(const QuietLoop& loop);

}  // namespace pipeline::inline v0

#ifdef PIPELINE_HEADER_ONLY
#include "pipeline/orchestrate/run_until_quiet-inl.hpp"
#endif
