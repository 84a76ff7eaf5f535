#pragma once
/// @file
/// `PredictionWorker`: consumes per-entity prediction work, idempotently.

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "pipeline/coordinate/prediction_work.hpp"
#include "pipeline/core/result.hpp"
#include "pipeline/core/config.hpp"
#include "pipeline/core/state_store.hpp"
#include "pipeline/core/transport.hpp"
#include "pipeline/orchestrate/idempotent_consumer.hpp"

namespace pipeline::inline v0 {

/// The step that computes and stores one prediction. It writes outside the state store
/// (a warehouse), so it must be idempotent on (date, entity, version): an upsert that
/// keeps the highest version current and earlier versions as history.
///
/// `predict_all` stores several at once, one result per item in order, each item stored
/// (durably, as `predict` would) before it returns ok. The default calls `predict` for
/// each; a model whose storage has transactions overrides it to write them all in one,
/// since a commit per prediction is otherwise most of a batch's cost.
class PredictionModel {
 public:
  virtual ~PredictionModel() = default;
  virtual Status predict(const PredictionWork& work) = 0;
  virtual std::vector<Status> predict_all(const std::vector<PredictionWork>& work) {
    std::vector<Status> out;
    out.reserve(work.size());
    for (const auto& w : work) out.push_back(predict(w));
    return out;
  }
};

/// Options of a `PredictionWorker`.
struct PredictionWorkerOptions {
  using Progress = std::function<void(CalendarDate)>;
  /// Its consumer name (markers `consumed/<name>/<work message id>`; `StoredUpstream`
  /// reads them under this name).
  std::string name = "phase5-prediction-worker";
  /// Called after each stored prediction with its date (e.g. the coordinator's
  /// `note_progress`); empty: nobody is told.
  Progress progress{};
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
/// Batching: `batching_handler()` only holds each delivery; `flush()` then processes all
/// held ones with one `predict_all` (one model transaction for a whole delivery round when
/// the model overrides it), in the same order of effects per message — model write, then
/// marker, then ack — so the crash and redelivery reasoning above holds unchanged. A caller
/// that pumps a transport calls `flush()` after each pump; held deliveries are unsettled
/// until then (flush before their ack deadline).
///
/// **Thread safety:** `process`, `handle`, `flush` and the handlers may run concurrently
/// on any threads if the model and the progress callback allow it. The worker must
/// outlive the subscriptions given its handlers.
/// **Performance:** one marker read, one model call, one marker transaction and one
/// progress call per message; with `flush`, one marker read per message, and one model
/// call, one marker transaction and one progress call per date for the round.
/// **Errors:** `process` returns a decode error (`kInvalidArgument`), the model's error or
/// the store's; `handle` nacks with its text (a poison message ends in the dead-letter
/// topic after the subscription's attempts). Progress errors are not the message's fault
/// and are ignored (the next call or the periodic job sees the predictions).
///
/// **Example:**
/// @snippet coordinate_snippets_test.cpp prediction_worker
class PredictionWorker {
 public:
  using Progress = PredictionWorkerOptions::Progress;
  using Outcome = IdempotentConsumer::Outcome;

  /// **Errors:** `kInvalidArgument` for an empty name.
  static Result<std::unique_ptr<PredictionWorker>> create(StateStore& store, PredictionModel& model,
                                                         PredictionWorkerOptions options = {});

  /// Predicts for one delivery unless its id was already processed.
  Result<Outcome> process(const Delivery& delivery);

  /// Processes `deliveries` as one round: duplicates acked without the model, the rest
  /// decoded and given to one `predict_all`, then the stored ones marked in one store
  /// transaction and acked (each nacked with its error text when its decode, prediction or
  /// the markers failed); progress once per date.
  /// Returns how many were processed (not duplicates or failures).
  std::size_t process_all(const std::vector<DeliveryPtr>& deliveries);

  /// A handler that holds each delivery for `flush()`.
  Handler batching_handler();

  /// `process_all` of the deliveries held so far; returns how many were held.
  std::size_t flush();

  /// `process`, then ack, or nack with the error text.
  void handle(const DeliveryPtr& delivery);

  Handler handler() {
    return [this](DeliveryPtr d) { handle(d); };
  }

 private:
  PredictionWorker(PredictionModel& model, Progress progress, IdempotentConsumer consumer)
      : model_(model), progress_(std::move(progress)), consumer_(std::move(consumer)) {}

  PredictionModel& model_;
  Progress progress_;
  IdempotentConsumer consumer_;
  std::mutex held_mu_;
  std::vector<DeliveryPtr> held_;  // deliveries of batching_handler() until flush()
};

}  // namespace pipeline::inline v0

#ifdef PIPELINE_HEADER_ONLY
#include "pipeline/coordinate/prediction_worker-inl.hpp"
#endif
