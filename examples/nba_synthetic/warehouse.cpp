#include "nba_synthetic/warehouse.hpp"

#include <algorithm>
#include <map>
#include <unordered_map>
#include <utility>

#include <nlohmann/json.hpp>
#include <sqlite3.h>

namespace nba {
namespace warehouse_detail {

using pipeline::ErrorCode;

TableSpec make_table(std::string name, std::string phase, std::vector<std::pair<const char*, char>> columns,
                     std::vector<std::string> primary_key, std::string entity_column) {
  TableSpec t{std::move(name), std::move(phase), {}, std::move(primary_key), std::move(entity_column)};
  for (const auto& [column, type] : columns)
    t.columns.push_back(Column{column, type == 'I' ? ColumnType::kInteger : type == 'R' ? ColumnType::kReal : ColumnType::kText});
  return t;
}

using Cols = std::vector<std::pair<const char*, char>>;

Cols operator+(Cols a, const Cols& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

const Cols kShooting{{"fgm", 'I'}, {"fga", 'I'}, {"fg3m", 'I'}, {"fg3a", 'I'}, {"ftm", 'I'}, {"fta", 'I'}};
const Cols kZones{{"rim_fgm", 'I'},   {"rim_fga", 'I'}, {"paint_fgm", 'I'},
                  {"paint_fga", 'I'}, {"mid_fgm", 'I'}, {"mid_fga", 'I'}};
const Cols kCounting{{"oreb", 'I'}, {"dreb", 'I'}, {"rebounds", 'I'}, {"assists", 'I'}, {"steals", 'I'},
                     {"blocks", 'I'}, {"turnovers", 'I'}, {"fouls", 'I'}};
const Cols kHash{{"source_hash", 'T'}};

std::vector<TableSpec> build_tables() {
  std::vector<TableSpec> t;
  // ---- Phase 2: raw
  t.push_back(make_table("nbac_schedule", "raw",
                         {{"game_date", 'T'}, {"game_id", 'T'}, {"home_team_abbr", 'T'}, {"away_team_abbr", 'T'},
                          {"start_time_et", 'T'}, {"arena", 'T'}},
                         {"game_date", "game_id"}, "game_id"));
  t.push_back(make_table("nbac_scoreboard_v2", "raw",
                         {{"game_date", 'T'}, {"game_id", 'T'}, {"home_team_abbr", 'T'}, {"away_team_abbr", 'T'},
                          {"home_score", 'I'}, {"away_score", 'I'}, {"periods", 'I'}, {"game_status", 'T'}},
                         {"game_date", "game_id"}, "game_id"));
  t.push_back(make_table("nbac_gamebook_player_stats", "raw",
                         Cols{{"game_date", 'T'}, {"game_id", 'T'}, {"player_lookup", 'T'}, {"player_name", 'T'},
                              {"team_abbr", 'T'}, {"opponent_team_abbr", 'T'}, {"is_home", 'I'}, {"starter", 'I'},
                              {"player_status", 'T'}, {"minutes", 'I'}, {"points", 'I'}} +
                             kShooting + kCounting + Cols{{"plus_minus", 'I'}} + kZones,
                         {"game_date", "game_id", "player_lookup"}, "player_lookup"));
  t.push_back(make_table("bdl_player_boxscores", "raw",
                         Cols{{"game_date", 'T'}, {"game_id", 'T'}, {"player_lookup", 'T'}, {"team_abbr", 'T'},
                              {"minutes", 'I'}, {"points", 'I'}, {"rebounds", 'I'}, {"assists", 'I'}, {"steals", 'I'},
                              {"blocks", 'I'}, {"turnovers", 'I'}} +
                             kShooting,
                         {"game_date", "game_id", "player_lookup"}, "player_lookup"));
  t.push_back(make_table("nbac_team_stats", "raw",
                         Cols{{"game_date", 'T'}, {"game_id", 'T'}, {"team_abbr", 'T'}, {"opponent_team_abbr", 'T'},
                              {"is_home", 'I'}, {"points", 'I'}} +
                             kShooting + kCounting + Cols{{"possessions", 'I'}} + kZones,
                         {"game_date", "game_id", "team_abbr"}, "team_abbr"));
  t.push_back(make_table("nbac_injury_report", "raw",
                         {{"game_date", 'T'}, {"player_lookup", 'T'}, {"team_abbr", 'T'}, {"status", 'T'},
                          {"reason", 'T'}, {"report_time", 'T'}},
                         {"game_date", "player_lookup"}, "player_lookup"));
  t.push_back(make_table("odds_api_player_points_props", "raw",
                         {{"game_date", 'T'}, {"game_id", 'T'}, {"player_lookup", 'T'}, {"bookmaker", 'T'},
                          {"team_abbr", 'T'}, {"points_line", 'R'}, {"over_price", 'I'}, {"under_price", 'I'}},
                         {"game_date", "game_id", "player_lookup", "bookmaker"}, "player_lookup"));
  t.push_back(make_table("odds_api_game_lines", "raw",
                         {{"game_date", 'T'}, {"game_id", 'T'}, {"bookmaker", 'T'}, {"home_team_abbr", 'T'},
                          {"away_team_abbr", 'T'}, {"spread_home", 'R'}, {"total", 'R'}, {"home_moneyline", 'I'},
                          {"away_moneyline", 'I'}},
                         {"game_date", "game_id", "bookmaker"}, "game_id"));
  // The other 13 of the seeds' 21 raw tables, loaded from synthetic feeds: each has the
  // layout of a table above, or of a roster, a player box line, a game or a team of the date.
  auto like = [&t](const char* name, std::string_view model) {
    for (const auto& spec : t)
      if (spec.name == model) {
        TableSpec copy = spec;
        copy.name = name;
        return copy;
      }
    return TableSpec{};  // unreachable: every model is listed above
  };
  t.push_back(like("espn_scoreboard", "nbac_scoreboard_v2"));
  t.push_back(like("bdl_injuries", "nbac_injury_report"));
  t.push_back(like("bettingpros_player_points_props", "odds_api_player_points_props"));
  for (const char* roster : {"nbac_player_list", "bdl_active_players", "espn_team_rosters", "br_rosters"})
    t.push_back(make_table(roster, "raw", {{"game_date", 'T'}, {"player_lookup", 'T'}, {"team_abbr", 'T'}},
                           {"game_date", "player_lookup"}, "player_lookup"));
  for (const char* box : {"nbac_player_boxscores", "espn_boxscores", "nbac_play_by_play", "bigdataball_play_by_play"})
    t.push_back(make_table(box, "raw",
                           {{"game_date", 'T'}, {"game_id", 'T'}, {"player_lookup", 'T'}, {"team_abbr", 'T'},
                            {"minutes", 'I'}, {"points", 'I'}},
                           {"game_date", "game_id", "player_lookup"}, "player_lookup"));
  t.push_back(make_table("nbac_referee_assignments", "raw",
                         {{"game_date", 'T'}, {"game_id", 'T'}, {"home_team_abbr", 'T'}, {"away_team_abbr", 'T'}},
                         {"game_date", "game_id"}, "game_id"));
  t.push_back(make_table("bdl_standings", "raw",
                         {{"game_date", 'T'}, {"team_abbr", 'T'}, {"game_id", 'T'}, {"opponent_team_abbr", 'T'}},
                         {"game_date", "team_abbr"}, "team_abbr"));
  // ---- Phase 3: analytics
  t.push_back(make_table("player_game_summary", "analytics",
                         Cols{{"game_date", 'T'}, {"player_lookup", 'T'}, {"game_id", 'T'}, {"team_abbr", 'T'},
                              {"opponent_team_abbr", 'T'}, {"is_home", 'I'}, {"minutes", 'I'}, {"points", 'I'},
                              {"rebounds", 'I'}, {"assists", 'I'}, {"steals", 'I'}, {"blocks", 'I'}, {"turnovers", 'I'}} +
                             kShooting + kZones +
                             Cols{{"usage_rate", 'R'}, {"true_shooting_pct", 'R'}, {"points_line", 'R'},
                                  {"over_under_result", 'T'}} +
                             kHash,
                         {"game_date", "player_lookup"}, "player_lookup"));
  t.push_back(make_table("team_offense_game_summary", "analytics",
                         Cols{{"game_date", 'T'}, {"team_abbr", 'T'}, {"game_id", 'T'}, {"opponent_team_abbr", 'T'},
                              {"is_home", 'I'}, {"win", 'I'}, {"points", 'I'}, {"possessions", 'I'},
                              {"offensive_rating", 'R'}, {"pace", 'R'}, {"assists", 'I'}, {"turnovers", 'I'}} +
                             kShooting + kZones + kHash,
                         {"game_date", "team_abbr"}, "team_abbr"));
  t.push_back(make_table("team_defense_game_summary", "analytics",
                         Cols{{"game_date", 'T'}, {"team_abbr", 'T'}, {"game_id", 'T'}, {"opponent_team_abbr", 'T'},
                              {"points_allowed", 'I'}, {"opp_fgm", 'I'}, {"opp_fga", 'I'}, {"opp_fg3m", 'I'},
                              {"opp_fg3a", 'I'}, {"opp_rim_fgm", 'I'}, {"opp_rim_fga", 'I'}, {"opp_paint_fgm", 'I'},
                              {"opp_paint_fga", 'I'}, {"opp_mid_fgm", 'I'}, {"opp_mid_fga", 'I'},
                              {"defensive_rating", 'R'}, {"steals", 'I'}, {"blocks", 'I'}, {"defensive_rebounds", 'I'}} +
                             kHash,
                         {"game_date", "team_abbr"}, "team_abbr"));
  t.push_back(make_table("upcoming_player_game_context", "analytics",
                         Cols{{"game_date", 'T'}, {"player_lookup", 'T'}, {"game_id", 'T'}, {"team_abbr", 'T'},
                              {"opponent_team_abbr", 'T'}, {"is_home", 'I'}, {"injury_status", 'T'}, {"days_rest", 'I'},
                              {"back_to_back", 'I'}, {"points_line", 'R'}, {"games_played_season", 'I'},
                              {"points_avg_last_5", 'R'}, {"points_avg_last_10", 'R'}, {"minutes_avg_last_10", 'R'}} +
                             kHash,
                         {"game_date", "player_lookup"}, "player_lookup"));
  t.push_back(make_table("upcoming_team_game_context", "analytics",
                         Cols{{"game_date", 'T'}, {"team_abbr", 'T'}, {"game_id", 'T'}, {"opponent_team_abbr", 'T'},
                              {"is_home", 'I'}, {"days_rest", 'I'}, {"back_to_back", 'I'}, {"spread", 'R'},
                              {"game_total", 'R'}, {"players_out", 'I'}, {"players_questionable", 'I'}} +
                             kHash,
                         {"game_date", "team_abbr"}, "team_abbr"));
  // ---- Phase 4: precompute
  t.push_back(make_table("player_daily_cache", "precompute",
                         Cols{{"game_date", 'T'}, {"player_lookup", 'T'}, {"team_abbr", 'T'}, {"games_played", 'I'},
                              {"points_avg_last_5", 'R'}, {"points_avg_last_10", 'R'}, {"points_avg_season", 'R'},
                              {"points_std_last_10", 'R'}, {"minutes_avg_last_10", 'R'}, {"usage_rate_last_10", 'R'},
                              {"rebounds_avg_last_10", 'R'}, {"assists_avg_last_10", 'R'}} +
                             kHash,
                         {"game_date", "player_lookup"}, "player_lookup"));
  t.push_back(make_table("player_shot_zone_analysis", "precompute",
                         Cols{{"game_date", 'T'}, {"player_lookup", 'T'}, {"games_in_sample", 'I'}, {"rim_rate", 'R'},
                              {"paint_rate", 'R'}, {"mid_rate", 'R'}, {"three_rate", 'R'}, {"rim_pct", 'R'},
                              {"paint_pct", 'R'}, {"mid_pct", 'R'}, {"three_pct", 'R'}, {"primary_zone", 'T'}} +
                             kHash,
                         {"game_date", "player_lookup"}, "player_lookup"));
  t.push_back(make_table("team_defense_zone_analysis", "precompute",
                         Cols{{"game_date", 'T'}, {"team_abbr", 'T'}, {"games_in_sample", 'I'}, {"opp_rim_pct", 'R'},
                              {"opp_paint_pct", 'R'}, {"opp_mid_pct", 'R'}, {"opp_three_pct", 'R'},
                              {"points_allowed_avg", 'R'}, {"defensive_rating_avg", 'R'}, {"weakest_zone", 'T'}} +
                             kHash,
                         {"game_date", "team_abbr"}, "team_abbr"));
  t.push_back(make_table("player_composite_factors", "precompute",
                         Cols{{"game_date", 'T'}, {"player_lookup", 'T'}, {"game_id", 'T'}, {"opponent_team_abbr", 'T'},
                              {"fatigue_score", 'R'}, {"shot_zone_mismatch_score", 'R'}, {"pace_score", 'R'},
                              {"usage_spike_score", 'R'}, {"injury_adjustment", 'R'},
                              {"total_composite_adjustment", 'R'}} +
                             kHash,
                         {"game_date", "player_lookup"}, "player_lookup"));
  t.push_back(make_table("ml_feature_store", "precompute",
                         Cols{{"game_date", 'T'}, {"player_lookup", 'T'}, {"game_id", 'T'}, {"feature_version", 'T'},
                              {"feature_count", 'I'}, {"features_json", 'T'}} +
                             kHash,
                         {"game_date", "player_lookup"}, "player_lookup"));
  // ---- Phase 5: predictions (for later)
  t.push_back(make_table("player_prop_predictions", "predictions",
                         Cols{{"game_date", 'T'}, {"player_lookup", 'T'}, {"system_id", 'T'}, {"game_id", 'T'},
                              {"predicted_points", 'R'}, {"points_line", 'R'}, {"recommendation", 'T'},
                              {"confidence", 'R'}, {"batch_id", 'T'}, {"correlation_id", 'T'}} +
                             kHash,
                         {"game_date", "player_lookup", "system_id"}, "player_lookup"));
  return t;
}

bool is_identifier(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

bool has_column(const TableSpec& spec, std::string_view name) {
  for (const auto& c : spec.columns)
    if (c.name == name) return true;
  return false;
}

pipeline::Error sqlite_error(sqlite3* db, int rc, std::string_view what) {
  ErrorCode code = ErrorCode::kInternal;
  switch (rc & 0xFF) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_CANTOPEN:
    case SQLITE_IOERR:
    case SQLITE_FULL: code = ErrorCode::kUnavailable; break;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB: code = ErrorCode::kDataLoss; break;
    case SQLITE_ERROR:
    case SQLITE_CONSTRAINT:
    case SQLITE_MISMATCH:
    case SQLITE_RANGE:
    case SQLITE_TOOBIG: code = ErrorCode::kInvalidArgument; break;
    default: break;
  }
  const char* msg = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  return pipeline::Error{code, fmt::format("warehouse: {} failed: {}", what, msg), {{"sqlite_code", std::to_string(rc)}}};
}

const char* type_name(ColumnType t) {
  switch (t) {
    case ColumnType::kInteger: return "INTEGER";
    case ColumnType::kReal: return "REAL";
    case ColumnType::kText: return "TEXT";
  }
  return "TEXT";
}

std::string join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) out += sep;
    out += parts[i];
  }
  return out;
}

