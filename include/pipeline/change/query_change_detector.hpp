#pragma once
/// @file
/// `QueryChangeDetector`: the `ChangeDetector` that asks the warehouse which entities
/// changed — the caller's diff statement (the seeds' LEFT JOIN of today's rows against the
/// last processed ones), run through an injected `ChangeQueryRunner` with every value bound.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "pipeline/change/change_detector.hpp"
#include "pipeline/change/change_set.hpp"
#include "pipeline/change/fingerprint_change_detector.hpp"
#include "pipeline/core/calendar_date.hpp"
#include "pipeline/core/config.hpp"
#include "pipeline/core/metrics_sink.hpp"
#include "pipeline/core/result.hpp"

namespace pipeline::inline v0 {

/// One value bound to a **named** parameter of a change query. `name` is written without
/// its prefix: `{"team", "LAL"}` binds `:team` (SQLite also accepts `@team` and `$team`
/// for the same name). Values are data, never SQL: a runner binds them, it never pastes
/// them into the statement.
struct QueryParam {
  std::string name;                               ///< [A-Za-z_][A-Za-z0-9_]*, at most 64 bytes.
  std::variant<std::string, std::int64_t> value;  ///< Bound as TEXT or INTEGER.
};

/// One row of a change query's result, as a runner read it (not yet validated).
struct ChangeQueryRow {
  std::string id;  ///< The statement's first column: the entity id (TEXT, or an INTEGER as its decimal text).
  /// The statement's second column when it has one: "added", "changed" or "removed".
  /// `std::nullopt` for a one-column statement (every row is "changed").
  std::optional<std::string> change;
};

/// The port a `QueryChangeDetector` runs its statement through: prepares `sql` in the
/// warehouse, binds `params` by name, steps every row and returns them. Keeps the change
/// layer free of any database; `SqliteChangeQueryRunner` (target `pipeline::sqlite`) is
/// the SQLite implementation.
///
/// **Contract for implementations:** bind every parameter by name and never splice a value
/// into the text; refuse (an error, not a guess) a statement that uses a named parameter
/// missing from `params` or a positional one (`?`, `?NNN`), has no column or more than
/// two, or would write. A NULL or non-text id is an error.
///
/// **Thread safety:** `changed_entities` may be called from several threads at once (a
/// detector's `detect` is const and may race). **Errors:** `kInvalidArgument` for a
/// statement or result that breaks the contract, the warehouse's own codes otherwise.
///
/// **Example:**
/// @snippet change_snippets_test.cpp change_query_runner
class ChangeQueryRunner {
 public:
  virtual ~ChangeQueryRunner() = default;

  /// Runs `sql` with `params` bound by name; one `ChangeQueryRow` per result row, in the
  /// statement's order.
  [[nodiscard]] virtual Result<std::vector<ChangeQueryRow>> changed_entities(
      std::string_view sql, std::span<const QueryParam> params) = 0;

