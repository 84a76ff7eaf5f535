#pragma once

#include "pipeline/coordinate/hybrid_trigger.hpp"

namespace pipeline::inline v0 {

PIPELINE_INLINE Status HybridTrigger::start() {
  auto sub = transport_.subscribe({options_.subscription, options_.phase4_topic, options_.settings},
                                  [this](DeliveryPtr d) { on_event(d); });
  if (!sub) return fail(sub.error());
  {
    std::lock_guard lock(mu_);
    subscription_ = std::move(*sub);
  }
  scheduler_.start();
  return ok();
}

PIPELINE_INLINE void HybridTrigger::stop() {
  scheduler_.stop();
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
    record({"event", clock_.now(), {}, "duplicate", d->id()});
    (void)d->ack();
    return;
  }
  auto r = coordinator_.trigger_payload(d->payload());
  if (!r) {
    record({"event", clock_.now(), {}, "error: " + r.error().to_string(), d->id()});
    (void)d->nack(r.error().to_string());
    return;
  }
  auto m = decode_message(d->payload());
  record({"event", clock_.now(), m ? m->partition_date : CalendarDate{}, std::string(to_string(r->status)), r->message});
  (void)consumer_.process(*d);
  (void)d->ack();
}

PIPELINE_INLINE void HybridTrigger::on_job(const std::string& job, TimePoint at) {
  const CalendarDate date = game_date_of_(at);
  if (job == "backup") {
    auto r = coordinator_.start(date, false, BatchTrigger::kScheduler);
    record(r ? Run{job, at, date, std::string(to_string(r->status)), r->message}
             : Run{job, at, date, "error: " + r.error().to_string(), ""});
  } else if (job == "retry") {
    auto r = coordinator_.retry(date);
    record(r ? Run{job, at, date, std::string(to_string(r->status)), r->message}
             : Run{job, at, date, "error: " + r.error().to_string(), ""});
  } else if (job == "status_check") {
    auto r = coordinator_.status_check(date);
    record(r ? Run{job, at, date, r->alerted ? "status_alerted" : "status_ok", r->report.message}
             : Run{job, at, date, "error: " + r.error().to_string(), ""});
  } else {
    record({job, at, date, "ignored", "unknown job"});
  }
}

}  // namespace pipeline::inline v0