/// Owns a prepared statement.
struct StatementDeleter {
  void operator()(sqlite3_stmt* s) const noexcept { sqlite3_finalize(s); }
};
using Statement = std::unique_ptr<sqlite3_stmt, StatementDeleter>;

}  // namespace warehouse_detail

namespace wd = warehouse_detail;

std::int64_t as_int(const Value& v) {
  if (const auto* i = std::get_if<std::int64_t>(&v)) return *i;
  if (const auto* d = std::get_if<double>(&v)) return static_cast<std::int64_t>(*d);
  return 0;
}

double as_double(const Value& v) {
  if (const auto* d = std::get_if<double>(&v)) return *d;
  if (const auto* i = std::get_if<std::int64_t>(&v)) return static_cast<double>(*i);
  return 0.0;
}

std::string as_text(const Value& v) {
  if (const auto* s = std::get_if<std::string>(&v)) return *s;
  if (const auto* i = std::get_if<std::int64_t>(&v)) return std::to_string(*i);
  if (const auto* d = std::get_if<double>(&v)) return fmt::format("{}", *d);
  return {};
}

const std::vector<TableSpec>& warehouse_tables() {
  static const std::vector<TableSpec> tables = wd::build_tables();
  return tables;
}

std::optional<std::size_t> RowSet::column(std::string_view name) const {
  for (std::size_t i = 0; i < columns.size(); ++i)
    if (columns[i] == name) return i;
  return std::nullopt;
}

