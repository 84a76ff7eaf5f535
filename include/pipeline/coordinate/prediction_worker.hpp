#pragma once
/// @file
/// `PredictionWorker`: consumes per-entity prediction work, idempotently.

#include <functional>
#include <string>
#include <utility>

#include "pipeline/coordinate/batch_coordinator.hpp"
#include "pipeline/core/result.hpp"
#include "pipeline/core/state_store.hpp"
#include "pipeline/core/transport.hpp"
#include "pipeline/orchestrate/idempotent_consumer.hpp"

namespace pipeline {

/// The step that computes and stores one prediction. It writes outside the state store
/// (a warehouse), so it must be idempotent on (date, entity, version): an upsert that
/// keeps the highest version current and earlier versions as history.
class PredictionModel {
 public:
  virtual ~PredictionModel() = default;
  virtual Status predict(const PredictionWork& work) = 0;
};

/// Consumes the coordinator's per-entity work messages: runs the model once per message
/// id (`<batch>/a<attempt>/<entity>` or `<batch>/v<version>/<entity>`, i.e. per date,
/// entity and batch attempt), then reports progress (usually
/// `BatchCoordinator::note_progress`) so the batch completes when the last prediction
/// is stored.
///
/// The model writes to its own storage, so it runs *before* the processed-marker of the
/// `IdempotentConsumer` commits (a model call inside the store transaction would hold the
/// store's write lock for the model's duration). A crash between the two re-runs the
/// model on redelivery, which its idempotence makes harmless; a redelivery after the
/// marker is acknowledged without calling the model.
///
/// **Thread safety:** `process`, `handle` and the handler may run concurrently on any
/// threads if the model and the progress callback allow it. The worker must outlive the
/// subscriptions given its `handler()`.
/// **Performance:** one marker read, one model call, one marker transaction and one
/// progress call per message.
/// **Errors:** `process` returns a decode error (`kInvalidArgument`), the model's error or
/// the store's; `handle` nacks with its text (a poison message ends in the dead-letter
/// topic after the subscription's attempts). Progress errors are not the message's fault
/// and are ignored (the next call or the periodic job sees the predictions).
///
/// **Example:**
/// @code
///   pipeline::PredictionWorker worker(store, model,
///       [&](pipeline::CalendarDate d) { (void)coordinator.note_progress(d); });
///   auto sub = transport.subscribe({"phase5-workers", coordinator.options().work_topic, {}}, worker.handler());
/// @endcode
class PredictionWorker {
 public:
  using Progress = std::function<void(CalendarDate)>;
  using Outcome = IdempotentConsumer::Outcome;

  PredictionWorker(StateStore& store, PredictionModel& model, Progress progress = {},
                   std::string name = "phase5-prediction-worker")
      : model_(model),
        progress_(std::move(progress)),
        consumer_(store, std::move(name), [](Transaction&, const Delivery&) { return ok(); }) {}

  /// Predicts for one delivery unless its id was already processed.
  Result<Outcome> process(const Delivery& delivery) {
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

  /// `process`, then ack, or nack with the error text.
  void handle(const DeliveryPtr& delivery) {
    auto r = process(*delivery);
    if (r)
      (void)delivery->ack();
    else
      (void)delivery->nack(r.error().to_string());
  }

  Handler handler() {
    return [this](DeliveryPtr d) { handle(d); };
  }

 private:
  PredictionModel& model_;
  Progress progress_;
  IdempotentConsumer consumer_;
};

}  // namespace pipeline
