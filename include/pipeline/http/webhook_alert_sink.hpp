#pragma once
/// @file
/// `WebhookAlertSink`: alerts POSTed as JSON to a webhook (Slack's incoming-webhook shape
/// or a generic one), over HTTP or HTTPS with certificate verification, from a background
/// thread that never blocks the pipeline.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "pipeline/core/alert_sink.hpp"
#include "pipeline/core/clock.hpp"
#include "pipeline/core/metrics_sink.hpp"
#include "pipeline/core/result.hpp"

namespace pipeline::inline v0::http {

/// Settings of a `WebhookAlertSink`.
struct WebhookAlertSinkOptions {
  /// `http://host[:port]/path` or `https://host[:port]/path` (the Slack webhook URL).
  std::string url;
  /// `kSlack`: `{"text": "...", "attachments":[...]}`; `kGeneric`: the alert as JSON
  /// (severity, key, message, context, at, suppressed_count).
  enum class Format { kSlack, kGeneric } format = Format::kSlack;
  /// Bound of one attempt: resolve, connect, TLS handshake, write and read together.
  std::chrono::milliseconds timeout{std::chrono::seconds(5)};
  /// Attempts per alert (first included); a 5xx, 429 or network failure is retried after
  /// `initial_backoff` doubling up to `max_backoff`; any other 4xx is not.
  int max_attempts = 3;
  std::chrono::milliseconds initial_backoff{std::chrono::milliseconds(500)};
  std::chrono::milliseconds max_backoff{std::chrono::seconds(10)};
  /// Alerts waiting to be sent; beyond it `send` refuses (kBackpressure) and counts a drop.
  std::size_t queue_capacity = 1000;
  /// The sink's own limit on the injected clock: at most `rate_limit` alerts per
  /// `rate_window` reach the webhook; more are dropped and counted (the AlertManager's
  /// per-key limits come first; this one protects the webhook from a storm of keys).
  std::size_t rate_limit = 30;
  Duration rate_window = std::chrono::minutes(1);
  /// HTTPS: extra trusted CA certificates (PEM file) besides the system's; the peer's
  /// certificate is always verified, host name included.
  std::string ca_file;
  /// Extra request headers (e.g. Authorization for a generic receiver); never logged.
  std::vector<std::pair<std::string, std::string>> headers;
  /// `pipeline_webhook_alerts_total{outcome=delivered|failed|dropped}`; optional.
  MetricsSink* metrics = nullptr;
};

/// An `AlertSink` that POSTs each alert to a webhook. `send` only enqueues (a lock, a
/// copy): a background thread renders, sends with the timeout and retries with backoff,
/// so a dead or slow webhook never blocks the pipeline — alerts past the queue or the
/// rate limit are dropped and counted, never waited for.
///
/// **Thread safety:** `send` from any thread; no lock is held while sending.
/// **Performance:** `send` copies the alert under a mutex; one thread per sink.
/// **Errors:** `create`: `kInvalidArgument` for a bad URL or option. `send`:
/// `kBackpressure` (queue full) or `kUnavailable` (rate limit); delivery failures are
/// counted (`failed()`), not returned, since they happen later.
///
/// **Example:**
/// @code
///   auto slack = pipeline::http::WebhookAlertSink::create(clock, {.url = "https://hooks.slack.com/services/T/B/X"});
///   auto alerts = pipeline::AlertManager::create(clock, {*slack});
/// @endcode
class WebhookAlertSink final : public AlertSink {
 public:
  [[nodiscard]] static Result<std::shared_ptr<WebhookAlertSink>> create(Clock& clock, WebhookAlertSinkOptions options);

  /// Stops the worker: an attempt under way ends within its timeout, a backoff at once;
  /// alerts still queued are dropped (and counted). Call `wait_idle` first to send them.
  ~WebhookAlertSink() override;
  WebhookAlertSink(const WebhookAlertSink&) = delete;
  WebhookAlertSink& operator=(const WebhookAlertSink&) = delete;

  Status send(const Alert& alert) override;

  /// Waits until the queue is empty and nothing is being sent, up to `deadline`; whether
  /// it became idle (for tests and shutdown).
  bool wait_idle(std::chrono::milliseconds deadline);

  [[nodiscard]] std::uint64_t delivered() const noexcept;
  [[nodiscard]] std::uint64_t failed() const noexcept;   ///< Gave up after its attempts.
  [[nodiscard]] std::uint64_t dropped() const noexcept;  ///< Queue full or rate-limited.
  /// The last delivery error, a sentence without the URL's path (which may hold a secret).
  [[nodiscard]] std::string last_error() const;

  /// The JSON body sent for `alert` in `format`.
  static nlohmann::json render(const Alert& alert, WebhookAlertSinkOptions::Format format);

  struct Impl;  ///< Opaque: the worker and its Beast/Asio client.

 private:
  explicit WebhookAlertSink(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace pipeline::inline v0::http
