#pragma once
/// @file
/// The SQLite "warehouse" the example services write their real outputs to: the seeds'
/// raw (Phase 2), analytics (Phase 3), precompute (Phase 4) and prediction tables.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "pipeline/core/calendar_date.hpp"
#include "pipeline/core/result.hpp"

namespace nba {

/// One SQL value: NULL, integer, real or text. Pass integers as `std::int64_t`.
using Value = std::variant<std::monostate, std::int64_t, double, std::string>;

/// Integer of a value (reals truncate, NULL and text give 0).
std::int64_t as_int(const Value& v);
/// Real of a value (integers convert, NULL and text give 0).
double as_double(const Value& v);
/// Text of a value (numbers are formatted, NULL gives "").
std::string as_text(const Value& v);

enum class ColumnType { kInteger, kReal, kText };

struct Column {
  std::string name;
  ColumnType type = ColumnType::kText;
};

/// A table: its columns and primary key. Every warehouse table has a `game_date` TEXT column
/// ("YYYY-MM-DD") first in its primary key, so a date's partition can be counted, read and
/// rewritten; `entity_column` names the entity the change layer filters on (player_lookup,
/// team_abbr or game_id). Reads are led by dates: put the entity column second in the primary
/// key where it identifies a row, so an entity-filtered window is one key seek per (date, entity).
struct TableSpec {
  std::string name;
  std::string phase;  ///< "raw", "analytics", "precompute", "predictions".
  std::vector<Column> columns;
  std::vector<std::string> primary_key;
  std::string entity_column;
};

/// The built-in tables (created by `Warehouse::open`):
///   raw: nbac_schedule, nbac_scoreboard_v2, nbac_gamebook_player_stats, bdl_player_boxscores,
///        nbac_team_stats, nbac_injury_report, odds_api_player_points_props, odds_api_game_lines;
///   analytics: player_game_summary, team_offense_game_summary, team_defense_game_summary,
///        upcoming_player_game_context, upcoming_team_game_context;
///   precompute: player_daily_cache, player_shot_zone_analysis, team_defense_zone_analysis,
///        player_composite_factors, ml_feature_store;
///   predictions: player_prop_predictions.
const std::vector<TableSpec>& warehouse_tables();

/// Rows read back: column names once, then the values row after row in one vector (one
/// allocation for the whole result, not one per row).
struct RowSet {
  std::vector<std::string> columns;
  std::vector<Value> values;  ///< Row `r`'s value of column `c` is `values[r * columns.size() + c]`.

  [[nodiscard]] std::size_t size() const noexcept { return columns.empty() ? 0 : values.size() / columns.size(); }
  [[nodiscard]] bool empty() const noexcept { return values.empty(); }
  /// Index of a column, nullopt when absent.
  [[nodiscard]] std::optional<std::size_t> column(std::string_view name) const;
  /// The value of `name` in row `row` (NULL when the column or the row is absent). Looks the
  /// name up each call: in a loop over many rows, look the column up once and use the index.
  [[nodiscard]] const Value& at(std::size_t row, std::string_view name) const;
  /// The value of column `column` in row `row` (NULL when either is out of range).
  [[nodiscard]] const Value& at(std::size_t row, std::size_t column) const noexcept;
};

/// The rows of a date range as they were read: one part per date the warehouse keeps for
/// its rolling windows (shared with it and never changed), or one part for a filtered read.
/// No row is copied, whatever the range's length; a part outlives any later write.
struct WindowRows {
  std::vector<std::string> columns;
  std::vector<std::shared_ptr<const std::vector<Value>>> parts;  ///< In key order; each row after row.

