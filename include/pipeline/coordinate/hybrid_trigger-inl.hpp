#pragma once

#include "pipeline/core/best_effort_settle.hpp"
#include "pipeline/coordinate/hybrid_trigger.hpp"

namespace pipeline::inline v0 {

PIPELINE_INLINE Result<std::unique_ptr<HybridTrigger>> HybridTrigger::create(
    Clock& clock, StateStore& store, Transport& transport, BatchCoordinator& coordinator, Scheduler::NextDue next_due,
    GameDateOf game_date_of, const HybridTriggerOptions& options) {
  const std::pair<const char*, const std::string*> names[] = {{"phase4_topic", &options.phase4_topic},
                                                              {"subscription", &options.subscription},
                                                              {"consumer_name", &options.consumer_name},
                                                              {"instance", &options.instance}};
  for (const auto& [name, value] : names)
    if (value->empty()) return fail(ErrorCode::kInvalidArgument, "HybridTriggerOptions::{} must not be empty", name);
  if (options.catch_up_grace < Duration::zero())
    return fail(ErrorCode::kInvalidArgument, "HybridTriggerOptions::catch_up_grace must not be negative");
  if (!game_date_of) return fail(ErrorCode::kInvalidArgument, "HybridTrigger needs a game_date_of function (got none)");
  auto consumer =
      IdempotentConsumer::create(store, [](Transaction&, const Delivery&) { return ok(); }, {options.consumer_name});
  if (!consumer) return fail(consumer.error());
  auto fired = FiredJobs::create(store, {coordinator.options().key_prefix + "/fired"});
  if (!fired) return fail(fired.error());
  std::unique_ptr<HybridTrigger> t(new HybridTrigger(clock, transport, coordinator, next_due, std::move(game_date_of),
                                                     options, std::move(*consumer), std::move(*fired)));
  auto scheduler = Scheduler::create(clock, std::move(next_due),
                                     [raw = t.get()](const std::string& job, TimePoint at) { raw->on_job(job, at); });
  if (!scheduler) return fail(scheduler.error());
  t->scheduler_ = std::move(*scheduler);
  return t;
}

PIPELINE_INLINE Status HybridTrigger::start() {
  auto sub = transport_.subscribe({options_.subscription, options_.phase4_topic, options_.settings},
                                  [this](DeliveryPtr d) { on_event(d); });
  if (!sub) return fail(sub.error());
  {
    std::lock_guard lock(mu_);
    subscription_ = std::move(*sub);
  }
  const TimePoint now = clock_.now();
  catch_up(now);
  scheduler_->start(now);
  return ok();
}

PIPELINE_INLINE void HybridTrigger::stop() {
  if (scheduler_) scheduler_->stop();  // null only when `create` failed before making it
  std::unique_ptr<Subscription> sub;
  {
    std::lock_guard lock(mu_);
    sub = std::move(subscription_);
  }
  if (sub) sub->close();
}

PIPELINE_INLINE void HybridTrigger::on_event(const DeliveryPtr& d) {
  auto seen = consumer_.processed(d->id());
  if (seen && *seen) {
    record({"event", clock_.now(), {}, "duplicate", d->id(), false});
    best_effort_ack(*d);
    return;
  }
  auto r = coordinator_.trigger_payload(d->payload());
  if (!r) {
    record({"event", clock_.now(), {}, "error: " + r.error().to_string(), d->id(), false});
    best_effort_nack(*d, r.error().to_string());
    return;
  }
  auto m = decode_message(d->payload());
  record({"event", clock_.now(), m ? m->partition_date : CalendarDate{}, std::string(to_string(r->status)), r->message,
          false});
  // The trigger is decided; only the duplicate marker may fail to store. A redelivery then
  // reaches trigger_payload again, which the coordinator answers from its stored state.
  discard_result(consumer_.process(*d));
  best_effort_ack(*d);
}

PIPELINE_INLINE void HybridTrigger::on_job(const std::string& job, TimePoint at) {
  const CalendarDate date = game_date_of_(at);
  auto mine = fired_.claim(date, {{job, at}}, options_.instance);
  if (!mine) {
    record({job, at, date, "error: " + mine.error().to_string(), "", false});
  } else if (!mine->front()) {
    record({job, at, date, "already_fired", "", false});
  } else {
    run_job(job, at, date, false);
  }
}

PIPELINE_INLINE void HybridTrigger::catch_up(TimePoint now) {
  // Today's jobs lie within the day before now; two days back covers any zone offset.
  constexpr int kMaxJobs = 1000;  // a source that never reaches now cannot spin
  const CalendarDate today = game_date_of_(now);
  std::vector<ScheduledRun> due;
  TimePoint after = now - std::chrono::hours(48);
  for (int i = 0; i < kMaxJobs; ++i) {
    auto next = next_due_(after);
    if (!next || next->at >= now || next->at <= after) break;
    after = next->at;
    if (game_date_of_(next->at) != today) continue;
    if (now - next->at > options_.catch_up_grace)
      record({next->job, next->at, today, "skipped", "past the catch-up grace", true});
    else
      due.push_back({next->job, next->at});
  }
  if (due.empty()) return;
  auto mine = fired_.claim(today, due, options_.instance);
  for (std::size_t i = 0; i < due.size(); ++i) {
    if (!mine)
      record({due[i].job, due[i].at, today, "error: " + mine.error().to_string(), "", true});
    else if (!(*mine)[i])
      record({due[i].job, due[i].at, today, "already_fired", "", true});
    else
      run_job(due[i].job, due[i].at, today, true);
  }
}

PIPELINE_INLINE void HybridTrigger::run_job(const std::string& job, TimePoint at, CalendarDate date, bool catch_up) {
  if (job == "backup") {
    auto r = coordinator_.start(date, false, BatchTrigger::kScheduler);
    record(r ? Run{job, at, date, std::string(to_string(r->status)), r->message, catch_up}
             : Run{job, at, date, "error: " + r.error().to_string(), "", catch_up});
  } else if (job == "retry") {
    auto r = coordinator_.retry(date);
    record(r ? Run{job, at, date, std::string(to_string(r->status)), r->message, catch_up}
             : Run{job, at, date, "error: " + r.error().to_string(), "", catch_up});
  } else if (job == "status_check") {
    auto r = coordinator_.status_check(date);
    record(r ? Run{job, at, date, r->alerted || r->missing_alerted ? "status_alerted" : "status_ok", r->report.message, catch_up}
             : Run{job, at, date, "error: " + r.error().to_string(), "", catch_up});
  } else {
    record({job, at, date, "ignored", "unknown job", catch_up});
  }
}

}  // namespace pipeline::inline v0
