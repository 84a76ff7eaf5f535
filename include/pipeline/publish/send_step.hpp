#pragma once
/// @file
/// `SendStep`: the one step that hands a message to the transport — retry decision,
/// metrics and hooks — shared by `UnifiedPublisher` and `OutboxRelay`.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pipeline/core/clock.hpp"
#include "pipeline/core/config.hpp"
#include "pipeline/core/metrics_sink.hpp"
#include "pipeline/core/result.hpp"
#include "pipeline/core/transport.hpp"
#include "pipeline/publish/connection.hpp"
#include "pipeline/publish/retry_policy.hpp"

namespace pipeline::inline v0 {

/// Construction options of a `SendStep`.
struct SendStepOptions {
  /// Decides whether (and after which delay) a transient failure is retried. Null: a
  /// default `ExponentialBackoff`.
  std::shared_ptr<RetryPolicy> retry_policy{};
  /// Receives the step's counters; `NullMetricsSink` when null. Must outlive the step.
  MetricsSink* metrics = nullptr;
  Labels metric_labels{};  ///< Added to every metric of this step.
};

/// The outcome of one `SendStep::send`.
struct SendAttempt {
  Status status;  ///< ok: the transport accepted the message.
  /// Set when the send failed transiently and the retry policy wants another attempt
  /// after this delay; unset on success and when the step gave up.
  std::optional<Duration> retry_after{};
  [[nodiscard]] bool sent() const noexcept { return status.has_value(); }
  [[nodiscard]] bool gave_up() const noexcept { return !sent() && !retry_after; }
};

/// The outcome of one `SendStep::send_batch`.
struct BatchSendAttempt {
  std::size_t sent = 0;  ///< Messages `[0, sent)` were accepted, in order.
  /// The outcome of message `sent`, as `send` reports it, when the transport refused it
  /// (the messages after it were not sent); `status` ok when every message was accepted.
  SendAttempt refused{};
};

/// Hands one message to the `Transport`, synchronously, and reports the outcome the same
/// way whoever calls it: `UnifiedPublisher`'s worker (fire-and-forget messages from its
/// in-memory queue) and `OutboxRelay` (durable triggers, straight from the outbox, no
/// queue or thread in between). One place decides retry-or-give-up (the `RetryPolicy`),
/// counts (`pipeline_publisher_published_total`, `_retries_total`, `_failed_total`) and
/// calls the hooks (`on_published`, `on_retry`, `on_failed`).
///
/// The step never sleeps: when a retry is due it returns the delay and the caller waits
/// (the publisher on a clock timer; the relay leaves the entry in the outbox until its
/// lease ends).
///
/// **Thread safety:** every member may be called from any thread; `send` runs
/// concurrently for several callers (the transport, the policy, the counters and the
/// hooks are all thread-safe). Callbacks run on the thread that called `send` (or
/// `report_failed`), never under a lock of the step; a throwing callback is ignored.
/// **Performance:** one `Transport::publish` (or `publish_batch`, one round trip for many
/// messages on a networked transport) plus a counter increment per message; the hooks cost
/// nothing until a callback was connected once. **Errors:** `send` returns the
/// transport's error (`kUnavailable`, `kBackpressure`, `kInvalidArgument`, …).
///
/// **Example:**
/// @snippet publish_snippets_test.cpp send_step
class SendStep {
 public:
  using PublishedCallback = std::function<void(const std::string& topic, const std::string& id)>;
  using RetryCallback = std::function<void(const std::string& topic, const std::string& id, int failed_attempts,
                                           Duration delay, const Error& error)>;
  using FailedCallback = std::function<void(const std::string& topic, const std::string& id, const Error& error)>;

  /// A step over `transport`, which must outlive it. Shared: a `UnifiedPublisher` and an
  /// `OutboxRelay` may send through the same step. **Errors:** `kInvalidArgument` when a
  /// name in `options.metric_labels` is not a Prometheus label name or is repeated.
  [[nodiscard]] static Result<std::shared_ptr<SendStep>> create(Transport& transport, SendStepOptions options = {});
  ~SendStep();
  SendStep(const SendStep&) = delete;
  SendStep& operator=(const SendStep&) = delete;

  /// Publishes `message` to `topic`. `attempt` (≥ 1) counts this attempt, the first
  /// included; `elapsed` is the time since the first one. On success: counted, then
  /// `on_published`. On a transient error the policy may ask for a retry: counted,
  /// `on_retry`, `retry_after` set. Otherwise (permanent error, or the policy gives up):
  /// counted as failed, `on_failed` with the error (context `attempts`).
  SendAttempt send(std::string_view topic, OutgoingMessage message, int attempt = 1,
                   Duration elapsed = Duration::zero());

  /// Publishes `messages` to `topic` with one `Transport::publish_batch`, which stops at
  /// the first message refused. Each accepted message is counted and reported as `send`
  /// reports it; the refused one is handled as `send` handles a failure (with `attempt`
  /// and `elapsed`); those after it were not sent and are not reported.
  BatchSendAttempt send_batch(std::string_view topic, std::vector<OutgoingMessage> messages, int attempt = 1,
                              Duration elapsed = Duration::zero());

  /// Reports a message given up on outside `send` (dropped from a full queue, abandoned
  /// at shutdown) through `on_failed`; not counted here (the caller has its own counter).
  void report_failed(const std::string& topic, const std::string& id, const Error& error);

  /// Connects a callback called after the transport accepted a message.
  Connection on_published(PublishedCallback callback);
  /// Connects a callback called when a failed send will be retried after `delay`.
  Connection on_retry(RetryCallback callback);
  /// Connects a callback called when a message is given up on.
  Connection on_failed(FailedCallback callback);

  [[nodiscard]] Transport& transport() const noexcept { return transport_; }
  [[nodiscard]] RetryPolicy& retry_policy() const noexcept { return *policy_; }

 private:
  SendStep(Transport& transport, SendStepOptions options);

  struct Hooks;  // the signals, in send_step-inl.hpp

  // Counts and reports the transport's answer `status` for message `id`.
  SendAttempt settle(std::string_view topic, const std::string& id, Status status, int attempt, Duration elapsed);

  Transport& transport_;
  std::shared_ptr<RetryPolicy> policy_;
  std::shared_ptr<Counter> published_total_, retries_total_, failed_total_;
  std::unique_ptr<Hooks> hooks_;
};

}  // namespace pipeline::inline v0

#ifdef PIPELINE_HEADER_ONLY
#include "pipeline/publish/send_step-inl.hpp"
#endif