namespace {
const Value kNull{};
}  // namespace

const Value& RowSet::at(std::size_t row, std::string_view name) const {
  const auto c = column(name);
  return c ? at(row, *c) : kNull;
}

std::size_t WindowRows::size() const noexcept {
  if (columns.empty()) return 0;
  std::size_t values = 0;
  for (const auto& part : parts) values += part->size();
  return values / columns.size();
}

const Value& RowSet::at(std::size_t row, std::size_t column) const noexcept {
  if (column >= columns.size() || row >= size()) return kNull;
  return values[row * columns.size() + column];
}

pipeline::Result<Filter> entity_filter(std::string_view column, const std::vector<std::string>& ids) {
  const auto dot = column.find('.');  // "alias.column" in a join
  if (!wd::is_identifier(column.substr(dot == std::string_view::npos ? 0 : dot + 1)) ||
      (dot != std::string_view::npos && !wd::is_identifier(column.substr(0, dot))))
    return pipeline::fail(pipeline::ErrorCode::kInvalidArgument, "entity_filter: '{}' is not a column name", column);
  nlohmann::json array = nlohmann::json::array();
  for (const auto& id : ids) array.push_back(id);
  Filter f;
  f.predicate = fmt::format("{} IN (SELECT value FROM json_each(?))", column);
  f.params.emplace_back(array.dump());
  return f;
}

