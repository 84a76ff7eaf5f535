#pragma once
/// @file
/// `UnifiedPublisher`: publish completion messages without ever failing or blocking the
/// processor that publishes them.

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "pipeline/core/clock.hpp"
#include "pipeline/core/config.hpp"
#include "pipeline/core/message.hpp"
#include "pipeline/core/metrics_sink.hpp"
#include "pipeline/core/result.hpp"
#include "pipeline/core/transport.hpp"
#include "pipeline/publish/connection.hpp"
#include "pipeline/publish/retry_policy.hpp"
#include "pipeline/publish/send_step.hpp"

namespace pipeline::inline v0 {

/// What `UnifiedPublisher::publish` does when its queue is full.
enum class FullQueuePolicy {
  /// Refuse the new message: `publish` returns `kBackpressure`; the caller decides.
  kReject,
  /// Accept the new message and drop the oldest queued one: counted in
  /// `pipeline_publisher_dropped_total` and reported through the `failed` signal with
  /// code `kBackpressure`. Never silent.
  kDropOldest,
};

/// Construction options of `UnifiedPublisher`.
struct UnifiedPublisherOptions {
  std::size_t queue_capacity = 10000;  ///< Messages waiting to be sent (the one being sent excluded); at least 1.
  FullQueuePolicy full_queue_policy = FullQueuePolicy::kReject;
  Labels metric_labels{};              ///< Added to every metric of this publisher.
  /// The retry policy of the publisher's own `SendStep`; null: a default
  /// `ExponentialBackoff`. Must stay null when the publisher is given a step (the step
  /// has its policy).
  std::shared_ptr<RetryPolicy> retry_policy{};
  /// Receives the publisher's (and its own step's) counters; `NullMetricsSink` when null.
  /// Must outlive the publisher.
  MetricsSink* metrics = nullptr;
};

/// Publishes unified completion `Message`s to a `Transport` in the background.
///
/// `publish` validates the message (a bad message is the caller's bug and comes back at
/// once as `kInvalidArgument`), gives it its **stable id** (the caller's, or
/// `processor_name/game_date/execution_id`), and queues it; one worker thread encodes
/// it and sends it. A transient failure (`kUnavailable`, `kBackpressure`, …) is retried
/// after the `RetryPolicy`'s delay — a timer on the injected `Clock`, so tests advance a
/// `ManualClock` instead of sleeping; other failures, and running out of retries, end
/// in the `failed` signal and a counter. Messages are sent one at a time in queue order.
///
/// **Fire-and-forget, by design:** the queue is in memory. Whatever is queued when the
/// process dies is lost. What must survive a crash (a phase trigger) is written to the
/// outbox in the same transaction as the decision and relayed from there by an
/// `OutboxRelay`, which sends each entry synchronously through the **same** `SendStep`
/// (retry policy, metrics, hooks) — pass `send_step()` to the relay so both paths share
/// one set of counters and callbacks — and marks it sent only after the transport
/// accepted it: no queue and no thread between the deciding commit and the transport.
///
/// **Shutdown:** call `flush(deadline)` first; it returns whether everything was sent by
/// then. The destructor stops the worker, tries each message still queued once (no
/// retry, no waiting on the clock) and reports the ones that fail as abandoned
/// (counter `pipeline_publisher_abandoned_total`, `failed` signal with `kCancelled`).
///
/// **Hooks** (`on_published(topic, id)`, `on_retry(topic, id, failed_attempts, delay,
/// error)`, `on_failed(topic, id, error)`, each returning a `Connection`): the hooks of
/// the `SendStep`, so a relay sharing the step reports through them too. Callbacks run on
/// the thread that sent — the worker here — except `on_failed` for a drop-oldest loss
/// (the publishing thread) and for abandoned messages (the destroying thread); never
/// under the publisher's lock. **Metrics** (handles obtained at construction): the
/// step's `pipeline_publisher_published_total`, `_retries_total`, `_failed_total`, and
/// the queue's `_rejected_total`, `_dropped_total`, `_abandoned_total`.
///
/// **Thread safety:** `publish`, `flush`, `queue_depth` and signal connection may be
/// called from any thread (`settle` too). **Performance:** `publish` never blocks on the transport: it
/// validates, moves the message into the queue under a short lock, and wakes the worker
/// only when it is idle; encoding happens on the worker. **Errors:** `publish` →
/// `kInvalidArgument` (invalid message, topic or id), `kBackpressure` (queue full under
/// `kReject`), `kCancelled` (shutting down). `create` → `kInvalidArgument` for a zero
/// queue capacity, a null step, a retry policy given with a step, or a bad metric label. No exception escapes.
///
/// **Example:**
/// @snippet publish_snippets_test.cpp unified_publisher
class UnifiedPublisher {
 public:
  /// A publisher with its own `SendStep` over `transport` (`options.retry_policy` null: a
  /// default `ExponentialBackoff`). `clock` and `transport` must outlive it.
  /// **Errors:** `kInvalidArgument` for a zero queue capacity or a bad metric label
  /// (`check_metric_labels`).
  [[nodiscard]] static Result<std::unique_ptr<UnifiedPublisher>> create(Clock& clock, Transport& transport,
                                                                        UnifiedPublisherOptions options = {});
  /// A publisher that sends through `step` (shared with an `OutboxRelay`, say); its
  /// queue counters go to `options.metrics`.
  /// **Errors:** `kInvalidArgument` for a null step, a zero queue capacity, a retry
  /// policy (the step has its own) or a bad metric label.
  [[nodiscard]] static Result<std::unique_ptr<UnifiedPublisher>> create(Clock& clock, std::shared_ptr<SendStep> step,
                                                                        UnifiedPublisherOptions options = {});

