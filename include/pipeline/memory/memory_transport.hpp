#pragma once
/// @file
/// `MemoryTransport`: the complete at-least-once `Transport` contract, in-process.

#include <cstddef>
#include <memory>
#include <string_view>
#include <vector>

#include "pipeline/core/clock.hpp"
#include "pipeline/core/config.hpp"
#include "pipeline/core/result.hpp"
#include "pipeline/core/transport.hpp"
#include "pipeline/memory/memory_transport_options.hpp"

namespace pipeline::inline v0 {

namespace internal {
class MemoryTransportCore;
}  // namespace internal

/// The in-process `Transport`: the complete at-least-once contract (redelivery after
/// the ack deadline, deadline extension, nack with exponential backoff, dead-lettering
/// after `max_delivery_attempts` to the `-dlq` topic, replay, backpressure) on the
/// injected `Clock`, so tests and simulated-time runs are deterministic.
///
/// Delivery happens in one of three ways:
/// - **pump mode** (default): nothing is delivered until someone calls `pump()`, which
///   runs every deliverable handler call on the caller's thread until quiescent;
/// - **inline**: with `MemoryTransportOptions::inline_delivery`, `publish` itself runs the
///   handlers (the lowest-latency path, allocation-light: one shared message, one map
///   node per subscription, one delivery object);
/// - **threaded**: `start(n)` runs `n` worker threads; `stop()` joins them.
/// Redeliveries are due times on the clock: advancing a `ManualClock` fires them (and in
/// threaded or inline mode delivers them; in pump mode the next `pump()` does).
///
/// **Ordering:** each subscription hands out first deliveries in publish order (one
/// worker or pump: handlers see them in that order; several workers may run them
/// concurrently). Nothing is promised across redeliveries or across subscriptions.
/// **Retention:** acknowledged and dead-lettered messages are freed at once; a
/// subscription holds at most `max_unacked_per_subscription` unsettled messages, and a
/// publish that would exceed it on any subscription of the topic fails with
/// `kBackpressure` without reaching any subscription. Dead letters are always accepted
/// on the dead-letter topic (never dropped). A subscription exists from its first
/// `subscribe` to the transport's end; a backlog published while no handler is attached
/// waits for the next one (call `pump()` after subscribing in pump or inline mode).
///
/// **Thread safety:** every member may be called from any thread. Handlers run without
/// the transport's lock; `Subscription::close()` waits for running calls of its handler.
/// Do not destroy the transport from inside a handler.
/// **Performance:** O(log n) per publish per subscription; one clock timer for the
/// earliest due time (no clock call per delivery).
/// **Errors:** as the `Transport` port; `start` → `kFailedPrecondition` when already
/// started, `kInvalidArgument` for zero threads.
///
/// **Example:**
/// @code
///   pipeline::ManualClock clock;
///   pipeline::MemoryTransport transport{clock};
///   auto sub = transport.subscribe({"phase3-sub", "phase2-complete", {}},
///                                  [](pipeline::DeliveryPtr d) { d->ack(); });
///   transport.publish("phase2-complete", {"phase2/2025-11-18", "{}", {}});
///   transport.pump();   // the handler ran on this thread
/// @endcode
class MemoryTransport final : public Transport {
 public:
  explicit MemoryTransport(Clock& clock, MemoryTransportOptions options = {});
  MemoryTransport(const MemoryTransport&) = delete;
  MemoryTransport& operator=(const MemoryTransport&) = delete;
  ~MemoryTransport() override;

  Result<std::unique_ptr<Subscription>> subscribe(const SubscribeParams& config, Handler handler) override;
  Result<std::vector<DeadLetter>> dead_letters(std::string_view subscription) override;
  Status replay_dead_letter(std::string_view subscription, std::string_view id) override;

  /// Pump mode: delivers everything deliverable now on this thread, including what the
  /// handlers publish or nack with zero backoff, until quiescent. Returns handler calls.
  /// Cheap when there is nothing to do (one lock).
  std::size_t pump();

  /// Starts `threads` worker threads that deliver from now on.
  Status start(std::size_t threads);

  /// Stops and joins the worker threads (running handler calls finish first). Idempotent.
  void stop();

  /// Waits until no message is deliverable to an attached handler and no handler call
  /// runs. In pump mode (no workers) it pumps instead of waiting. For tests and shutdown.
  void wait_until_idle();

  /// Whether worker threads are running.
  [[nodiscard]] bool started();

  /// How many unsettled messages `subscription` holds (0 for an unknown name).
  [[nodiscard]] std::size_t unacked(std::string_view subscription);

 protected:
  Status do_publish(PublishParams params) override;

 private:
  std::shared_ptr<internal::MemoryTransportCore> core_;
};

}  // namespace pipeline::inline v0

#ifdef PIPELINE_HEADER_ONLY
#include "pipeline/memory/memory_transport-inl.hpp"
#endif
