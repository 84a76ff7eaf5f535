#pragma once

#include "pipeline/core/best_effort_settle.hpp"
#include "pipeline/coordinate/prediction_worker.hpp"

#include <algorithm>

namespace pipeline::inline v0 {

PIPELINE_INLINE Result<std::unique_ptr<PredictionWorker>> PredictionWorker::create(StateStore& store,
                                                                                   PredictionModel& model,
                                                                                   PredictionWorkerOptions options) {
  if (options.name.empty()) return fail(ErrorCode::kInvalidArgument, "PredictionWorkerOptions::name must not be empty");
  auto consumer =
      IdempotentConsumer::create(store, [](Transaction&, const Delivery&) { return ok(); }, {std::move(options.name)});
  if (!consumer) return fail(consumer.error());
  return std::unique_ptr<PredictionWorker>(
      new PredictionWorker(model, std::move(options.progress), std::move(*consumer)));
}

PIPELINE_INLINE Result<PredictionWorker::Outcome> PredictionWorker::process(const Delivery& delivery) {
  auto seen = consumer_.processed(delivery.id());
  if (!seen) return fail(seen.error());
  if (*seen) return Outcome::kDuplicate;
  auto work = PredictionWork::decode(delivery.payload());
  if (!work) return fail(work.error().with("delivery_id", delivery.id()));
  PIPELINE_TRY(model_.predict(*work));
  auto marked = consumer_.process(delivery);
  if (!marked) return fail(marked.error());
  if (progress_) progress_(work->game_date);
  return *marked;
}

PIPELINE_INLINE std::size_t PredictionWorker::process_all(const std::vector<DeliveryPtr>& deliveries) {
  std::vector<Delivery*> todo;
  std::vector<PredictionWork> work;
  for (const auto& d : deliveries) {
    auto seen = consumer_.processed(d->id());
    if (!seen) {
      best_effort_nack(*d, seen.error().to_string());
      continue;
    }
    if (*seen) {
      best_effort_ack(*d);
      continue;
    }
    auto w = PredictionWork::decode(d->payload());
    if (!w) {
      best_effort_nack(*d, w.error().with("delivery_id", d->id()).to_string());
      continue;
    }
    todo.push_back(d.get());
    work.push_back(std::move(*w));
  }
  if (work.empty()) return 0;
  const std::vector<Status> stored = model_.predict_all(work);
  // Markers of the stored ones in one transaction, after the model's writes.
  std::vector<const Delivery*> done;
  std::vector<std::size_t> done_at;
  for (std::size_t i = 0; i < todo.size(); ++i) {
    if (i < stored.size() && stored[i]) {
      done.push_back(todo[i]);
      done_at.push_back(i);
    } else {
      best_effort_nack(*todo[i], i < stored.size() ? stored[i].error().to_string() : "the model returned too few results");
    }
  }
  if (done.empty()) return 0;
  auto marked = consumer_.process_all(done);
  if (!marked) {
    for (std::size_t i : done_at) best_effort_nack(*todo[i], marked.error().to_string());
    return 0;
  }
  std::size_t processed = 0;
  std::vector<CalendarDate> dates;
  for (std::size_t k = 0; k < done.size(); ++k) {
    best_effort_ack(*todo[done_at[k]]);
    if ((*marked)[k] != Outcome::kProcessed) continue;
    ++processed;
    const CalendarDate date = work[done_at[k]].game_date;
    if (std::find(dates.begin(), dates.end(), date) == dates.end()) dates.push_back(date);
  }
  if (progress_)
    for (const auto& date : dates) progress_(date);
  return processed;
}

PIPELINE_INLINE Handler PredictionWorker::batching_handler() {
  return [this](DeliveryPtr d) {
    std::lock_guard lock(held_mu_);
    held_.push_back(std::move(d));
  };
}

PIPELINE_INLINE std::size_t PredictionWorker::flush() {
  std::vector<DeliveryPtr> round;
  {
    std::lock_guard lock(held_mu_);
    round.swap(held_);
  }
  if (!round.empty()) process_all(round);
  return round.size();
}

PIPELINE_INLINE void PredictionWorker::handle(const DeliveryPtr& delivery) {
  auto r = process(*delivery);
  if (r)
    best_effort_ack(*delivery);
  else
    best_effort_nack(*delivery, r.error().to_string());
}

}  // namespace pipeline::inline v0
