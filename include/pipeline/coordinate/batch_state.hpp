#pragma once
/// @file
/// The names a Phase 5 batch is described with: its stored state, who asked for it, and
/// what a coordinator call did. Each enum's wire names come from one table, used both to
/// write them (`to_string`) and to read them back (`parse_*`).

#include <array>
#include <string_view>
#include <utility>

#include "pipeline/core/config.hpp"
#include "pipeline/core/result.hpp"

namespace pipeline::inline v0 {

/// Who asked for a batch.
enum class BatchTrigger {
  kEvent,      ///< A Phase 4 completion message (the fast path).
  kScheduler,  ///< The 06:00 backup job (or another scheduled job).
  kManual,     ///< An operator.
};

/// Where a batch (or an incremental re-prediction) is in its life cycle. Stored by name
/// in the batch rows ("waiting", "running", ...), so rows written before this enum read
/// unchanged. `kNone` is never stored: it is what `status` reports for a date without a batch.
enum class BatchState {
  kNone,      ///< "none": no batch exists (reports only).
  kWaiting,   ///< "waiting": created, waiting on the clock for its upstream to be ready.
  kRunning,   ///< "running": its work is fanned out; predictions are being stored.
  kComplete,  ///< "complete": every expected entity is predicted; completion published.
  kRefused,   ///< "refused": the upstream was not ready enough (or the fan-out failed).
};

/// What a coordinator call did.
enum class BatchOutcome {
  kStarted,          ///< A new batch fanned out its work now.
  kWaiting,          ///< A batch exists and waits (on the clock) for its upstream to be ready.
  kAlreadyComplete,  ///< The date's batch is complete; nothing was published.
  kRunning,          ///< A batch is already running (or an incremental fan-out was published).
  kRefused,          ///< Refused: upstream not ready enough, or the incremental cap was hit.
  kRetrying,         ///< `retry` published work for the missing entities.
  kComplete,         ///< `retry` found nothing missing.
};

namespace internal {

inline constexpr std::array<std::pair<BatchTrigger, std::string_view>, 3> kBatchTriggerNames{{
    {BatchTrigger::kEvent, "event"},
    {BatchTrigger::kScheduler, "scheduler"},
    {BatchTrigger::kManual, "manual"},
}};

inline constexpr std::array<std::pair<BatchState, std::string_view>, 5> kBatchStateNames{{
    {BatchState::kNone, "none"},
    {BatchState::kWaiting, "waiting"},
    {BatchState::kRunning, "running"},
    {BatchState::kComplete, "complete"},
    {BatchState::kRefused, "refused"},
}};

inline constexpr std::array<std::pair<BatchOutcome, std::string_view>, 7> kBatchOutcomeNames{{
    {BatchOutcome::kStarted, "started"},
    {BatchOutcome::kWaiting, "waiting"},
    {BatchOutcome::kAlreadyComplete, "already_complete"},
    {BatchOutcome::kRunning, "running"},
    {BatchOutcome::kRefused, "refused"},
    {BatchOutcome::kRetrying, "retrying"},
    {BatchOutcome::kComplete, "complete"},
}};

/// The name of `value` in `table`, or `fallback` for a value the table lacks.
template <class Enum, std::size_t N>
constexpr std::string_view name_in(const std::array<std::pair<Enum, std::string_view>, N>& table, Enum value,
                                   std::string_view fallback) noexcept {
  for (const auto& [e, name] : table)
    if (e == value) return name;
  return fallback;
}

}  // namespace internal

/// "event" | "scheduler" | "manual".
constexpr std::string_view to_string(BatchTrigger t) noexcept {
  return internal::name_in(internal::kBatchTriggerNames, t, "manual");
}

/// "none" | "waiting" | "running" | "complete" | "refused".
constexpr std::string_view to_string(BatchState s) noexcept {
  return internal::name_in(internal::kBatchStateNames, s, "none");
}

/// "started" | "waiting" | "already_complete" | "running" | "refused" | "retrying" | "complete".
constexpr std::string_view to_string(BatchOutcome o) noexcept {
  return internal::name_in(internal::kBatchOutcomeNames, o, "refused");
}

/// Parses a trigger's wire name. **Errors:** `kInvalidArgument` for anything else.
Result<BatchTrigger> parse_batch_trigger(std::string_view s);

/// Parses a batch state's stored name ("none" included). **Errors:** `kInvalidArgument`
/// for anything else.
Result<BatchState> parse_batch_state(std::string_view s);

}  // namespace pipeline::inline v0

#ifdef PIPELINE_HEADER_ONLY
#include "pipeline/coordinate/batch_state-inl.hpp"
#endif