struct Warehouse::Impl {
  sqlite3* db = nullptr;
  std::map<std::string, TableSpec, std::less<>> tables;
  // Prepared statements by SQL text (hashed: the texts are long and share their prefixes),
  // each with the number of values its last query read, to size the next result at once.
  struct Cached {
    wd::Statement stmt;
    std::size_t last_values = 0;
  };
  struct TextHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, Cached, TextHash, std::equal_to<>> statements;
  Cached* last_prepared = nullptr;  // the entry `prepare` returned last

  // Unfiltered windows, by date: a rolling window moves one date a day, so read_range reads
  // only the dates it has not kept and shares the rest. One entry per (table, columns) read;
  // each keeps only its last window's dates. What this connection writes drops the dates it
  // touches; a rollback, a statement of unknown effect or another connection's commit
  // (PRAGMA data_version) drops everything.
  struct Window {
    std::string table;
    std::vector<std::string> columns;
    std::map<std::string, std::shared_ptr<const std::vector<Value>>, std::less<>> days;  // by game_date text
  };
  std::unordered_map<std::string, Window, TextHash, std::equal_to<>> windows;  // by the date's SELECT
  std::int64_t data_version = -1;

  void forget(std::string_view table, std::string_view date) {
    for (auto& [sql, w] : windows)
      if (w.table == table) {
        auto it = w.days.find(date);
        if (it != w.days.end()) w.days.erase(it);
      }
  }
  void forget(std::string_view table) {
    for (auto& [sql, w] : windows)
      if (w.table == table) w.days.clear();
  }
  void forget_all() { windows.clear(); }

  ~Impl() {
    statements.clear();
    if (db != nullptr) sqlite3_close(db);
  }

  pipeline::Result<sqlite3_stmt*> prepare(std::string_view sql) {
    return prepare_as(sql, [&] { return std::string(sql); });
  }

