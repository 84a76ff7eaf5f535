#pragma once
/// @file
/// Phase 5 of the NBA example over the synthetic warehouse: readiness, the prediction
/// ledger and a deterministic points model. Include as "phase5_coordinator/phase5.hpp".

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "nba_synthetic/warehouse.hpp"
#include "pipeline/coordinate/batch_coordinator.hpp"
#include "pipeline/coordinate/hybrid_trigger.hpp"
#include "pipeline/coordinate/prediction_worker.hpp"
#include "pipeline/coordinate/readiness_gate.hpp"
#include "pipeline/core/transport.hpp"
#include "pipeline/schedule/daily_schedule.hpp"

namespace nba::phase5 {

/// The versioned prediction rows: every version of every prediction (history), keyed by
/// (game_date, player_lookup, system_id, version). `player_prop_predictions` holds the
/// current (highest) version of each.
const TableSpec& prediction_versions_table();

/// The model's id in `system_id`.
inline constexpr std::string_view kSystemId = "blend_v1";

/// The coordinator's settings in the NBA pipeline: its topics (`nba-phase5-…`), the
/// current-predictions table and "players" as the entity kind. The library's defaults are
/// neutral; these are the example's.
inline pipeline::BatchCoordinatorOptions coordinator_options() {
  pipeline::BatchCoordinatorOptions o;
  o.work_topic = "nba-phase5-prediction-work";
  o.complete_topic = "nba-phase5-predictions-complete";
  o.output_table = "player_prop_predictions";
  o.entity_kind = "players";
  return o;
}

/// The hybrid trigger's settings in the NBA pipeline: the Phase 4 completion topic and
/// the trigger's subscription.
inline pipeline::HybridTriggerOptions hybrid_trigger_options() {
  pipeline::HybridTriggerOptions o;
  o.phase4_topic = "nba-phase4-precompute-complete";
  o.subscription = "nba-phase5-trigger-sub";
  return o;
}

/// The hybrid trigger of the NBA pipeline: the scheduler's next job and the game date of an
/// instant both come from `schedule` (`DailySchedule::phase5()`, Pacific time), which the
/// trigger keeps.
pipeline::Result<std::unique_ptr<pipeline::HybridTrigger>> make_hybrid_trigger(
    pipeline::Clock& clock, pipeline::StateStore& store, pipeline::Transport& transport,
    pipeline::BatchCoordinator& coordinator, std::shared_ptr<const pipeline::DailySchedule> schedule,
    const pipeline::HybridTriggerOptions& options);

/// The prediction workers' subscription name (every process of Phase 5 shares it).
inline constexpr std::string_view kWorkerSubscription = "phase5-prediction-workers";

/// The seeds' delivery attempts for prediction work (Pub/Sub retries a worker's message
/// 3 times): the third failed delivery dead-letters it. The transport's default
/// (`SubscriptionSettings::max_delivery_attempts`) is 5, the seeds' Phase 3 and 4 setting.
inline constexpr int kWorkerDeliveryAttempts = 3;

/// The prediction workers' subscription to `work_topic`, with `kWorkerDeliveryAttempts`.
inline pipeline::SubscribeParams worker_subscription(std::string name, std::string work_topic) {
  pipeline::SubscriptionSettings settings;
  settings.max_delivery_attempts = kWorkerDeliveryAttempts;
  return {std::move(name), std::move(work_topic), settings};
}

/// One prediction computed from Phase 4 features.
struct Prediction {
  std::string player_lookup;
  std::string game_id;
  double predicted_points = 0.0;
  double points_line = 0.0;  ///< 0 when no line is known.
  std::string recommendation;  ///< "OVER" | "UNDER" | "PASS".
  double confidence = 0.0;     ///< [0, 1].
};

/// Phase 5 over one warehouse: readiness source (players with a game that date and Phase 4
/// features, out of players with a game: `upcoming_player_game_context`), ledger
/// (expected = players with a game and features; predicted = the version table) and model
/// (a weighted blend of recent scoring plus the composite adjustment). A player without a
/// game that date gets no prediction, even when `player_daily_cache` holds his recent form.
///
/// **Thread safety:** every member locks one mutex around the warehouse (a SQLite
/// connection), so workers on several threads are serialized.
/// **Errors:** the warehouse's, and `kNotFound` when a player has no game or no features.
class WarehousePhase5 final : public pipeline::ReadinessSource,
                              public pipeline::PredictionLedger,
                              public pipeline::PredictionModel {
 public:
  /// Creates the version table if needed. The warehouse must outlive this object.
  static pipeline::Result<std::unique_ptr<WarehousePhase5>> create(Warehouse& warehouse);

  pipeline::Result<pipeline::ReadinessCounts> counts(pipeline::CalendarDate date) override;
  pipeline::Result<std::vector<std::string>> expected(pipeline::CalendarDate date) override;
  pipeline::Result<std::map<std::string, std::int64_t>> predicted(pipeline::CalendarDate date) override;
  /// Computes and stores `work.entity`'s prediction as `work.version`; it becomes current
  /// unless a higher version is already stored. Idempotent.
  pipeline::Status predict(const pipeline::PredictionWork& work) override;
  /// `predict` for each item in ONE warehouse transaction, with one feature read and one
  /// version read per date of the batch. An item without features fails alone; a failed
  /// read or write fails every item (nothing of the batch is stored).
  std::vector<pipeline::Status> predict_all(const std::vector<pipeline::PredictionWork>& work) override;

  /// The deterministic model alone (no write): the predictions of those of `players` that
  /// have a game and features on `date`, by player.
  pipeline::Result<std::map<std::string, Prediction>> compute(pipeline::CalendarDate date,
                                                              const std::vector<std::string>& players);

 private:
  explicit WarehousePhase5(Warehouse& warehouse) : warehouse_(warehouse) {}
  // The highest stored version of each player of `date` (narrowed by `players`). Call under mu_.
  pipeline::Result<std::map<std::string, std::int64_t>> newest_versions(pipeline::CalendarDate date, const Filter& players);
  Warehouse& warehouse_;
  std::mutex mu_;
};

/// The `phase5_coordinator` service's `main`: its flags (see `--help`), then serving until
/// SIGTERM, or `--once`. Returns pipelinectl's exit codes (3: `--once` found predictions
/// missing). Defined in the `phase5_coordinator_service` library.
int service_main(int argc, char** argv);

}  // namespace nba::phase5
