#pragma once
/// @file
/// The trigger registry kept in the `StateStore` beside the trackers, so tools
/// (`pipelinectl graph`) draw the graph of whatever pipeline wrote the store.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "pipeline/core/config.hpp"
#include "pipeline/core/result.hpp"
#include "pipeline/core/state_store.hpp"
#include "pipeline/orchestrate/trigger_registry.hpp"

namespace pipeline::inline v0 {

/// The format of the stored registry record (its `format` field). A record of a newer
/// format is refused with `kDataLoss`, never half read.
inline constexpr int kRegistryRecordFormat = 1;
/// The largest registry record written or read: a registry of thousands of processors is
/// a few hundred kB.
inline constexpr std::size_t kMaxRegistryRecordBytes = 4u << 20;
/// The longest phase name a stored registry keeps (processor names are bounded by
/// `TriggerRegistry::validate_name`).
inline constexpr std::size_t kMaxRegistryPhaseBytes = 256;

/// Stores `registry` as the trigger registry of tracker `tracker`, at
/// `tracker/<tracker>/registry` (`TrackerKeys::registry_key`), as a JSON record
/// `{"format":1,"processors":{name:phase,...},"triggers":{source:[target,...],...}}`.
/// `CompletionTracker::create` calls it with its config's registry, in the same
/// transaction as the tracker's description, so every store a tracker ran on can draw its
/// graph. Writing the record it already holds writes nothing.
///
/// Each tracker owns its own record; `load_registry(store)` merges them. So trackers
/// that share one store never overwrite each other, and a tracker re-created with a new
/// registry replaces only its own record (the last `create` of that tracker wins).
///
/// **Thread safety:** as the store's; several processes may save the same tracker's
/// registry at once (the last commit wins, and all write the same record).
/// **Performance:** one point read and at most one write; the record is encoded in full
/// (O(processors + edges)).
/// **Errors:** `kInvalidArgument` when `registry` does not validate, a phase name is
/// longer than `kMaxRegistryPhaseBytes` or not UTF-8, or the record would exceed
/// `kMaxRegistryRecordBytes`; the store's.
///
/// **Example:**
/// @snippet orchestrate_snippets_test.cpp registry_store
Status save_registry(StateStore& store, std::string_view tracker, const TriggerRegistry& registry);

/// `save_registry` inside the caller's open transaction.
Status save_registry(Transaction& tx, std::string_view tracker, const TriggerRegistry& registry);

/// The registry tracker `tracker` stored; `nullopt` when it stored none (a tracker
/// created before registries were stored, or no such tracker).
/// **Errors:** `kDataLoss` for a record that is not a registry (oversize, not JSON, no or
/// a newer `format`, a bad name, an edge to an undeclared processor, a cycle), with the
/// key in its context; the store's.
Result<std::optional<TriggerRegistry>> load_registry(StateStore& store, std::string_view tracker);

/// The trigger graph of the whole store: the registries of every tracker described in
/// `store` (`list_trackers`), merged — the union of their processors and edges. Trackers
/// that each know only their part of the pipeline thus draw the whole of it; trackers
/// with the same registry draw it once. `nullopt` when no tracker stored a registry.
/// **Performance:** one scan of the tracker descriptions and one point read per tracker.
/// **Errors:** as the one-tracker overload; `kFailedPrecondition` when the trackers'
/// registries disagree — one processor declared in different phases, or edges that
/// together form a cycle — naming the trackers involved (fix their configurations).
Result<std::optional<TriggerRegistry>> load_registry(StateStore& store);

namespace internal {

/// The stored record of `registry`. **Errors:** as `save_registry`, without the store's.
Result<std::string> encode_registry(const TriggerRegistry& registry);
/// Reads what `encode_registry` wrote, bounded (size and nesting checked before parsing)
/// and checked field by field. **Errors:** `kDataLoss` naming what is wrong.
Result<TriggerRegistry> decode_registry(std::string_view text);

}  // namespace internal
}  // namespace pipeline::inline v0

#ifdef PIPELINE_HEADER_ONLY
#include "pipeline/orchestrate/registry_store-inl.hpp"
#endif