  UnifiedPublisher(const UnifiedPublisher&) = delete;
  UnifiedPublisher& operator=(const UnifiedPublisher&) = delete;

  /// Stops the worker, tries each message still queued once, reports the rest abandoned.
  ~UnifiedPublisher();

  /// Validates and queues `message` for `topic`; returns the stable id it will carry.
  /// `id` empty: `processor_name/game_date/execution_id`.
  Result<std::string> publish(std::string_view topic, Message message, std::string id = {});

  /// Waits until every queued message is sent or given up, or until the clock reaches
  /// `deadline`. Returns true when nothing is left. With a `ManualClock`, time must be
  /// advanced by another thread for retries (and the deadline) to happen.
  bool flush(TimePoint deadline);

  /// Waits until the worker cannot progress without time passing: the queue is empty, or
  /// its head waits for a retry timer. Tests call it between `ManualClock` steps so the
  /// outcome depends on simulated time only, never on thread speed.
  void settle();

  /// Messages queued or being sent.
  [[nodiscard]] std::size_t queue_depth() const;

  /// Connects a callback called after the transport accepted a message (see `SendStep`).
  Connection on_published(SendStep::PublishedCallback callback) { return step_->on_published(std::move(callback)); }
  /// Connects a callback called when a failed send will be retried after a delay.
  Connection on_retry(SendStep::RetryCallback callback) { return step_->on_retry(std::move(callback)); }
  /// Connects a callback called when a message is given up on (permanent error, retries
  /// exhausted, dropped from a full queue, abandoned at shutdown).
  Connection on_failed(SendStep::FailedCallback callback) { return step_->on_failed(std::move(callback)); }

  /// The send step: give it to an `OutboxRelay` so triggers share this publisher's
  /// retry policy, metrics and hooks.
  [[nodiscard]] const std::shared_ptr<SendStep>& send_step() const noexcept { return step_; }

 private:
  struct Impl;  // queue, worker thread and timers, in unified_publisher-inl.hpp

  UnifiedPublisher(Clock& clock, std::shared_ptr<SendStep> step, UnifiedPublisherOptions options);

  std::shared_ptr<SendStep> step_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace pipeline::inline v0

#ifdef PIPELINE_HEADER_ONLY
#include "pipeline/publish/unified_publisher-inl.hpp"
#endif
