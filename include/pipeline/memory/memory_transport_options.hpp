#pragma once
/// @file
/// `MemoryTransportOptions`: how a `MemoryTransport` bounds and delivers.

#include <cstddef>

namespace pipeline::inline v0 {

/// Construction options of `MemoryTransport`.
struct MemoryTransportOptions {
  /// Unsettled (unacknowledged, not dead-lettered) messages one subscription may hold.
  /// When any subscription of a topic is full, `publish` to that topic answers
  /// `kBackpressure` and the message goes nowhere (all or nothing).
  std::size_t max_unacked_per_subscription = 100000;
  /// When true and no worker threads run, `publish` (and a timer that makes messages
  /// due, and an out-of-handler `nack` with zero backoff) delivers synchronously on the
  /// calling thread, unless a delivery is already running — that running loop then
  /// picks the new message up. This is the low-latency path for single-process use.
  bool inline_delivery = false;
};

}  // namespace pipeline::inline v0
