#pragma once
/// @file
/// `AlertManager`: rate-limited alerts with digests of what was suppressed.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "pipeline/alert/digest.hpp"
#include "pipeline/alert/rate_limiter.hpp"
#include "pipeline/core/alert_sink.hpp"
#include "pipeline/core/clock.hpp"
#include "pipeline/core/metrics_sink.hpp"
#include "pipeline/core/timestamp.hpp"

namespace pipeline::inline v0 {

/// How an `AlertManager` limits and flushes.
struct AlertManagerConfig {
  /// Per-severity interval and burst, applied per key.
  RateLimiterConfig limits;
  /// Critical alerts always pass (they still carry the digest of suppressed ones).
  bool critical_bypasses_limit = true;
  /// How often a clock timer emits digests of keys that went quiet; 0 disables the
  /// timer (call `flush_digests()` yourself).
  Duration digest_flush_interval = std::chrono::minutes(5);
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
/// Metrics (through the injected `MetricsSink`): `pipeline_alerts_delivered_total` and
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
/// **Errors:** none escape: a sink's error or exception is counted and the other sinks
/// still get the alert (`RaiseOutcome::sink_failures`).
///
/// **Example:**
/// @code
///   pipeline::AlertManager alerts(clock, {std::make_shared<pipeline::StructuredLogSink>(std::cerr)});
///   alerts.raise(pipeline::Severity::kWarning, "coverage/phase3/2025-11-18",
///                "phase3 is missing 25 of 400 customers", {{"missing", 25}});
/// @endcode
class AlertManager {
 public:
  AlertManager(Clock& clock, std::vector<std::shared_ptr<AlertSink>> sinks, AlertManagerConfig config = {},
               MetricsSink& metrics = NullMetricsSink::instance())
      : clock_(clock),
        sinks_(std::move(sinks)),
        config_(config),
        limiter_(limiter_config(config)),
        timer_(std::make_shared<TimerState>()) {
    for (int s = 0; s < 4; ++s) {
      const Labels labels{{"severity", std::string(to_string(static_cast<Severity>(s)))}};
      delivered_[s] = metrics.counter("pipeline_alerts_delivered_total", "Alerts delivered to the sinks", labels);
      suppressed_[s] = metrics.counter("pipeline_alerts_suppressed_total", "Alerts held back by the rate limiter",
                                       labels);
    }
    digests_ = metrics.counter("pipeline_alert_digests_total", "Digest alerts emitted for keys that went quiet");
    sink_failures_ = metrics.counter("pipeline_alert_sink_failures_total",
                                     "Alert deliveries a sink failed (error returned or exception thrown)");
    if (config_.digest_flush_interval > Duration::zero()) {
      std::lock_guard lock(timer_->mu);
      arm_locked();
    }
  }

  AlertManager(const AlertManager&) = delete;
  AlertManager& operator=(const AlertManager&) = delete;

  ~AlertManager() {
    std::unique_lock lock(timer_->mu);
    timer_->stopping = true;
    if (timer_->id != 0) clock_.cancel(timer_->id);
    timer_->idle.wait(lock, [&] { return !timer_->flushing; });
  }

  /// Raises an alert now; it reaches the sinks unless the key's limit holds it back.
  RaiseOutcome raise(Severity severity, std::string_view key, std::string_view message,
                     nlohmann::json context = nlohmann::json::object()) {
    const TimePoint now = clock_.now();
    const RateDecision d = limiter_.decide(key, severity, now);
    RaiseOutcome out;
    out.suppressed_count = d.suppressed_count;
    const int s = static_cast<int>(severity);
    if (!d.allowed) {
      suppressed_[s]->add();
      return out;
    }
    Alert alert;
    alert.severity = severity;
    alert.key.assign(key);
    alert.message.assign(message);
    alert.context = std::move(context);
    alert.at = now;
    alert.suppressed_count = d.suppressed_count;
    alert.suppressed_since = d.suppressed_count > 0 ? d.suppressed_since : TimePoint{};
    delivered_[s]->add();
    out.delivered = true;
    out.sink_failures = deliver(alert);
    return out;
  }

  /// Emits a digest alert for every key that went quiet with suppressions pending.
  /// Returns how many digests were emitted. Called by the periodic timer too.
  std::size_t flush_digests() {
    const TimePoint now = clock_.now();
    std::vector<PendingDigest> pending = limiter_.take_quiet_digests(now);
    for (PendingDigest& p : pending) {
      Alert alert;
      alert.severity = p.severity;
      alert.key = std::move(p.key);
      alert.message = digest_text(p.suppressed_count, p.suppressed_since);
      alert.context = {{"digest", true},
                       {"suppressed_count", p.suppressed_count},
                       {"suppressed_since", format_rfc3339(p.suppressed_since)}};
      alert.at = now;
      alert.suppressed_count = p.suppressed_count;
      alert.suppressed_since = p.suppressed_since;
      digests_->add();
      delivered_[static_cast<int>(alert.severity)]->add();
      deliver(alert);
    }
    return pending.size();
  }

  /// The limiter (to inspect pending suppressions).
  [[nodiscard]] const RateLimiter& limiter() const noexcept { return limiter_; }
  [[nodiscard]] const AlertManagerConfig& config() const noexcept { return config_; }

 private:
  struct TimerState {
    std::mutex mu;
    std::condition_variable idle;
    TimerId id = 0;
    bool stopping = false;
    bool flushing = false;
  };

  static RateLimiterConfig limiter_config(const AlertManagerConfig& c) {
    RateLimiterConfig l = c.limits;
    if (c.critical_bypasses_limit) l.critical.interval = Duration::zero();
    return l;
  }

  // Returns the number of sinks that failed.
  std::size_t deliver(const Alert& alert) noexcept {
    std::size_t failures = 0;
    for (const auto& sink : sinks_) {
      bool ok = false;
      try {
        ok = sink && sink->send(alert).has_value();
      } catch (...) {
        ok = false;
      }
      if (!ok) {
        ++failures;
        sink_failures_->add();
      }
    }
    return failures;
  }

  // Schedules the next periodic flush; timer_->mu held. The callback holds only a weak
  // reference to the timer state and checks `stopping` before touching the manager, so a
  // callback racing with the destructor either runs to completion first or does nothing.
  void arm_locked() {
    timer_->id = clock_.schedule_after(config_.digest_flush_interval, [this, state = std::weak_ptr(timer_)] {
      const auto st = state.lock();
      if (!st) return;
      {
        std::lock_guard lock(st->mu);
        if (st->stopping) return;
        st->flushing = true;
      }
      flush_digests();
      {
        std::lock_guard lock(st->mu);
        st->flushing = false;
        if (!st->stopping) arm_locked();
      }
      st->idle.notify_all();
    });
  }

  Clock& clock_;
  const std::vector<std::shared_ptr<AlertSink>> sinks_;
  const AlertManagerConfig config_;
  RateLimiter limiter_;
  std::shared_ptr<TimerState> timer_;
  std::shared_ptr<Counter> delivered_[4];
  std::shared_ptr<Counter> suppressed_[4];
  std::shared_ptr<Counter> digests_;
  std::shared_ptr<Counter> sink_failures_;
};

}  // namespace pipeline::inline v0
