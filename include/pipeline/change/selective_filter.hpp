#pragma once
/// @file
/// Selective processing: the filter a processor applies to its reads, built from a `ChangeSet`.

#include <algorithm>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "pipeline/change/change_set.hpp"
#include "pipeline/change/fingerprint.hpp"
#include "pipeline/core/result.hpp"

namespace pipeline::inline v0 {

/// Options of `sql_entity_filter`.
struct SqlFilterOptions {
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
/// @code
///   auto f = pipeline::sql_entity_filter(changes, "player_id");
///   std::string sql = "SELECT * FROM boxscores WHERE game_date = ? AND " + f->predicate;
///   bind_text(stmt, 1, date); for (i...) bind_text(stmt, i + 2, f->parameters[i]);
/// @endcode
inline Result<SqlFilter> sql_entity_filter(const ChangeSet& changes, std::string_view column,
                                           const SqlFilterOptions& options = {}) {
  auto ident_start = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; };
  auto ident_char = [&](char c) { return ident_start(c) || (c >= '0' && c <= '9'); };
  bool good = !column.empty() && column.size() <= 128;
  for (std::size_t i = 0; good && i < column.size(); ++i) {
    const bool part_start = i == 0 || column[i - 1] == '.';
    if (column[i] == '.')
      good = !part_start && i + 1 < column.size();
    else
      good = part_start ? ident_start(column[i]) : ident_char(column[i]);
  }
  if (!good)
    return fail(ErrorCode::kInvalidArgument, "column '{}' is not a plain SQL identifier", column.substr(0, 64));

  SqlFilter out;
  if (changes.full_fallback) {
    out.predicate = "1 = 1";
    out.matches_everything = true;
    return out;
  }
  out.parameters = changes.ids_to_process(options.include_removed);
  for (const auto& id : out.parameters) PIPELINE_TRY(validate_entity_id(id));
  if (out.parameters.empty()) {
    out.predicate = "1 = 0";
    return out;
  }
  if (out.parameters.size() <= options.max_inline_ids) {
    out.predicate.reserve(column.size() + 6 + 3 * out.parameters.size());
    out.predicate.append(column).append(" IN (");
    for (std::size_t i = 0; i < out.parameters.size(); ++i) out.predicate.append(i == 0 ? "?" : ", ?");
    out.predicate.append(")");
    return out;
  }
  // Ids are validated above; invalid UTF-8 is replaced rather than thrown on.
  const nlohmann::json array(out.parameters);
  std::string json = array.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  out.predicate = fmt::format("{} IN (SELECT value FROM json_each(?))", column);
  out.parameters.assign(1, std::move(json));
  return out;
}

/// The in-memory counterpart of `SqlFilter`: a predicate over entity ids that a
/// processor applies to data it already holds.
///
/// **Thread safety:** immutable; call from any thread. **Performance:** a sorted id
/// vector; each call is a binary search (no allocation). **Errors:** none.
///
/// **Example:**
/// @code
///   auto keep = pipeline::EntityFilter::from(changes);
///   for (const auto& row : rows) if (keep(row.player_id)) process(row);
/// @endcode
class EntityFilter {
 public:
  /// Everything on `full_fallback`; else added ∪ changed (∪ removed when asked).
  static EntityFilter from(const ChangeSet& changes, bool include_removed = false) {
    EntityFilter f;
    f.everything_ = changes.full_fallback;
    if (!f.everything_) f.ids_ = changes.ids_to_process(include_removed);
    return f;
  }

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