 protected:
  ChangeQueryRunner() = default;
  ChangeQueryRunner(const ChangeQueryRunner&) = default;
  ChangeQueryRunner& operator=(const ChangeQueryRunner&) = default;
};

/// What a `QueryChangeDetector` runs (the entity kind its change sets are of, the diff
/// statement and the fixed parameters bound beside the date) and where it reports fallbacks.
struct QueryChangeDetectorOptions {
  std::string entity_kind{};  ///< "players", "teams", …: 1–64 bytes of [A-Za-z0-9_-].
  /// The diff statement. `:date` is bound to the detected date as 'YYYY-MM-DD' text; every
  /// other named parameter it uses must be in `params`. Column 1: the entity id; optional
  /// column 2: 'added' | 'changed' | 'removed'.
  std::string sql{};
  /// Further named parameters (ids, a table's partition, a version). "date" is reserved.
  std::vector<QueryParam> params{};
  /// Receives `pipeline_change_fallbacks_total{kind}` and the `change_detection_fallback`
  /// event; `NullMetricsSink` when null. Must outlive the detector.
  MetricsSink* metrics = nullptr;
  /// Called with a one-line message when detection falls back to a full run, on the
  /// thread that called `detect`. Optional.
  std::function<void(std::string_view)> log{};
};

/// The query `ChangeDetector`: for warehouses that diff in SQL, it runs the caller's
/// statement (the seeds' LEFT JOIN of today's rows against the last processed snapshot)
/// through a `ChangeQueryRunner`, the date and every other value bound as **named
/// parameters** (`:date`, plus `QueryChangeDetectorOptions::params`), never spliced.
///
/// Each returned id goes through the library's entity-id rule (`validate_entity_id`); the
/// optional second column sorts it into `added`, `changed` or `removed` (without it every
/// id is `changed`). The lists come back sorted; `unchanged` is 0 (the statement reports
/// only what changed).
///
/// **Fallback (the `ChangeDetector` contract, as `FingerprintChangeDetector` applies it):**
/// `detect` never fails a run. Any error — the runner's (warehouse down, a bad statement,
/// a parameter missing), an id the entity-id rule refuses, an unknown change name, an id
/// returned twice — answers "process everything" (`full_fallback` + `fallback_reason`),
/// counts it in `pipeline_change_fallbacks_total{kind}`, emits `change_detection_fallback`
/// and calls `QueryChangeDetectorOptions::log`. There is no change-count threshold: a large
/// change set is reported as it is, as the fingerprint detector does. The first run needs
/// nothing special: against an empty "last processed" side the LEFT JOIN returns every
/// current row, which the statement reports as added — what the fingerprint detector
/// answers when nothing was committed yet. `commit` records nothing (the baseline is the
/// processing's own output, written by the processing); the change set's `commit_mode` is
/// `kKeepStored`, so handing it to a fingerprint detector's `commit` writes nothing either.
///
/// **Thread safety:** every const member may be called from any thread concurrently, if
/// the runner allows concurrent calls (its contract). **Performance:** one statement per
/// `detect`, plus one pass over the returned ids (validate, sort, duplicate check); the
/// warehouse's join dominates.
/// **Errors:** `create`: `kInvalidArgument` for a bad entity kind, an empty statement, a
/// bad, repeated or reserved parameter name. `query`: the runner's errors,
/// `kInvalidArgument` for an invalid id, an unknown change name or a repeated id.
///
/// **Example:**
/// @snippet sqlite_snippets_test.cpp query_change_detector_sqlite
class QueryChangeDetector final : public ChangeDetector {
 public:
  using Options = QueryChangeDetectorOptions;

  /// `runner` must outlive the detector. **Errors:** see the class comment.
  [[nodiscard]] static Result<QueryChangeDetector> create(ChangeQueryRunner& runner, QueryChangeDetectorOptions options);

  [[nodiscard]] const std::string& entity_kind() const override { return options_.entity_kind; }
  [[nodiscard]] const QueryChangeDetectorOptions& options() const { return options_; }

  /// Runs the statement for `date` and builds the change set; the error instead of the
  /// fallback (for callers that want to tell "nothing changed" from "could not tell").
  [[nodiscard]] Result<ChangeSet> query(CalendarDate date) const;

  /// `query(date)`, or "process everything" with the reason on any error (never fails).
  /// `snapshot` is not read (`uses_snapshot()` is false).
  [[nodiscard]] ChangeSet detect(CalendarDate date, std::span<const EntitySnapshot> snapshot) const override;

  [[nodiscard]] bool uses_snapshot() const override { return false; }

 private:
  QueryChangeDetector(ChangeQueryRunner& runner, QueryChangeDetectorOptions options);

  ChangeQueryRunner* runner_;
  QueryChangeDetectorOptions options_;
  MetricsSink* metrics_;
  std::function<void(std::string_view)> log_;
  std::shared_ptr<Counter> fallbacks_;
};

}  // namespace pipeline::inline v0

#ifdef PIPELINE_HEADER_ONLY
#include "pipeline/change/query_change_detector-inl.hpp"
#endif