  // The statement cached under `key`, prepared from `make_sql()` on a miss: a key shorter than
  // its SQL (an upsert's is kilobytes) is cheaper to build and hash on every call.
  template <typename MakeSql>
  pipeline::Result<sqlite3_stmt*> prepare_as(std::string_view key, MakeSql&& make_sql) {
    auto it = statements.find(key);
    if (it != statements.end()) {
      // No sqlite3_clear_bindings: every caller binds every parameter (bind_all checks the
      // count), and clearing an upsert's hundreds cost more than the hash lookup.
      sqlite3_reset(it->second.stmt.get());
      last_prepared = &it->second;
      return it->second.stmt.get();
    }
    const std::string sql = make_sql();
    sqlite3_stmt* raw = nullptr;
    const int rc = sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &raw, nullptr);
    if (rc != SQLITE_OK) return pipeline::fail(wd::sqlite_error(db, rc, "prepare").with("sql", sql));
    wd::Statement owned(raw);
    // Keep one cache entry per distinct statement; ad-hoc queries may grow it, so bound it.
    if (statements.size() > 256) statements.clear();
    last_prepared = &statements.emplace(std::string(key), Cached{std::move(owned)}).first->second;
    return last_prepared->stmt.get();
  }

  // `borrow`: the text outlives the statement's next step (bound without a copy).
  pipeline::Status bind(sqlite3_stmt* stmt, int index, const Value& v, bool borrow = false) {
    int rc = SQLITE_OK;
    if (std::holds_alternative<std::monostate>(v)) rc = sqlite3_bind_null(stmt, index);
    else if (const auto* i = std::get_if<std::int64_t>(&v)) rc = sqlite3_bind_int64(stmt, index, *i);
    else if (const auto* d = std::get_if<double>(&v)) rc = sqlite3_bind_double(stmt, index, *d);
    else {
      const auto& s = std::get<std::string>(v);
      rc = sqlite3_bind_text(stmt, index, s.data(), static_cast<int>(s.size()), borrow ? SQLITE_STATIC : SQLITE_TRANSIENT);
    }
    if (rc != SQLITE_OK) return pipeline::fail(wd::sqlite_error(db, rc, "bind"));
    return pipeline::ok();
  }

  pipeline::Status bind_all(sqlite3_stmt* stmt, const std::vector<Value>& params, int first = 1) {
    const int expected = sqlite3_bind_parameter_count(stmt);
    if (first - 1 + static_cast<int>(params.size()) != expected)
      return pipeline::fail(pipeline::ErrorCode::kInvalidArgument, "warehouse: statement has {} placeholders, {} values given",
                            expected, first - 1 + static_cast<int>(params.size()));
    for (std::size_t i = 0; i < params.size(); ++i) PIPELINE_TRY(bind(stmt, first + static_cast<int>(i), params[i]));
    return pipeline::ok();
  }

  pipeline::Result<RowSet> run_query(sqlite3_stmt* stmt) {
    RowSet out;
    const int n = sqlite3_column_count(stmt);
    for (int c = 0; c < n; ++c) out.columns.emplace_back(sqlite3_column_name(stmt, c));
    // Sized like the statement's last result: a window reads about as many rows every day.
    std::size_t* last_values = last_prepared != nullptr && last_prepared->stmt.get() == stmt ? &last_prepared->last_values : nullptr;
    if (last_values != nullptr) out.values.reserve(*last_values);
    for (;;) {
      const int rc = sqlite3_step(stmt);
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) {
        auto err = wd::sqlite_error(db, rc, "query");
        sqlite3_reset(stmt);
        return pipeline::fail(std::move(err));
      }
      for (int c = 0; c < n; ++c) {
        // One sqlite3_column_value per value, then the cheap value accessors: each
        // sqlite3_column_* call re-checks the statement (this connection is one thread's).
        sqlite3_value* v = sqlite3_column_value(stmt, c);
        switch (sqlite3_value_type(v)) {
          case SQLITE_INTEGER: out.values.emplace_back(static_cast<std::int64_t>(sqlite3_value_int64(v))); break;
          case SQLITE_FLOAT: out.values.emplace_back(sqlite3_value_double(v)); break;
          case SQLITE_NULL: out.values.emplace_back(std::monostate{}); break;
          default: {
            const auto* text = reinterpret_cast<const char*>(sqlite3_value_text(v));
            out.values.emplace_back(std::in_place_type<std::string>, text != nullptr ? text : "",
                                    static_cast<std::size_t>(sqlite3_value_bytes(v)));
          }
        }
      }
    }
    sqlite3_reset(stmt);
    if (last_values != nullptr) *last_values = out.values.size();
    return out;
  }

  pipeline::Result<std::int64_t> run_statement(sqlite3_stmt* stmt) {
    const int rc = sqlite3_step(stmt);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
      auto err = wd::sqlite_error(db, rc, "statement");
      sqlite3_reset(stmt);
      return pipeline::fail(std::move(err));
    }
    sqlite3_reset(stmt);
    return static_cast<std::int64_t>(sqlite3_changes(db));
  }

  pipeline::Status exec(const char* sql) {
    char* msg = nullptr;
    const int rc = sqlite3_exec(db, sql, nullptr, nullptr, &msg);
    if (rc == SQLITE_OK) return pipeline::ok();
    auto err = wd::sqlite_error(db, rc, sql);
    sqlite3_free(msg);
    return pipeline::fail(std::move(err));
  }

  pipeline::Result<const TableSpec*> spec(std::string_view name) const {
    auto it = tables.find(name);
    if (it == tables.end()) return pipeline::fail(pipeline::ErrorCode::kInvalidArgument, "warehouse: unknown table '{}'", name);
    return &it->second;
  }

  // "SELECT <what> FROM t WHERE <date condition> [AND (predicate)]" with params date..., filter....
  pipeline::Result<sqlite3_stmt*> prepare_dated(std::string_view verb, std::string_view table, std::string_view date_condition,
                                                const std::vector<Value>& date_params, const Filter& filter,
                                                bool order_by_key) {
    auto s = spec(table);
    if (!s) return pipeline::fail(s.error());
    std::string sql = fmt::format("{} {} WHERE {}", verb, (*s)->name, date_condition);
    if (!filter.predicate.empty()) sql += fmt::format(" AND ({})", filter.predicate);
    if (order_by_key) sql += " ORDER BY " + wd::join((*s)->primary_key, ", ");
    auto stmt = prepare(sql);
    if (!stmt) return stmt;
    std::vector<Value> params = date_params;
    params.insert(params.end(), filter.params.begin(), filter.params.end());
    PIPELINE_TRY(bind_all(*stmt, params));
    return stmt;
  }

  // "<verb> table" over first..last, unfiltered, from the kept dates plus the dates not kept
  // (one primary-key range each). Call inside a transaction.
  pipeline::Result<WindowRows> read_window(const std::string& verb, std::string_view table, pipeline::CalendarDate first,
                                           pipeline::CalendarDate last) {
    auto s = spec(table);
    if (!s) return pipeline::fail(s.error());
    auto version = data_version_now();
    if (!version) return pipeline::fail(version.error());
    if (*version != data_version) forget_all();
    data_version = *version;
    const std::string day_sql =
        fmt::format("{} {} WHERE game_date = ? ORDER BY {}", verb, (*s)->name, wd::join((*s)->primary_key, ", "));
    if (windows.size() >= 64 && windows.find(day_sql) == windows.end()) forget_all();  // ad-hoc column lists
    auto [it, added] = windows.try_emplace(day_sql);
    Window& w = it->second;
    if (added) w.table = std::string(table);
    const std::string from = first.to_string(), to = last.to_string();
    w.days.erase(w.days.begin(), w.days.lower_bound(from));  // keep only this window's dates
    w.days.erase(w.days.upper_bound(to), w.days.end());
    for (auto d = first; d <= last; d = d.plus_days(1)) {
      std::string key = d.to_string();
      if (w.days.find(key) != w.days.end()) continue;
      auto stmt = prepare(day_sql);
      if (!stmt) return pipeline::fail(stmt.error());
      PIPELINE_TRY(bind(*stmt, 1, Value(key)));
      auto rows = run_query(*stmt);
      if (!rows) {
        windows.erase(it);
        return pipeline::fail(rows.error());
      }
      w.columns = std::move(rows->columns);
      w.days.emplace(std::move(key), std::make_shared<const std::vector<Value>>(std::move(rows->values)));
    }
    WindowRows out;
    out.columns = w.columns;
    out.parts.reserve(w.days.size());
    for (const auto& [date, values] : w.days) out.parts.push_back(values);
    return out;
  }

  pipeline::Result<std::int64_t> data_version_now() {
    auto stmt = prepare("PRAGMA data_version");
    if (!stmt) return pipeline::fail(stmt.error());
    auto rows = run_query(*stmt);
    if (!rows) return pipeline::fail(rows.error());
    return as_int(rows->at(0, std::size_t{0}));
  }
};

