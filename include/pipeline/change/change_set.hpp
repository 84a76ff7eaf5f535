#pragma once
/// @file
/// `ChangeSet`: what a `ChangeDetector` found changed for one entity kind and date.

#include <cstddef>
#include <string>
#include <vector>

#include "pipeline/change/fingerprint.hpp"
#include "pipeline/core/calendar_date.hpp"
#include "pipeline/core/config.hpp"
#include "pipeline/core/message.hpp"

namespace pipeline::inline v0 {

/// What `FingerprintChangeDetector::commit` will write for a change set.
enum class FingerprintCommit {
  kApplyChanges,  ///< Upsert `updates`, erase `removed` (the normal case).
  kReplaceAll,    ///< Stored state was unreadable: replace it with `updates` (all current entities).
  kKeepStored,    ///< The snapshot itself was invalid: write nothing.
};

/// The result of one detection: ids per outcome, or "process everything" with a reason.
///
/// When `full_fallback` is true the lists `added`/`changed`/`removed` are empty and the
/// caller must process every entity; `fallback_reason` says why.
struct ChangeSet {
  std::string entity_kind;
  CalendarDate date;
  std::vector<std::string> added;    ///< Sorted; new since the last commit.
  std::vector<std::string> changed;  ///< Sorted; a chosen field differs.
  std::vector<std::string> removed;  ///< Sorted; stored but no longer in the snapshot.
  std::size_t unchanged = 0;
  bool full_fallback = false;
  std::string fallback_reason;  ///< Empty unless `full_fallback`.

  /// Written by a fingerprint detector's `detect`, read by its `commit`: new fingerprints of added and changed
  /// entities (of every current entity for `kReplaceAll`), and how to apply them.
  std::vector<EntityFingerprint> updates;
  FingerprintCommit commit_mode = FingerprintCommit::kApplyChanges;

  /// True when nothing was added, changed or removed (and no fallback).
  [[nodiscard]] bool nothing_changed() const {
    return !full_fallback && added.empty() && changed.empty() && removed.empty();
  }

  /// Ids to process: added ∪ changed (plus removed when asked), sorted, unique.
  /// Meaningless when `full_fallback` (process everything).
  [[nodiscard]] std::vector<std::string> ids_to_process(bool include_removed = false) const;

  /// For the completion message: `std::nullopt` (full run) on fallback, else this kind's
  /// added ∪ changed ∪ removed ids (an empty map when nothing changed).
  [[nodiscard]] ChangedEntities entities_changed() const;
};

}  // namespace pipeline::inline v0

#ifdef PIPELINE_HEADER_ONLY
#include "pipeline/change/change_set-inl.hpp"
#endif
