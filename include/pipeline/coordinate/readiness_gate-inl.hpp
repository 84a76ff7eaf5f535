#pragma once

#include "pipeline/coordinate/readiness_gate.hpp"

#include <algorithm>
#include <chrono>
#include <mutex>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace pipeline::inline v0 {

struct ReadinessGate::Alive {
  std::mutex mu;
  bool alive = true;
  std::vector<TimerId> timers;
};

struct ReadinessGate::WaitState {
  CalendarDate date;
  Callback done;
  TimePoint started;
  Duration interval;
  int polls;
  std::string last_error;
};

PIPELINE_INLINE Status ReadinessGateOptions::validate() const {
  if (!(threshold > 0.0 && threshold <= 1.0))
    return fail(ErrorCode::kInvalidArgument, "ReadinessGateOptions::threshold {} is not in (0, 1]", threshold);
  if (max_wait < Duration::zero())
    return fail(ErrorCode::kInvalidArgument, "ReadinessGateOptions::max_wait must not be negative");
  if (first_poll <= Duration::zero() || max_poll <= Duration::zero())
    return fail(ErrorCode::kInvalidArgument, "ReadinessGateOptions::first_poll and max_poll must be positive");
  return ok();
}

PIPELINE_INLINE Result<std::unique_ptr<ReadinessGate>> ReadinessGate::create(Clock& clock, ReadinessSource& source,
                                                                             ReadinessGateOptions options) {
  PIPELINE_TRY(options.validate());
  return std::unique_ptr<ReadinessGate>(new ReadinessGate(clock, source, options));
}

PIPELINE_INLINE ReadinessGate::ReadinessGate(Clock& clock, ReadinessSource& source, ReadinessGateOptions options)
    : clock_(clock), source_(source), options_(options), alive_(std::make_shared<Alive>()) {}

PIPELINE_INLINE ReadinessGate::~ReadinessGate() {
  std::lock_guard lock(alive_->mu);
  alive_->alive = false;
  for (TimerId id : alive_->timers) clock_.cancel(id);
}

PIPELINE_INLINE Readiness ReadinessGate::evaluate(CalendarDate date, ReadinessCounts counts) const {
  Readiness r;
  r.counts = counts;
  const bool ready = counts.total > 0 && counts.fraction() + 1e-12 >= options_.threshold;
  r.outcome = ready ? Readiness::Outcome::kReady : Readiness::Outcome::kNotReady;
  r.proceed = ready;
  r.message = fmt::format("{}: {} of {} ready ({:.1f}%, threshold {:.0f}%)", date, counts.ready, counts.total,
                          counts.fraction() * 100.0, options_.threshold * 100.0);
  return r;
}

PIPELINE_INLINE Result<Readiness> ReadinessGate::check(CalendarDate date) {
  auto counts = source_.counts(date);
  if (!counts) return fail(counts.error());
  auto r = evaluate(date, *counts);
  r.polls = 1;
  return r;
}

PIPELINE_INLINE std::optional<ReadinessCounts> ReadinessGate::counts_from_message(const Message& m) {
  const nlohmann::json& md = *m.metadata;
  if (!md.is_object() || !md.contains("entities_ready") || !md.contains("entities_total")) return std::nullopt;
  const auto& r = md["entities_ready"];
  const auto& t = md["entities_total"];
  if (!r.is_number_integer() || !t.is_number_integer()) return std::nullopt;
  const auto ready = r.get<std::int64_t>(), total = t.get<std::int64_t>();
  if (ready < 0 || ready > total) return std::nullopt;
  return ReadinessCounts{static_cast<std::size_t>(ready), static_cast<std::size_t>(total)};
}

PIPELINE_INLINE void ReadinessGate::wait_until_ready(CalendarDate date, Callback done) {
  auto state = std::make_shared<WaitState>(WaitState{date, std::move(done), clock_.now(), options_.first_poll, 0, {}});
  poll(state);
}

PIPELINE_INLINE Readiness ReadinessGate::query(CalendarDate date, std::string* error) {
  auto counts = source_.counts(date);
  if (counts) return evaluate(date, *counts);
  *error = counts.error().to_string();
  Readiness r = evaluate(date, {});
  r.message = fmt::format("{}: readiness unknown ({})", date, *error);
  return r;
}

PIPELINE_INLINE void ReadinessGate::time_out(Readiness& r, Duration waited) const {
  r.waited = waited;
  r.outcome = Readiness::Outcome::kTimedOut;
  r.proceed = r.counts.ready >= options_.min_entities;
  r.message = fmt::format("{} after waiting {} min; {}", r.message,
                          std::chrono::duration_cast<std::chrono::minutes>(waited).count(),
                          r.proceed ? "proceeding with what is ready"
                                    : fmt::format("refusing: fewer than {} ready", options_.min_entities));
}

PIPELINE_INLINE Readiness ReadinessGate::conclude(CalendarDate date, Duration waited) {
  std::string error;
  Readiness r = query(date, &error);
  r.polls = 1;
  r.waited = waited;
  if (r.outcome != Readiness::Outcome::kReady) time_out(r, waited);
  return r;
}

PIPELINE_INLINE void ReadinessGate::poll(const std::shared_ptr<WaitState>& s) {
  ++s->polls;
  Readiness r = query(s->date, &s->last_error);
  r.polls = s->polls;
  const TimePoint now = clock_.now();
  r.waited = now - s->started;
  const TimePoint deadline = s->started + options_.max_wait;
  if (r.outcome == Readiness::Outcome::kReady) {
    s->done(r);
    return;
  }
  if (now >= deadline) {
    time_out(r, r.waited);
    s->done(r);
    return;
  }
  const TimePoint next = std::min(now + s->interval, deadline);
  s->interval = std::min(s->interval * 2, options_.max_poll);
  std::weak_ptr<Alive> weak = alive_;
  std::lock_guard lock(alive_->mu);
  auto holder = std::make_shared<TimerId>(0);
  const TimerId id = clock_.schedule_at(next, [this, weak, s, holder] {
    auto alive = weak.lock();
    if (!alive) return;
    {
      std::lock_guard l(alive->mu);
      if (!alive->alive) return;
      std::erase(alive->timers, *holder);
    }
    poll(s);
  });
  *holder = id;
  alive_->timers.push_back(id);
}

}  // namespace pipeline::inline v0
