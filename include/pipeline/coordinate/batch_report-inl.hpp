#pragma once

#include "pipeline/coordinate/batch_report.hpp"

#include <chrono>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace pipeline::inline v0 {

PIPELINE_INLINE nlohmann::json BatchReport::to_json() const {
  auto time = [](const std::optional<TimePoint>& t) -> nlohmann::json {
    return t ? nlohmann::json(format_rfc3339(*t)) : nlohmann::json(nullptr);
  };
  nlohmann::json j{{"game_date", date.to_string()},
                   {"batch_id", batch_id},
                   {"batch_number", batch_number},
                   {"state", std::string(to_string(state))},
                   {"triggered_by", triggered_by ? nlohmann::json(std::string(to_string(*triggered_by)))
                                                 : nlohmann::json(nullptr)},
                   {"attempts", attempts},
                   {"version", version},
                   {"incremental_count", incremental_count},
                   {"expected", expected},
                   {"done", done},
                   {"missing_count", missing.size()},
                   {"missing", missing},
                   {"fully_complete", fully_complete},
                   {"partially_complete", partially_complete},
                   {"completion_rate", completion_rate},
                   {"phase4_completed_at", time(phase4_completed_at)},
                   {"started_at", time(started_at)},
                   {"completed_at", time(completed_at)},
                   {"message", message},
                   {"counted_from", counted_from},
                   {"counted_at", time(counted_at)},
                   {"go", go()},
                   {"no_go_reasons", no_go_reasons()}};
  j["phase4_to_phase5_latency_seconds"] =
      phase4_to_phase5_latency
          ? nlohmann::json(std::chrono::duration<double>(*phase4_to_phase5_latency).count())
          : nlohmann::json(nullptr);
  return j;
}

PIPELINE_INLINE std::vector<std::string> BatchReport::no_go_reasons(Duration max_latency, double min_completion) const {
  std::vector<std::string> why;
  if (state != BatchState::kComplete)
    why.push_back(fmt::format("the batch is {}", state == BatchState::kNone ? "not started" : to_string(state)));
  if (expected > 0 && completion_rate <= min_completion)
    why.push_back(fmt::format("completion {:.1f}% is not above {:.0f}% ({} of {})", 100.0 * completion_rate,
                              100.0 * min_completion, done, expected));
  if (phase4_to_phase5_latency && *phase4_to_phase5_latency >= max_latency)
    why.push_back(fmt::format("Phase 4 -> 5 latency {:.0f} s is not under {} s",
                              std::chrono::duration<double>(*phase4_to_phase5_latency).count(),
                              std::chrono::duration_cast<std::chrono::seconds>(max_latency).count()));
  return why;
}

PIPELINE_INLINE nlohmann::json CoordinatorHealth::to_json() const {
  return {{"batches_waiting", batches_waiting},
          {"batches_running", batches_running},
          {"outbox_pending", outbox_pending},
          {"last_error", last_error}};
}

}  // namespace pipeline::inline v0
