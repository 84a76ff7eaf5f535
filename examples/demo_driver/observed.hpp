#pragma once
/// @file
/// What a demo run saw, and the parts of its report built from that and from the store:
/// shared by the in-process demo (demo_driver.cpp), whose observer and watchers fill
/// `Observed` on its one thread, and the multi-process demo (distributed.cpp), whose
/// watchers fill it from the broker.

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "demo_driver/demo_report.hpp"
#include "nba_synthetic/warehouse.hpp"
#include "pipeline/coordinate/batch_coordinator.hpp"
#include "pipeline/core/message.hpp"
#include "pipeline/core/result.hpp"
#include "pipeline/orchestrate/completion_tracker.hpp"

namespace demo {

/// The phases of a wave in the summary, in order.
const std::vector<std::string>& summary_phases();

/// Runs per (wave, phase) and every message seen on the pipeline's topics. Not
/// synchronized: the multi-process demo locks around it.
struct Observed {
  std::map<int, std::map<std::string, std::vector<RunEntry>>> runs;  ///< wave -> phase -> runs
  std::map<std::string, pipeline::Message> messages;                 ///< execution_id -> message
  std::map<std::string, std::vector<pipeline::Message>> triggers;    ///< topic -> triggers seen (with duplicates)

  /// Keeps the message `payload` seen on `topic` (a trigger topic's with every duplicate).
  /// Returns it, or nullopt when it does not decode (a poison message).
  std::optional<pipeline::Message> record(const std::string& topic, bool is_trigger, std::string_view payload);

  /// The hops from the scheduler to `last`, following each message's first trace link.
  [[nodiscard]] std::vector<TraceHop> trace_back(const pipeline::Message& last) const;
};

/// Rows for `date` per warehouse table (predictions apart); nullopt: unreadable.
std::map<std::string, std::optional<std::int64_t>> table_counts(nba::Warehouse& wh, pipeline::CalendarDate date);

/// Fills `report.trackers`, each wave's phases (runs from `seen`, Phases 3–4's trigger
/// from its tracker), `report.work`, `report.waves` and `report.trace` (from the scheduler
/// to each wave's Phase 4 trigger on `phase4_trigger_topic`).
/// **Errors:** the store's, reading a tracker's status.
pipeline::Status fill_waves(DemoReport& report, std::vector<WaveReport> waves, const Observed& seen,
                            const std::vector<const pipeline::CompletionTracker*>& trackers,
                            const std::string& phase4_trigger_topic);

/// What the Phase 5 section is read from.
struct Phase5Sources {
  pipeline::BatchCoordinator& coordinator;
  nba::Warehouse& warehouse;
  const Observed& seen;
  std::string zone;
  std::vector<pipeline::Alert> alerts;
};

/// The Phase 5 section without its jobs: the batch, predictions, coverage, the injury
/// update's re-predictions (versions after `batch_version`), the Phase 4→5 latency and
/// the predictions-complete messages seen.
/// **Errors:** the store's and the warehouse's.
pipeline::Result<Phase5Report> phase5_report(const Phase5Sources& sources, pipeline::CalendarDate date,
                                             std::int64_t batch_version);

}  // namespace demo
