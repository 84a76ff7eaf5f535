#pragma once
/// @file
/// `AlertManager`: rate-limited alerts with digests of what was suppressed.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>


#include "pipeline/core/config.hpp"
#include "pipeline/alert/digest.hpp"
#include "pipeline/alert/rate_limiter.hpp"
#include "pipeline/core/alert_sink.hpp"
#include "pipeline/core/clock.hpp"
#include "pipeline/core/metrics_sink.hpp"
#include "pipeline/core/result.hpp"
#include "pipeline/core/timestamp.hpp"

namespace pipeline::inline v0 {

/// How an `AlertManager` limits and flushes, and where its counters go.
struct AlertManagerOptions {
  /// Per-severity interval and burst, applied per key.
  RateLimiterOptions limits{};
  /// Critical alerts always pass (they still carry the digest of suppressed ones).
  bool critical_bypasses_limit = true;
  /// How often a clock timer emits digests of keys that went quiet; 0 disables the
  /// timer (call `flush_digests()` yourself).
  Duration digest_flush_interval = std::chrono::minutes(5);
  /// Receives the manager's counters; `NullMetricsSink` when null. Must outlive the manager.
  MetricsSink* metrics = nullptr;
};

/// What `AlertManager::raise` did with an alert.
struct RaiseOutcome {
  bool delivered = false;          ///< Passed the limiter and went to the sinks.
  std::size_t sink_failures = 0;   ///< Sinks that returned an error or threw.
  /// Delivered: the suppressions this alert's digest summarizes. Suppressed: the
  /// suppressions now pending on the key, this one included.
  std::uint64_t suppressed_count = 0;
};

/// Raises alerts (severity, dedup key, message, structured context) to injected sinks,
/// limited per key on the injected clock so an incident does not become a storm.
///
/// A suppressed alert is counted; the next alert of that key that passes carries the
/// digest (`Alert::suppressed_count` and `suppressed_since`: "12 similar alerts
/// suppressed since 06:02 UTC"). Keys that went quiet with suppressions pending get a
/// digest alert of their own (message = the digest sentence, severity = the highest
/// suppressed) from the periodic flush or `flush_digests()`. See `RateLimiter` for what
/// "quiet" means.
///
/// Metrics (through `AlertManagerOptions::metrics`): `pipeline_alerts_delivered_total` and
/// `pipeline_alerts_suppressed_total` by `severity`, `pipeline_alert_digests_total`,
/// `pipeline_alert_sink_failures_total`.
///
/// **Thread safety:** every member may be called from any thread. Sinks are called on
/// the raising (or flushing) thread with no lock of the manager or limiter held, so a
/// sink may raise alerts itself, and a slow sink delays only the thread calling it.
/// Periodic flushes run on the clock's timer thread (`ManualClock`: the thread calling
/// `advance`). The destructor cancels the timer and waits for a flush in progress; the
/// clock, the metrics sink and the sinks must outlive the manager.
/// **Performance:** a suppressed alert costs a limiter decision and a counter add (no
/// allocation); a delivered one builds an `Alert` (copies key and message) and calls
/// every sink.
/// **Errors:** `create`: `kInvalidArgument` for a negative digest flush interval or a
/// bad limit (see `RateLimiter::create`). None escape `raise`: a sink's error or
/// exception is counted and the other sinks still get the alert
/// (`RaiseOutcome::sink_failures`).
///
/// **Example:**
/// @snippet alert_snippets_test.cpp alert_manager
class AlertManager {
 public:
  /// **Errors:** `kInvalidArgument` for a negative digest flush interval, a negative
  /// limit interval or zero limiter shards.
  [[nodiscard]] static Result<std::unique_ptr<AlertManager>> create(Clock& clock,
                                                                    std::vector<std::shared_ptr<AlertSink>> sinks,
                                                                    AlertManagerOptions options = {});

  AlertManager(const AlertManager&) = delete;
  AlertManager& operator=(const AlertManager&) = delete;

  ~AlertManager();


  /// Raises an alert now; it reaches the sinks unless the key's limit holds it back.
  RaiseOutcome raise(Severity severity, std::string_view key, std::string_view message,
                     JsonObject context = {});

  /// Emits a digest alert for every key that went quiet with suppressions pending.
  /// Returns how many digests were emitted. Called by the periodic timer too.
  std::size_t flush_digests();

  /// The limiter (to inspect pending suppressions).
  [[nodiscard]] const RateLimiter& limiter() const noexcept;
  [[nodiscard]] const AlertManagerOptions& options() const noexcept;

 private:
  AlertManager(Clock& clock, std::vector<std::shared_ptr<AlertSink>> sinks, AlertManagerOptions options);

  struct TimerState;  // the digest timer and its shutdown handshake (alert_manager-inl.hpp)


  static RateLimiterOptions limiter_options(const AlertManagerOptions& o);

  // Returns the number of sinks that failed.
  std::size_t deliver(const Alert& alert) noexcept;

  // Schedules the next periodic flush; timer_->mu held. The callback holds only a weak
  // reference to the timer state and checks `stopping` before touching the manager, so a
  // callback racing with the destructor either runs to completion first or does nothing.
  void arm_locked();

  Clock& clock_;
  const std::vector<std::shared_ptr<AlertSink>> sinks_;
  const AlertManagerOptions options_;
  RateLimiter limiter_;
  std::shared_ptr<TimerState> timer_;
  std::shared_ptr<Counter> delivered_[4];
  std::shared_ptr<Counter> suppressed_[4];
  std::shared_ptr<Counter> digests_;
  std::shared_ptr<Counter> sink_failures_;
};

}  // namespace pipeline::inline v0

#ifdef PIPELINE_HEADER_ONLY
#include "pipeline/alert/alert_manager-inl.hpp"
#endif
