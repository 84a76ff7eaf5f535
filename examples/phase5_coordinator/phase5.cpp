#include "phase5_coordinator/phase5.hpp"

#include <algorithm>
#include <cmath>
#include <iterator>

#include <fmt/format.h>

namespace nba::phase5 {

using pipeline::CalendarDate;
using pipeline::ErrorCode;
using pipeline::Result;
using pipeline::Status;

const TableSpec& prediction_versions_table() {
  static const TableSpec spec{"player_prop_prediction_versions",
                              "predictions",
                              {{"game_date", ColumnType::kText},
                               {"player_lookup", ColumnType::kText},
                               {"system_id", ColumnType::kText},
                               {"version", ColumnType::kInteger},
                               {"batch_id", ColumnType::kText},
                               {"correlation_id", ColumnType::kText},
                               {"game_id", ColumnType::kText},
                               {"predicted_points", ColumnType::kReal},
                               {"points_line", ColumnType::kReal},
                               {"recommendation", ColumnType::kText},
                               {"confidence", ColumnType::kReal}},
                              {"game_date", "player_lookup", "system_id", "version"},
                              "player_lookup"};
  return spec;
}

Result<std::unique_ptr<WarehousePhase5>> WarehousePhase5::create(Warehouse& warehouse) {
  PIPELINE_TRY(warehouse.create_table(prediction_versions_table()));
  return std::unique_ptr<WarehousePhase5>(new WarehousePhase5(warehouse));
}

namespace {
// The players with a game on the date (their upcoming context, from the schedule) who have
// Phase 4 features: `player_daily_cache` also holds players with recent history and no game.
constexpr std::string_view kScheduledWithFeatures =
    "FROM upcoming_player_game_context u JOIN player_daily_cache c "
    "ON c.game_date = u.game_date AND c.player_lookup = u.player_lookup WHERE u.game_date = ?";
}  // namespace

Result<pipeline::ReadinessCounts> WarehousePhase5::counts(CalendarDate date) {
  std::lock_guard lock(mu_);
  auto ready = warehouse_.query(fmt::format("SELECT COUNT(*) AS n {}", kScheduledWithFeatures), {date.to_string()});
  if (!ready) return pipeline::fail(ready.error());
  auto scheduled = warehouse_.count_rows("upcoming_player_game_context", date);
  if (!scheduled) return pipeline::fail(scheduled.error());
  return pipeline::ReadinessCounts{static_cast<std::size_t>(as_int(ready->at(0, "n"))),
                                   static_cast<std::size_t>(*scheduled)};
}

Result<std::vector<std::string>> WarehousePhase5::expected(CalendarDate date) {
  std::lock_guard lock(mu_);
  auto rows = warehouse_.query(
      fmt::format("SELECT u.player_lookup AS player_lookup {} ORDER BY u.player_lookup", kScheduledWithFeatures),
      {date.to_string()});
  if (!rows) return pipeline::fail(rows.error());
  std::vector<std::string> out;
  for (std::size_t i = 0; i < rows->size(); ++i) out.push_back(as_text(rows->at(i, "player_lookup")));
  return out;
}

Result<std::map<std::string, std::int64_t>> WarehousePhase5::predicted(CalendarDate date) {
  std::lock_guard lock(mu_);
  return newest_versions(date, {});
}

Result<std::map<std::string, std::int64_t>> WarehousePhase5::newest_versions(CalendarDate date, const Filter& players) {
  // The highest version per player, taken here: SQLite's GROUP BY with MAX cost twice the scan.
  // Ordered by player, which the primary key gives without a sort (by player and version would
  // sort: system_id sits between them in the key): a player's rows are adjacent.
  std::vector<Value> params{date.to_string(), std::string(kSystemId)};
  params.insert(params.end(), players.params.begin(), players.params.end());
  auto rows = warehouse_.query(
      "SELECT player_lookup, version FROM player_prop_prediction_versions WHERE game_date = ? AND system_id = ?" +
          (players.predicate.empty() ? std::string() : " AND " + players.predicate) + " ORDER BY player_lookup",
      params);
  if (!rows) return pipeline::fail(rows.error());
  std::map<std::string, std::int64_t> out;
  for (std::size_t i = 0; i < rows->size(); ++i) {
    const auto* player = std::get_if<std::string>(&rows->at(i, std::size_t{0}));
    if (player == nullptr) continue;  // the key column is TEXT NOT NULL by construction
    const std::int64_t version = as_int(rows->at(i, 1));
    if (!out.empty() && std::prev(out.end())->first == *player)
      std::prev(out.end())->second = std::max(std::prev(out.end())->second, version);
    else
      out.emplace_hint(out.end(), *player, version);
  }
  return out;
}

Result<std::map<std::string, Prediction>> WarehousePhase5::compute(CalendarDate date,
                                                                  const std::vector<std::string>& players) {
  auto in_players = entity_filter("c.player_lookup", players);
  if (!in_players) return pipeline::fail(in_players.error());
  std::vector<Value> params{date.to_string()};
  params.insert(params.end(), in_players->params.begin(), in_players->params.end());
  auto rows = warehouse_.query(
      "SELECT c.player_lookup AS player, c.points_avg_last_5 AS l5, c.points_avg_last_10 AS l10, "
      "c.points_avg_season AS season, c.points_std_last_10 AS sd, f.total_composite_adjustment AS adj, "
      "f.game_id AS game_id, u.points_line AS line, u.game_id AS ugame "
      "FROM player_daily_cache c "
      "LEFT JOIN player_composite_factors f ON f.game_date = c.game_date AND f.player_lookup = c.player_lookup "
      "JOIN upcoming_player_game_context u ON u.game_date = c.game_date AND u.player_lookup = c.player_lookup "
      "WHERE c.game_date = ? AND " + in_players->predicate,
      params);
  if (!rows) return pipeline::fail(rows.error());
  std::map<std::string, Prediction> out;
  for (std::size_t i = 0; i < rows->size(); ++i) {
    Prediction p;
    p.player_lookup = as_text(rows->at(i, "player"));
    const double l5 = as_double(rows->at(i, "l5")), l10 = as_double(rows->at(i, "l10"));
    const double season = as_double(rows->at(i, "season")), sd = as_double(rows->at(i, "sd"));
    const double adj = as_double(rows->at(i, "adj"));
    p.predicted_points = std::round((0.45 * l5 + 0.35 * l10 + 0.20 * season + adj) * 10.0) / 10.0;
    p.predicted_points = std::max(0.0, p.predicted_points);
    p.points_line = as_double(rows->at(i, "line"));
    p.game_id = as_text(rows->at(i, "game_id"));
    if (p.game_id.empty()) p.game_id = as_text(rows->at(i, "ugame"));
    const double edge = p.points_line > 0 ? p.predicted_points - p.points_line : 0.0;
    p.recommendation = p.points_line <= 0 || std::abs(edge) < 1.0 ? "PASS" : edge > 0 ? "OVER" : "UNDER";
    p.confidence = std::round(std::min(1.0, std::abs(edge) / (sd + 1.0)) * 1000.0) / 1000.0;
    std::string key = p.player_lookup;
    out.emplace(std::move(key), std::move(p));
  }
  return out;
}

Status WarehousePhase5::predict(const pipeline::PredictionWork& work) { return predict_all({work}).front(); }

std::vector<Status> WarehousePhase5::predict_all(const std::vector<pipeline::PredictionWork>& work) {
  std::lock_guard lock(mu_);
  std::vector<Status> out(work.size(), pipeline::ok());
  const std::string sys(kSystemId);
  std::map<CalendarDate, std::vector<std::size_t>> by_date;  // items of each date, in order
  for (std::size_t i = 0; i < work.size(); ++i) by_date[work[i].game_date].push_back(i);
  auto players_of = [&](const std::vector<std::size_t>& items) {
    std::vector<std::string> players;
    for (std::size_t i : items) players.push_back(work[i].entity);
    return players;
  };
  auto written = warehouse_.in_transaction([&]() -> Status {
    std::vector<std::vector<Value>> versions;
    std::vector<Prediction> predictions(work.size());
    for (const auto& [date, items] : by_date) {
      auto computed = compute(date, players_of(items));
      if (!computed) return pipeline::fail(computed.error());
      for (std::size_t i : items) {
        auto p = computed->find(work[i].entity);
        if (p == computed->end()) {
          out[i] = pipeline::fail(ErrorCode::kNotFound, "no game or no Phase 4 features for {} on {}",
                                 work[i].entity, date);
          continue;
        }
        predictions[i] = p->second;
        const Prediction& q = predictions[i];
        versions.push_back({date.to_string(), q.player_lookup, sys, work[i].version, work[i].batch_id,
                            work[i].correlation_id, q.game_id, q.predicted_points, q.points_line, q.recommendation,
                            q.confidence});
      }
    }
    if (versions.empty()) return pipeline::ok();
    PIPELINE_TRY(warehouse_.upsert("player_prop_prediction_versions",
                                   {"game_date", "player_lookup", "system_id", "version", "batch_id", "correlation_id",
                                    "game_id", "predicted_points", "points_line", "recommendation", "confidence"},
                                   versions));
    // Each stored version becomes current unless a newer one is already stored.
    std::vector<std::vector<Value>> current;
    for (const auto& [date, items] : by_date) {
      auto in_players = entity_filter("player_lookup", players_of(items));
      if (!in_players) return pipeline::fail(in_players.error());
      auto newest = newest_versions(date, *in_players);
      if (!newest) return pipeline::fail(newest.error());
      for (std::size_t i : items) {
        if (!out[i] || (*newest)[work[i].entity] > work[i].version) continue;
        const Prediction& q = predictions[i];
        current.push_back({date.to_string(), q.player_lookup, sys, q.game_id, q.predicted_points, q.points_line,
                           q.recommendation, q.confidence, work[i].batch_id, work[i].correlation_id,
                           fmt::format("{}/v{}", work[i].batch_id, work[i].version)});
      }
    }
    if (current.empty()) return pipeline::ok();
    return warehouse_.upsert("player_prop_predictions",
                             {"game_date", "player_lookup", "system_id", "game_id", "predicted_points", "points_line",
                              "recommendation", "confidence", "batch_id", "correlation_id", "source_hash"},
                             current);
  });
  if (!written)
    for (auto& st : out)
      if (st) st = pipeline::fail(written.error());
  return out;
}

pipeline::Result<std::unique_ptr<pipeline::HybridTrigger>> make_hybrid_trigger(
    pipeline::Clock& clock, pipeline::StateStore& store, pipeline::Transport& transport,
    pipeline::BatchCoordinator& coordinator, std::shared_ptr<const pipeline::DailySchedule> schedule,
    const pipeline::HybridTriggerOptions& options) {
  return pipeline::HybridTrigger::create(
      clock, store, transport, coordinator,
      [schedule](pipeline::TimePoint t) -> std::optional<pipeline::Scheduler::Due> {
        if (auto i = schedule->next_after(t)) return pipeline::Scheduler::Due{i->job, i->at};
        return std::nullopt;
      },
      [schedule](pipeline::TimePoint t) { return schedule->wall_time(t).date; }, options);
}

}  // namespace nba::phase5
