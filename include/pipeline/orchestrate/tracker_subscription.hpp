#pragma once
/// @file
/// `subscribe_tracker`: feeds a `CompletionTracker` from its upstream completion topic in
/// one call.

#include <memory>
#include <string>
#include <string_view>

#include "pipeline/core/config.hpp"
#include "pipeline/core/result.hpp"
#include "pipeline/core/transport.hpp"
#include "pipeline/orchestrate/completion_tracker.hpp"

namespace pipeline::inline v0 {

/// How `subscribe_tracker` subscribes.
struct TrackerSubscriptionOptions {
  /// The subscription's name; empty: `<tracker name>-tracker`. Keep it stable across
  /// restarts: the same name resumes the same backlog.
  std::string subscription;
  SubscriptionSettings settings;
  /// Deliveries one tracker transaction may record at most (>= 1). 1: each delivery is
  /// recorded in its own transaction on the thread that handles it. More: the handler
  /// queues each delivery and returns; a thread of the subscription's own records the
  /// queue, up to `max_batch` per transaction (a batch grows while the previous commit
  /// waits for its flush), and a second one acknowledges each committed delivery while
  /// the next batch is recorded. A delivery is acknowledged only after the
  /// transaction that recorded it committed; when a batch fails, its deliveries are
  /// recorded one by one and settled as in the table below. Once the transport drops the
  /// handler (the subscription closed), what is still queued is recorded and settled.
  std::size_t max_batch = 1;
};

/// Subscribes `tracker` to `topic` (its upstream phase's completion topic) and settles
/// every delivery the way every team would otherwise write by hand:
///
/// | delivery | settled with |
/// |---|---|
/// | decodes and is recorded (counted, duplicate, unexpected, late) | `ack` |
/// | does not decode, or the tracker refuses it (`kInvalidArgument`: an unset date, a bad processor name) | `reject` — dead-lettered at once, the reason kept as its last error |
/// | the store failed (`kUnavailable`, `kConflict`, …) | `nack` with the error — redelivered after backoff |
///
/// Deliveries may arrive on any transport thread; the tracker is thread-safe. With
/// `max_batch` > 1 a handler call returns before its delivery is settled (the
/// subscription's thread settles it). Keep the
/// returned subscription alive as long as the tracker should be fed (destroying it
/// detaches the handler; the backlog stays in the transport). Pair it with a
/// `DeadLetterRecorder` on the same topic so rejected messages are listed by `dlq list`.
///
/// **Errors:** the transport's `subscribe` errors (`kInvalidArgument`, `kAlreadyExists`;
/// `kInvalidArgument` for `max_batch` 0).
/// **Performance:** one decode per delivery and one tracker transaction per delivery, or
/// per batch with `max_batch` > 1: on a store that waits for a WAL flush per commit
/// (PostgreSQL, `synchronous_commit` on) batching is what lets completions arrive faster
/// than one flush each.
///
/// **Example:**
/// @snippet orchestrate_snippets_test.cpp tracker_subscription
Result<std::unique_ptr<Subscription>> subscribe_tracker(Transport& transport, CompletionTracker& tracker,
                                                         std::string_view topic, TrackerSubscriptionOptions options = {});

/// The handler `subscribe_tracker` attaches with `max_batch` 1 (settling each delivery,
/// in its own transaction, as the table above says), for hosts that attach handlers themselves (`ServiceRuntime::subscribe`).
/// `tracker` must outlive the subscription.
Handler tracker_handler(CompletionTracker& tracker);

}  // namespace pipeline::inline v0

#ifdef PIPELINE_HEADER_ONLY
#include "pipeline/orchestrate/tracker_subscription-inl.hpp"
#endif