Warehouse::Warehouse(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Warehouse::Warehouse(Warehouse&&) noexcept = default;
Warehouse& Warehouse::operator=(Warehouse&&) noexcept = default;
Warehouse::~Warehouse() = default;

pipeline::Result<Warehouse> Warehouse::open(const std::string& path) {
  auto impl = std::make_unique<Impl>();
  const int rc = sqlite3_open_v2(path.c_str(), &impl->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) return pipeline::fail(wd::sqlite_error(impl->db, rc, "open").with("path", path));
  sqlite3_busy_timeout(impl->db, 5000);
  // 8 KiB pages (a new database; an existing file keeps its own): the rolling windows scan
  // a month of rows, and fewer, larger leaves made a season's backfill ~5% faster than 4 KiB.
  PIPELINE_TRY(impl->exec("PRAGMA page_size=8192"));
  PIPELINE_TRY(impl->exec("PRAGMA journal_mode=WAL"));
  PIPELINE_TRY(impl->exec("PRAGMA synchronous=NORMAL"));
  // Rolling windows re-read the last weeks of the largest tables: keep them cached (64 MiB).
  PIPELINE_TRY(impl->exec("PRAGMA cache_size=-65536"));
  Warehouse wh(std::move(impl));
  auto st = wh.in_transaction([&]() -> pipeline::Status {
    for (const auto& t : warehouse_tables()) PIPELINE_TRY(wh.create_table(t));
    return pipeline::ok();
  });
  if (!st) return pipeline::fail(st.error());
  return wh;
}

pipeline::Status Warehouse::create_table(const TableSpec& spec) {
  auto bad = [&](std::string_view why) {
    return pipeline::fail(pipeline::ErrorCode::kInvalidArgument, "warehouse: table spec '{}': {}", spec.name, why);
  };
  if (!wd::is_identifier(spec.name)) return bad("name is not an identifier");
  if (spec.columns.empty() || spec.columns.front().name != "game_date") return bad("the first column must be game_date");
  if (spec.primary_key.empty() || spec.primary_key.front() != "game_date") return bad("the primary key must start with game_date");
  std::vector<std::string> defs;
  for (const auto& c : spec.columns) {
    if (!wd::is_identifier(c.name)) return bad("a column name is not an identifier");
    defs.push_back(fmt::format("{} {}", c.name, wd::type_name(c.type)));
  }
  for (const auto& k : spec.primary_key)
    if (!wd::has_column(spec, k)) return bad("primary key column '" + k + "' is not a column");
  if (!spec.entity_column.empty() && !wd::has_column(spec, spec.entity_column))
    return bad("entity column '" + spec.entity_column + "' is not a column");
  // WITHOUT ROWID: rows live in the primary-key b-tree, so a date's or a window's rows are
  // one range scan (no lookup per row from a key index into a rowid table).
  const std::string sql = fmt::format("CREATE TABLE IF NOT EXISTS {} ({}, PRIMARY KEY ({})) WITHOUT ROWID", spec.name,
                                      wd::join(defs, ", "), wd::join(spec.primary_key, ", "));
  // No secondary (entity, game_date) index: every read is led by dates, and an entity-filtered
  // window seeks the primary key per (date, entity) instead (see read_range). Such an index
  // took a third of a season's backfill, because each day's rows land on one leaf per entity.
  PIPELINE_TRY(impl_->exec(sql.c_str()));
  impl_->tables.insert_or_assign(spec.name, spec);
  return pipeline::ok();
}

const TableSpec* Warehouse::table(std::string_view name) const {
  auto it = impl_->tables.find(name);
  return it == impl_->tables.end() ? nullptr : &it->second;
}

pipeline::Status Warehouse::upsert(std::string_view table, const std::vector<std::string>& columns,
                                   const std::vector<std::vector<Value>>& rows) {
  auto s = impl_->spec(table);
  if (!s) return pipeline::fail(s.error());
  const TableSpec& spec = **s;
  auto is_key = [&](const std::string& c) {
    for (const auto& k : spec.primary_key)
      if (k == c) return true;
    return false;
  };
  std::vector<std::string> updates;
  for (const auto& c : columns) {
    if (!wd::has_column(spec, c)) return pipeline::fail(pipeline::ErrorCode::kInvalidArgument, "warehouse: table '{}' has no column '{}'", spec.name, c);
    if (!is_key(c)) updates.push_back(fmt::format("{0}=excluded.{0}", c));
  }
  for (const auto& k : spec.primary_key) {
    bool given = false;
    for (const auto& c : columns) given = given || c == k;
    if (!given) return pipeline::fail(pipeline::ErrorCode::kInvalidArgument, "warehouse: upsert into '{}' lacks key column '{}'", spec.name, k);
  }
  for (const auto& row : rows)
    if (row.size() != columns.size())
      return pipeline::fail(pipeline::ErrorCode::kInvalidArgument, "warehouse: upsert into '{}': a row has {} values for {} columns",
                            spec.name, row.size(), columns.size());
  // Up to 16 rows a statement: each statement opens a statement journal, so one per row
  // journals the same leaf pages again for every row (and pays a step and a reset).
  const std::size_t limit = static_cast<std::size_t>(sqlite3_limit(impl_->db, SQLITE_LIMIT_VARIABLE_NUMBER, -1));
  const std::size_t chunk = std::max<std::size_t>(1, std::min<std::size_t>(16, limit / columns.size()));
  std::string tuple = "(";
  for (std::size_t i = 0; i < columns.size(); ++i) tuple += i == 0 ? "?" : ", ?";
  tuple += ")";
  auto sql_for = [&](std::size_t n) {
    std::string values = tuple;
    for (std::size_t i = 1; i < n; ++i) values += ", " + tuple;
    return fmt::format("INSERT INTO {} ({}) VALUES {} ON CONFLICT ({}) DO {}", spec.name, wd::join(columns, ", "), values,
                       wd::join(spec.primary_key, ", "), updates.empty() ? "NOTHING" : "UPDATE SET " + wd::join(updates, ", "));
  };
  // Cached by table, row count and columns (no SQL text starts with a tab).
  const std::string key_suffix = fmt::format("\t{}\t{}", spec.name, wd::join(columns, ","));
  // The kept windows lose the dates written (all of the table's when a date is not text).
  const auto date_at = static_cast<std::size_t>(std::find(columns.begin(), columns.end(), "game_date") - columns.begin());
  const std::string* forgotten = nullptr;
  for (const auto& row : rows) {
    const auto* date = std::get_if<std::string>(&row[date_at]);
    if (date == nullptr) {
      impl_->forget(spec.name);
      break;
    }
    if (forgotten == nullptr || *forgotten != *date) impl_->forget(spec.name, *date);
    forgotten = date;
  }
  auto write = [&]() -> pipeline::Status {
    for (std::size_t first = 0; first < rows.size(); first += chunk) {
      const std::size_t n = std::min(chunk, rows.size() - first);
      auto stmt = impl_->prepare_as("\t" + std::to_string(n) + key_suffix, [&] { return sql_for(n); });
      if (!stmt) return pipeline::fail(stmt.error());
      for (std::size_t r = 0; r < n; ++r)
        for (std::size_t c = 0; c < columns.size(); ++c)
          PIPELINE_TRY(impl_->bind(*stmt, static_cast<int>(r * columns.size() + c + 1), rows[first + r][c], /*borrow=*/true));
      auto done = impl_->run_statement(*stmt);
      if (!done) return pipeline::fail(done.error());
    }
    return pipeline::ok();
  };
  if (sqlite3_get_autocommit(impl_->db) == 0) return write();
  return in_transaction(write);
}

pipeline::Result<std::int64_t> Warehouse::delete_rows(std::string_view table, pipeline::CalendarDate date, const Filter& filter) {
  auto stmt = impl_->prepare_dated("DELETE FROM", table, "game_date = ?", {date.to_string()}, filter, false);
  if (!stmt) return pipeline::fail(stmt.error());
  impl_->forget(table, date.to_string());
  return impl_->run_statement(*stmt);
}

pipeline::Result<std::int64_t> Warehouse::count_rows(std::string_view table, pipeline::CalendarDate date, const Filter& filter) {
  auto stmt = impl_->prepare_dated("SELECT COUNT(*) FROM", table, "game_date = ?", {date.to_string()}, filter, false);
  if (!stmt) return pipeline::fail(stmt.error());
  auto rows = impl_->run_query(*stmt);
  if (!rows) return pipeline::fail(rows.error());
  return as_int(rows->at(0, std::size_t{0}));
}

pipeline::Result<RowSet> Warehouse::read_rows(std::string_view table, pipeline::CalendarDate date, const Filter& filter) {
  auto stmt = impl_->prepare_dated("SELECT * FROM", table, "game_date = ?", {date.to_string()}, filter, true);
  if (!stmt) return pipeline::fail(stmt.error());
  return impl_->run_query(*stmt);
}

pipeline::Result<WindowRows> Warehouse::read_range(std::string_view table, pipeline::CalendarDate first, pipeline::CalendarDate last,
                                               const Filter& filter, const std::vector<std::string>& columns) {
  std::string verb = "SELECT * FROM";
  if (!columns.empty()) {
    auto s = impl_->spec(table);
    if (!s) return pipeline::fail(s.error());
    for (const auto& c : columns)
      if (!wd::has_column(**s, c))
        return pipeline::fail(pipeline::ErrorCode::kInvalidArgument, "warehouse: table '{}' has no column '{}'", table, c);
    verb = fmt::format("SELECT {} FROM", wd::join(columns, ", "));
  }
  if (filter.predicate.empty()) {
    // Outside a transaction, one read transaction: the kept dates and the dates read now
    // come from one snapshot, as a single SELECT would.
    if (sqlite3_get_autocommit(impl_->db) == 0) return impl_->read_window(verb, table, first, last);
    PIPELINE_TRY(impl_->exec("BEGIN"));
    auto rows = impl_->read_window(verb, table, first, last);
    // A read transaction: COMMIT only ends it. Should ending it fail, the rows read stand
    // and the next BEGIN reports the connection's state.
    pipeline::discard_result(impl_->exec(rows ? "COMMIT" : "ROLLBACK"));
    return rows;
  }
  // Filtered (a few changed entities), the dates go as a list, so SQLite seeks the key
  // (game_date, entity) for each pair instead of scanning every row of the range.
  nlohmann::json dates = nlohmann::json::array();
  for (auto d = first; d <= last; d = d.plus_days(1)) dates.push_back(d.to_string());
  auto stmt = impl_->prepare_dated(verb, table, "game_date IN (SELECT value FROM json_each(?))", {dates.dump()}, filter, true);
  if (!stmt) return pipeline::fail(stmt.error());
  auto rows = impl_->run_query(*stmt);
  if (!rows) return pipeline::fail(rows.error());
  WindowRows out;
  out.columns = std::move(rows->columns);
  out.parts.push_back(std::make_shared<const std::vector<Value>>(std::move(rows->values)));
  return out;
}

pipeline::Result<RowSet> Warehouse::query(std::string_view sql, const std::vector<Value>& params) {
  auto stmt = impl_->prepare(sql);
  if (!stmt) return pipeline::fail(stmt.error());
  if (sqlite3_stmt_readonly(*stmt) == 0) impl_->forget_all();
  PIPELINE_TRY(impl_->bind_all(*stmt, params));
  return impl_->run_query(*stmt);
}

pipeline::Result<std::int64_t> Warehouse::execute(std::string_view sql, const std::vector<Value>& params) {
  auto stmt = impl_->prepare(sql);
  if (!stmt) return pipeline::fail(stmt.error());
  if (sqlite3_stmt_readonly(*stmt) == 0) impl_->forget_all();
  PIPELINE_TRY(impl_->bind_all(*stmt, params));
  return impl_->run_statement(*stmt);
}

pipeline::Status Warehouse::in_transaction(const std::function<pipeline::Status()>& body) {
  if (sqlite3_get_autocommit(impl_->db) == 0)
    return pipeline::fail(pipeline::ErrorCode::kFailedPrecondition, "warehouse: in_transaction called inside a transaction");
  PIPELINE_TRY(impl_->exec("BEGIN IMMEDIATE"));
  pipeline::Status result = pipeline::ok();
  try {
    result = body();
  } catch (const std::exception& e) {
    result = pipeline::fail(pipeline::ErrorCode::kInternal, "warehouse: transaction body threw: {}", e.what());
  } catch (...) {
    result = pipeline::fail(pipeline::ErrorCode::kInternal, "warehouse: transaction body threw");
  }
  // On failure the first error is the one returned; SQLite ends a transaction whose
  // ROLLBACK fails when the connection closes, and the kept windows are dropped anyway.
  if (!result) {
    pipeline::discard_result(impl_->exec("ROLLBACK"));
    impl_->forget_all();  // the kept windows may hold what was rolled back
    return result;
  }
  auto committed = impl_->exec("COMMIT");
  if (!committed) {
    pipeline::discard_result(impl_->exec("ROLLBACK"));
    impl_->forget_all();
  }
  return committed;
}

}  // namespace nba
