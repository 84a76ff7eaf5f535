#pragma once
/// @file
/// `SqliteChangeQueryRunner`: the `ChangeQueryRunner` of a `QueryChangeDetector` over a
/// SQLite warehouse file (target `pipeline::sqlite`). No SQLite header leaks from here.

#include <chrono>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "pipeline/change/query_change_detector.hpp"
#include "pipeline/core/result.hpp"

namespace pipeline::inline v0 {

/// Options of `SqliteChangeQueryRunner::open`.
struct SqliteChangeQueryRunnerOptions {
  /// How long a statement waits for a lock held by a writer (SQLite's busy timeout) before
  /// the call returns `kUnavailable` (and the detector falls back to a full run).
  std::chrono::milliseconds busy_timeout{5000};
};

/// Runs a `QueryChangeDetector`'s diff statement in an existing SQLite database — the
/// warehouse the processors write, opened **read-only** beside its writers (WAL readers do
/// not block them).
///
/// **Parameters are named**, bound by name, never spliced: a `QueryParam{"team", …}` binds
/// `:team` (also spelled `@team` or `$team`), the detector's date binds `:date` as
/// 'YYYY-MM-DD' TEXT; strings bind as TEXT, integers as INTEGER. Refused with
/// `kInvalidArgument` before anything runs: a positional parameter (`?`, `?NNN`), a named
/// one missing from `params`, a parameter of `params` the statement does not use (a
/// misspelt name would otherwise bind nothing), text holding no statement or more than one,
/// a statement that may write (`sqlite3_stmt_readonly`), fewer than one or more than two
/// result columns. Per row: column 1 must be TEXT or INTEGER (the id; an INTEGER as its
/// decimal text), column 2 TEXT (the change name); a NULL, REAL or BLOB there is
/// `kInvalidArgument`.
///
/// **Thread safety:** every member may be called from any thread; calls share one
/// connection and take turns (a mutex). **Performance:** each call prepares the statement
/// (microseconds) and steps every row, copying the ids; the join itself dominates.
/// **Errors:** `open`: `kInvalidArgument` for an empty or in-memory path, `kUnavailable`
/// when the file cannot be opened (it is never created), `kDataLoss` when it is not a
/// database. `changed_entities`: `kInvalidArgument` as above and for SQL errors (an unknown
/// table or column), `kUnavailable` when locked past the busy timeout, `kDataLoss` for a
/// corrupt file; messages carry SQLite's own text.
///
/// **Example:**
/// @snippet sqlite_snippets_test.cpp query_change_detector_sqlite
class SqliteChangeQueryRunner final : public ChangeQueryRunner {
 public:
  /// Opens the existing database at `path` read-only.
  static Result<std::unique_ptr<SqliteChangeQueryRunner>> open(const std::string& path,
                                                               const SqliteChangeQueryRunnerOptions& options = {});

  ~SqliteChangeQueryRunner() override;
  SqliteChangeQueryRunner(const SqliteChangeQueryRunner&) = delete;
  SqliteChangeQueryRunner& operator=(const SqliteChangeQueryRunner&) = delete;

  [[nodiscard]] Result<std::vector<ChangeQueryRow>> changed_entities(std::string_view sql,
                                                                     std::span<const QueryParam> params) override;

  /// The file this runner was opened on.
  [[nodiscard]] const std::string& path() const noexcept;

  struct Impl;

 private:
  explicit SqliteChangeQueryRunner(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace pipeline::inline v0
