#pragma once
/// @file
/// Bodies of pipeline/alert/alert_manager.hpp.

#include "pipeline/alert/alert_manager.hpp"

#include <condition_variable>
#include <mutex>
#include <utility>
#include <nlohmann/json.hpp>

namespace pipeline::inline v0 {

struct AlertManager::TimerState {
  std::mutex mu;
  std::condition_variable idle;
  TimerId id = 0;
  bool stopping = false;
  bool flushing = false;
};

PIPELINE_INLINE Result<std::unique_ptr<AlertManager>> AlertManager::create(
    Clock& clock, std::vector<std::shared_ptr<AlertSink>> sinks, AlertManagerOptions options) {
  if (options.digest_flush_interval < Duration::zero()) {
    return fail(ErrorCode::kInvalidArgument, "alert digest flush interval is negative (0 disables the timer)");
  }
  PIPELINE_TRY(RateLimiter::validate(options.limits));
  return std::unique_ptr<AlertManager>(new AlertManager(clock, std::move(sinks), std::move(options)));
}

PIPELINE_INLINE AlertManager::AlertManager(Clock& clock, std::vector<std::shared_ptr<AlertSink>> sinks,
                                           AlertManagerOptions options)
    : clock_(clock),
      sinks_(std::move(sinks)),
      options_(std::move(options)),
      limiter_(limiter_options(options_)),
      timer_(std::make_shared<TimerState>()) {
  MetricsSink& metrics = metrics_or_null(options_.metrics);
  for (int s = 0; s < 4; ++s) {
    const Labels labels{{"severity", std::string(to_string(static_cast<Severity>(s)))}};
    delivered_[s] = metrics.counter("pipeline_alerts_delivered_total", "Alerts delivered to the sinks", labels);
    suppressed_[s] = metrics.counter("pipeline_alerts_suppressed_total", "Alerts held back by the rate limiter",
                                     labels);
  }
  digests_ = metrics.counter("pipeline_alert_digests_total", "Digest alerts emitted for keys that went quiet");
  sink_failures_ = metrics.counter("pipeline_alert_sink_failures_total",
                                   "Alert deliveries a sink failed (error returned or exception thrown)");
  if (options_.digest_flush_interval > Duration::zero()) {
    std::lock_guard lock(timer_->mu);
    arm_locked();
  }
}

PIPELINE_INLINE AlertManager::~AlertManager() {
  std::unique_lock lock(timer_->mu);
  timer_->stopping = true;
  if (timer_->id != 0) clock_.cancel(timer_->id);
  timer_->idle.wait(lock, [&] { return !timer_->flushing; });
}

PIPELINE_INLINE RaiseOutcome AlertManager::raise(Severity severity, std::string_view key, std::string_view message,
                                                 JsonObject context) {
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

PIPELINE_INLINE std::size_t AlertManager::flush_digests() {
  const TimePoint now = clock_.now();
  std::vector<PendingDigest> pending = limiter_.take_quiet_digests(now);
  for (PendingDigest& p : pending) {
    Alert alert;
    alert.severity = p.severity;
    alert.key = std::move(p.key);
    alert.message = digest_text(p.suppressed_count, p.suppressed_since);
    alert.context = nlohmann::json{{"digest", true},
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

PIPELINE_INLINE const RateLimiter& AlertManager::limiter() const noexcept { return limiter_; }

PIPELINE_INLINE const AlertManagerOptions& AlertManager::options() const noexcept { return options_; }

PIPELINE_INLINE RateLimiterOptions AlertManager::limiter_options(const AlertManagerOptions& o) {
  RateLimiterOptions l = o.limits;
  if (o.critical_bypasses_limit) l.critical.interval = Duration::zero();
  return l;
}

PIPELINE_INLINE std::size_t AlertManager::deliver(const Alert& alert) noexcept {
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

PIPELINE_INLINE void AlertManager::arm_locked() {
  timer_->id = clock_.schedule_after(options_.digest_flush_interval, [this, state = std::weak_ptr(timer_)] {
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

}  // namespace pipeline::inline v0