  /// The number of rows.
  [[nodiscard]] std::size_t size() const noexcept;
  [[nodiscard]] bool empty() const noexcept { return size() == 0; }
  /// Calls `f(row)` for each row in key order; `row[c]` is the value of column `c`.
  template <typename F>
  void for_each_row(F&& f) const {
    const std::size_t n = columns.size();
    if (n == 0) return;
    for (const auto& part : parts)
      for (std::size_t i = 0; i + n <= part->size(); i += n) f(part->data() + i);
  }
};

/// An extra condition on the rows of a read: an SQL boolean expression written by code (never
/// built from data) with `?` placeholders, and the values bound to them in order. Empty
/// `predicate` means every row of the date.
struct Filter {
  std::string predicate;
  std::vector<Value> params;
};

/// `column IN (the ids)`, the ids bound as one JSON array parameter (`json_each(?)`), so any
/// id stays data. `column` may be qualified by a table alias ("c.player_lookup").
/// `kInvalidArgument` when `column` is not an identifier or `alias.identifier`.
pipeline::Result<Filter> entity_filter(std::string_view column, const std::vector<std::string>& ids);

/// A SQLite database of the pipeline's tables, written by upserts so every processing step
/// is idempotent (run twice → same rows).
///
/// Identifiers come only from registered `TableSpec`s (checked to be plain identifiers);
/// every value is a bound parameter. WAL journal, synchronous=NORMAL, 8 KiB pages (new
/// files), a 64 MiB page cache, 5 s busy timeout, and prepared statements cached by SQL text.
/// Upserts outside a transaction run in one of their own.
///
/// **Thread safety:** one connection, not synchronized: use a `Warehouse` from one thread at a
/// time. Several `Warehouse` objects (threads or processes) may open the same file; SQLite
/// serializes their writes. ":memory:" is private to its object.
/// **Performance:** an upsert of a few hundred rows costs well under a millisecond-per-hundred
/// on a laptop; reads allocate a `RowSet`; an unfiltered rolling window reads only its new
/// dates (see `read_range`).
/// **Errors:** `kInvalidArgument` for an unknown table or column, a bad identifier, a SQL error
/// in a predicate or query, a constraint violation; `kUnavailable` when the database is busy,
/// locked or cannot be opened; `kDataLoss` for a corrupt file; `kFailedPrecondition` for a
/// nested `in_transaction`; `kInternal` when a transaction body throws.
///
/// **Example:**
/// @code
///   auto wh = nba::Warehouse::open("warehouse.db");
///   if (!wh) return fail(wh.error());
///   auto st = wh->upsert("nbac_injury_report", {"game_date", "player_lookup", "team_abbr", "status", "reason"},
///                        {{std::string("2025-11-18"), std::string("marcus-bell"), std::string("LAL"),
///                          std::string("out"), std::string("Illness")}});
///   auto n = wh->count_rows("nbac_injury_report", date);                    // 1
///   auto rows = wh->read_rows("nbac_injury_report", date, *nba::entity_filter("player_lookup", {"marcus-bell"}));
/// @endcode
class Warehouse {
 public:
  /// Opens (creating if needed) the database at `path` (":memory:" for a private one) and
  /// creates the built-in tables.
  static pipeline::Result<Warehouse> open(const std::string& path);

  Warehouse(Warehouse&&) noexcept;
  Warehouse& operator=(Warehouse&&) noexcept;
  Warehouse(const Warehouse&) = delete;
  Warehouse& operator=(const Warehouse&) = delete;
  ~Warehouse();

  /// Creates `spec`'s table if absent and registers it (for tables beyond the built-in ones).
  pipeline::Status create_table(const TableSpec& spec);
  /// The registered spec of a table, nullptr when unknown.
  [[nodiscard]] const TableSpec* table(std::string_view name) const;

  /// INSERT … ON CONFLICT(primary key) DO UPDATE of `rows` (each `columns.size()` values);
  /// `columns` must include the whole primary key.
  pipeline::Status upsert(std::string_view table, const std::vector<std::string>& columns,
                          const std::vector<std::vector<Value>>& rows);
  /// Deletes a date's rows (narrowed by `filter`); returns how many went.
  pipeline::Result<std::int64_t> delete_rows(std::string_view table, pipeline::CalendarDate date, const Filter& filter = {});

  /// Rows of one date (narrowed by `filter`).
  pipeline::Result<std::int64_t> count_rows(std::string_view table, pipeline::CalendarDate date, const Filter& filter = {});
  /// All columns of one date's rows (narrowed by `filter`), ordered by primary key.
  pipeline::Result<RowSet> read_rows(std::string_view table, pipeline::CalendarDate date, const Filter& filter = {});
  /// The rows with `first <= game_date <= last` (narrowed by `filter`), ordered by primary key:
  /// `columns` of them (names of the table's columns), or all columns when empty. A window
  /// over many dates costs per value read, so read only what is used. Unfiltered, the dates'
  /// rows are kept for the next read of the same columns, which reads from SQLite only the
  /// dates not kept and shares the rest: a rolling window moved by a day reads one date and
  /// copies none. Kept dates are dropped when this object writes them, on a rollback or a
  /// statement that may write, and when another connection commits (PRAGMA data_version);
  /// the dates and the rows read now come from one snapshot. Each (table, columns) keeps one
  /// window's dates.
  pipeline::Result<WindowRows> read_range(std::string_view table, pipeline::CalendarDate first, pipeline::CalendarDate last,
                                      const Filter& filter = {}, const std::vector<std::string>& columns = {});

  /// Any read statement with bound `params`.
  pipeline::Result<RowSet> query(std::string_view sql, const std::vector<Value>& params = {});
  /// Any statement with bound `params`; returns the number of rows changed.
  pipeline::Result<std::int64_t> execute(std::string_view sql, const std::vector<Value>& params = {});

  /// Runs `body` inside BEGIN IMMEDIATE … COMMIT; rolls back when it fails or throws.
  pipeline::Status in_transaction(const std::function<pipeline::Status()>& body);

 private:
  struct Impl;
  explicit Warehouse(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace nba
