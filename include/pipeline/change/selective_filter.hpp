#pragma once
/// @file
/// Selective processing: the filter a processor applies to its reads, built from a `ChangeSet`.

#include <algorithm>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "pipeline/change/change_set.hpp"
#include "pipeline/change/fingerprint.hpp"
#include "pipeline/core/config.hpp"
#include "pipeline/core/result.hpp"

namespace pipeline::inline v0 {

/// Options of `sql_entity_filter`.
struct SqlEntityFilterOptions {
  /// Up to this many ids become `col IN (?, ?, …)`; more become one bound JSON array
  /// read through `json_each(?)` (SQLite ≥ 3.38; one statement shape for any size).
  std::size_t max_inline_ids = 64;
  /// Also match removed entities (a processor that deletes their outputs).
  bool include_removed = false;
};

/// A parameterized SQL predicate restricting a read to the entities of a change set.
///
/// The caller pastes `predicate` into its WHERE clause (`... WHERE game_date = ? AND ` +
/// predicate) and binds `parameters`, in order, as text after its own. Ids are **never**
/// pasted into the SQL: an id like `x'); DROP TABLE t; --` is a bound value and matches
/// only a row whose id is exactly that string. Only the column name is pasted, and it is
/// checked to be a plain (optionally qualified) identifier.
struct SqlFilter {
  std::string predicate;                ///< "1 = 1", "1 = 0", "player_id IN (?, ?)", or the json_each form.
  std::vector<std::string> parameters;  ///< Values to bind, in order of the '?' in `predicate`.
  bool matches_everything = false;      ///< True for a full run (fallback): no restriction.
};

/// Builds the SQL filter on `column` for `changes`: everything on `full_fallback`,
/// nothing when no id is selected, else the selected ids as bound parameters.
///
/// **Thread safety:** pure function. **Performance:** O(ids); one string per id, one
/// JSON array for large sets. **Errors:** `kInvalidArgument` when `column` is not an
/// identifier (`[A-Za-z_][A-Za-z0-9_]*`, dot-separated) or an id is invalid
/// (`validate_entity_id`: empty, longer than `kMaxEntityIdBytes`, or holding a NUL).
///
/// **Example:**
/// @snippet change_snippets_test.cpp sql_entity_filter
Result<SqlFilter> sql_entity_filter(const ChangeSet& changes, std::string_view column,
                                    const SqlEntityFilterOptions& options = {});

/// The in-memory counterpart of `SqlFilter`: a predicate over entity ids that a
/// processor applies to data it already holds.
///
/// **Thread safety:** immutable; call from any thread. **Performance:** a sorted id
/// vector; each call is a binary search (no allocation). **Errors:** none.
///
/// **Example:**
/// @snippet change_snippets_test.cpp entity_filter
class EntityFilter {
 public:
  /// Everything on `full_fallback`; else added ∪ changed (∪ removed when asked).
  static EntityFilter from(const ChangeSet& changes, bool include_removed = false);

  [[nodiscard]] bool operator()(std::string_view id) const {
    return everything_ || std::binary_search(ids_.begin(), ids_.end(), id, std::less<>{});
  }

  [[nodiscard]] bool matches_everything() const { return everything_; }
  /// The selected ids (empty when matching everything).
  [[nodiscard]] const std::vector<std::string>& ids() const { return ids_; }

 private:
  bool everything_ = false;
  std::vector<std::string> ids_;
};

}  // namespace pipeline::inline v0

#ifdef PIPELINE_HEADER_ONLY
#include "pipeline/change/selective_filter-inl.hpp"
#endif
