#include "phase4_precompute/precompute_processors.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <unordered_map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>


namespace phase4 {

std::vector<std::string> precompute_processors() {
  return {"player_daily_cache", "player_shot_zone_analysis", "team_defense_zone_analysis", "player_composite_factors",
          "ml_feature_store"};
}

namespace {

using nba::as_double;
using nba::as_int;
using nba::as_text;
using nba::Value;
using nba_services::ratio;
using nba_services::Written;
using Row = std::vector<Value>;

/// Rolling windows look back this many days (including the date).
constexpr int kWindowDays = 30;
const char* const kZoneNames[] = {"rim", "paint", "mid", "three"};

pipeline::ProcessorOptions config_of(const nba_services::ServiceContext& ctx, std::string name, std::string kind) {
  return nba_services::processor_config(std::move(name), kPhase, ctx.topics.phase4_complete(), "nba_precompute",
                                        std::move(kind));
}

// The rows of `table` in the window ending at the date, grouped by `column` (in its order),
// each group's rows in date order: row[c] is the c-th of the `values` the caller asked for,
// then `column`. The groups point into `rows`.
struct Window {
  nba::WindowRows rows;
  std::vector<std::pair<std::string_view, std::vector<const Value*>>> groups;
};
pipeline::Result<Window> window(nba::Warehouse& wh, std::string_view table, pipeline::CalendarDate date,
                                const std::string& column, const nba::Filter& filter, std::vector<std::string> values) {
  values.push_back(column);
  auto rows = wh.read_range(table, date.plus_days(-(kWindowDays - 1)), date, filter, values);
  if (!rows) return pipeline::fail(rows.error());
  Window w{std::move(*rows), {}};
  const std::size_t group_at = values.size() - 1;
  // Hashed while grouping (thousands of rows, a few hundred entities), sorted once after.
  std::unordered_map<std::string_view, std::size_t> group_of;
  w.rows.for_each_row([&](const Value* row) {
    const auto* key = std::get_if<std::string>(&row[group_at]);  // entity columns are TEXT
    const std::string_view entity = key != nullptr ? std::string_view(*key) : std::string_view();
    auto [it, added] = group_of.try_emplace(entity, w.groups.size());
    if (added) w.groups.emplace_back(entity, std::vector<const Value*>{});
    w.groups[it->second].second.push_back(row);
  });
  std::sort(w.groups.begin(), w.groups.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  return w;
}

// The index of `column` in `rows`; when absent, one past the last (which reads NULL).
std::size_t column_index(const nba::RowSet& rows, std::string_view column) {
  return rows.column(column).value_or(rows.columns.size());
}

// The date's rows of `table`, by entity column.
std::map<std::string, std::size_t> index(const nba::RowSet& rows, std::string_view column) {
  std::map<std::string, std::size_t> out;
  const std::size_t c = column_index(rows, column);
  for (std::size_t i = 0; i < rows.size(); ++i) out[as_text(rows.at(i, c))] = i;
  return out;
}

// The mean of column `column` over the last `n` of `rows` (most recent last).
double mean_last(const std::vector<const Value*>& rows, std::size_t column, std::size_t n) {
  double s = 0;
  std::size_t k = 0;
  for (auto it = rows.rbegin(); it != rows.rend() && k < n; ++it, ++k) s += as_double((*it)[column]);
  return k ? s / static_cast<double>(k) : 0.0;
}

/// Per player: rolling averages of the last 5 / 10 games and the window.
class PlayerDailyCache final : public nba_services::WarehouseProcessor {
 public:
  PlayerDailyCache(CreateKey key, nba_services::ServiceContext& ctx)
      : WarehouseProcessor(key, ctx, config_of(ctx, "player_daily_cache", "players")) {}

 protected:
  pipeline::Result<pipeline::ProcessResult> process(const pipeline::ProcessRequest& req) override {
    auto filter = read_filter(req, "player_lookup");
    if (!filter) return pipeline::fail(filter.error());
    auto w = window(ctx_.warehouse, "player_game_summary", req.date, "player_lookup", *filter,
                    {"team_abbr", "points", "minutes", "usage_rate", "rebounds", "assists"});
    if (!w) return pipeline::fail(w.error());
    enum : std::size_t { kTeam, kPoints, kMinutes, kUsage, kRebounds, kAssists };  // the window's columns
    const std::vector<std::string> columns{"game_date", "player_lookup", "team_abbr", "games_played",
                                           "points_avg_last_5", "points_avg_last_10", "points_avg_season",
                                           "points_std_last_10", "minutes_avg_last_10", "usage_rate_last_10",
                                           "rebounds_avg_last_10", "assists_avg_last_10"};
    std::vector<Row> out;
    Written written;
    for (const auto& [player, rows] : w->groups) {
      const double avg10 = mean_last(rows, kPoints, 10);
      double var = 0;
      std::size_t k = 0;
      for (auto it = rows.rbegin(); it != rows.rend() && k < 10; ++it, ++k)
        var += std::pow(as_double((*it)[kPoints]) - avg10, 2);
      out.push_back({req.date.to_string(), std::string(player), rows.back()[kTeam],
                     static_cast<std::int64_t>(rows.size()), mean_last(rows, kPoints, 5), avg10,
                     mean_last(rows, kPoints, rows.size()), std::sqrt(var / static_cast<double>(k)),
                     mean_last(rows, kMinutes, 10), mean_last(rows, kUsage, 10), mean_last(rows, kRebounds, 10),
                     mean_last(rows, kAssists, 10)});
      written.add("players", std::string(player));
    }
    return write_rows(req, columns, out, std::move(written));
  }
};

/// Per player: where the shots come from and how well they go in, over the window.
class PlayerShotZoneAnalysis final : public nba_services::WarehouseProcessor {
 public:
  PlayerShotZoneAnalysis(CreateKey key, nba_services::ServiceContext& ctx)
      : WarehouseProcessor(key, ctx, config_of(ctx, "player_shot_zone_analysis", "players")) {}

 protected:
  pipeline::Result<pipeline::ProcessResult> process(const pipeline::ProcessRequest& req) override {
    auto filter = read_filter(req, "player_lookup");
    if (!filter) return pipeline::fail(filter.error());
    auto w = window(ctx_.warehouse, "player_game_summary", req.date, "player_lookup", *filter,
                    {"rim_fgm", "rim_fga", "paint_fgm", "paint_fga", "mid_fgm", "mid_fga", "fg3m", "fg3a"});
    if (!w) return pipeline::fail(w.error());
    const std::vector<std::string> columns{"game_date", "player_lookup", "games_in_sample", "rim_rate", "paint_rate",
                                           "mid_rate", "three_rate", "rim_pct", "paint_pct", "mid_pct", "three_pct",
                                           "primary_zone"};
    std::vector<Row> out;
    Written written;
    for (const auto& [player, rows] : w->groups) {
      double made[4]{}, att[4]{};
      for (const Value* row : rows)
        for (std::size_t z = 0; z < 4; ++z) {  // the window's columns: made, attempted per zone
          made[z] += as_double(row[2 * z]);
          att[z] += as_double(row[2 * z + 1]);
        }
      const double total = att[0] + att[1] + att[2] + att[3];
      Row r{req.date.to_string(), std::string(player), static_cast<std::int64_t>(rows.size())};
      int primary = 0;
      for (int z = 0; z < 4; ++z) {
        r.emplace_back(ratio(att[z], total));
        if (att[z] > att[primary]) primary = z;
      }
      for (int z = 0; z < 4; ++z) r.emplace_back(ratio(made[z], att[z]));
      r.emplace_back(std::string(kZoneNames[primary]));
      out.push_back(std::move(r));
      written.add("players", std::string(player));
    }
    return write_rows(req, columns, out, std::move(written));
  }
};

/// Per team: what opponents shoot against it by zone, and its weakest zone.
class TeamDefenseZoneAnalysis final : public nba_services::WarehouseProcessor {
 public:
  TeamDefenseZoneAnalysis(CreateKey key, nba_services::ServiceContext& ctx)
      : WarehouseProcessor(key, ctx, config_of(ctx, "team_defense_zone_analysis", "teams")) {}

 protected:
  pipeline::Result<pipeline::ProcessResult> process(const pipeline::ProcessRequest& req) override {
    auto filter = read_filter(req, "team_abbr");
    if (!filter) return pipeline::fail(filter.error());
    auto w = window(ctx_.warehouse, "team_defense_game_summary", req.date, "team_abbr", *filter,
                    {"opp_rim_fgm", "opp_rim_fga", "opp_paint_fgm", "opp_paint_fga", "opp_mid_fgm", "opp_mid_fga",
                     "opp_fg3m", "opp_fg3a", "points_allowed", "defensive_rating"});
    if (!w) return pipeline::fail(w.error());
    const std::vector<std::string> columns{"game_date",     "team_abbr",          "games_in_sample",
                                           "opp_rim_pct",   "opp_paint_pct",      "opp_mid_pct",
                                           "opp_three_pct", "points_allowed_avg", "defensive_rating_avg",
                                           "weakest_zone"};
    std::vector<Row> out;
    Written written;
    for (const auto& [team, rows] : w->groups) {
      double made[4]{}, att[4]{};
      for (const Value* row : rows)
        for (std::size_t z = 0; z < 4; ++z) {  // the window's columns: made, attempted per zone, then the rest
          made[z] += as_double(row[2 * z]);
          att[z] += as_double(row[2 * z + 1]);
        }
      Row r{req.date.to_string(), std::string(team), static_cast<std::int64_t>(rows.size())};
      int weakest = 0;
      for (int z = 0; z < 4; ++z) {
        r.emplace_back(ratio(made[z], att[z]));
        if (ratio(made[z], att[z]) > ratio(made[weakest], att[weakest])) weakest = z;
      }
      r.emplace_back(mean_last(rows, 8, rows.size()));  // points_allowed
      r.emplace_back(mean_last(rows, 9, rows.size()));  // defensive_rating
      r.emplace_back(std::string(kZoneNames[weakest]));
      out.push_back(std::move(r));
      written.add("teams", std::string(team));
    }
    return write_rows(req, columns, out, std::move(written));
  }
};

double injury_adjustment(const std::string& status) {
  if (status == "out") return -1.0;
  if (status == "doubtful") return -0.6;
  if (status == "questionable") return -0.2;
  return 0.0;
}

/// Per player playing today: fatigue, shot-zone mismatch with the opponent's defense,
/// recent form against the line, injury — and their sum.
class PlayerCompositeFactors final : public nba_services::WarehouseProcessor {
 public:
  PlayerCompositeFactors(CreateKey key, nba_services::ServiceContext& ctx)
      : WarehouseProcessor(key, ctx, config_of(ctx, "player_composite_factors", "players")) {}

 protected:
  pipeline::Result<pipeline::ProcessResult> process(const pipeline::ProcessRequest& req) override {
    auto filter = read_filter(req, "player_lookup");
    if (!filter) return pipeline::fail(filter.error());
    auto ctxs = ctx_.warehouse.read_rows("upcoming_player_game_context", req.date, *filter);
    auto zones = ctx_.warehouse.read_rows("player_shot_zone_analysis", req.date, *filter);
    auto cache = ctx_.warehouse.read_rows("player_daily_cache", req.date, *filter);
    auto defense = ctx_.warehouse.read_rows("team_defense_zone_analysis", req.date);  // 30 rows at most
    for (const auto* r : {&ctxs, &zones, &cache, &defense})
      if (!*r) return pipeline::fail(r->error());
    auto zone_of = index(*zones, "player_lookup");
    auto cache_of = index(*cache, "player_lookup");
    auto defense_of = index(*defense, "team_abbr");
    const std::vector<std::string> columns{"game_date",           "player_lookup",    "game_id",
                                           "opponent_team_abbr",  "fatigue_score",    "shot_zone_mismatch_score",
                                           "pace_score",          "usage_spike_score", "injury_adjustment",
                                           "total_composite_adjustment"};
    std::vector<Row> out;
    Written written;
    for (std::size_t i = 0; i < ctxs->size(); ++i) {
      const auto player = as_text(ctxs->at(i, "player_lookup")), opp = as_text(ctxs->at(i, "opponent_team_abbr"));
      const double fatigue = as_int(ctxs->at(i, "back_to_back")) ? -1.5 : as_int(ctxs->at(i, "days_rest")) >= 3 ? 0.5 : 0.0;
      double mismatch = 0, spike = 0;
      auto z = zone_of.find(player);
      auto d = defense_of.find(opp);
      if (z != zone_of.end() && d != defense_of.end()) {
        const std::string zone = as_text(zones->at(z->second, "primary_zone"));
        const double mine = as_double(zones->at(z->second, zone + "_pct"));
        const double allowed = as_double(defense->at(d->second, "opp_" + zone + "_pct"));
        mismatch = 10.0 * (allowed - mine);
      }
      if (auto c = cache_of.find(player);
          c != cache_of.end() && !std::holds_alternative<std::monostate>(ctxs->at(i, "points_line")))
        spike = as_double(cache->at(c->second, "points_avg_last_10")) - as_double(ctxs->at(i, "points_line"));
      const double injury = injury_adjustment(as_text(ctxs->at(i, "injury_status")));
      out.push_back({req.date.to_string(), player, ctxs->at(i, "game_id"), opp, fatigue, mismatch, 0.0, spike, injury,
                     fatigue + mismatch + spike + injury});
      written.add("players", player);
    }
    return write_rows(req, columns, out, std::move(written));
  }
};

// A feature's value as JSON: null, or the number in shortest round-trip form, with ".0"
// when integral (nlohmann::json's form, which wrote these texts before; its Grisu2 digits are
// now and then one longer than the shortest, and both read back as the same double).
std::string json_number(const Value& v) {
  if (std::holds_alternative<std::monostate>(v)) return "null";
  const double d = as_double(v);
  if (!std::isfinite(d)) return "null";
  std::string out = fmt::format("{}", d);
  if (out.find_first_of(".e") == std::string::npos) out += ".0";
  return out;
}

/// Per player playing today: the feature vector the Phase 5 models read.
class MlFeatureStore final : public nba_services::WarehouseProcessor {
 public:
  MlFeatureStore(CreateKey key, nba_services::ServiceContext& ctx)
      : WarehouseProcessor(key, ctx, config_of(ctx, "ml_feature_store", "players")) {}

 protected:
  pipeline::Result<pipeline::ProcessResult> process(const pipeline::ProcessRequest& req) override {
    auto filter = read_filter(req, "player_lookup");
    if (!filter) return pipeline::fail(filter.error());
    auto ctxs = ctx_.warehouse.read_rows("upcoming_player_game_context", req.date, *filter);
    auto cache = ctx_.warehouse.read_rows("player_daily_cache", req.date, *filter);
    auto factors = ctx_.warehouse.read_rows("player_composite_factors", req.date, *filter);
    for (const auto* r : {&ctxs, &cache, &factors})
      if (!*r) return pipeline::fail(r->error());
    auto cache_of = index(*cache, "player_lookup");
    auto factors_of = index(*factors, "player_lookup");
    const std::vector<std::string> columns{"game_date",     "player_lookup", "game_id",
                                           "feature_version", "feature_count", "features_json"};
    // Column indexes found once, not per row.
    const std::size_t player_at = column_index(*ctxs, "player_lookup"), game_at = column_index(*ctxs, "game_id"),
                      home_at = column_index(*ctxs, "is_home"), rest_at = column_index(*ctxs, "days_rest"),
                      line_at = column_index(*ctxs, "points_line"), injury_at = column_index(*ctxs, "injury_status");
    static constexpr const char* kCacheFeatures[] = {"points_avg_last_5", "points_avg_last_10", "points_std_last_10",
                                                     "minutes_avg_last_10"};
    static constexpr const char* kFactorFeatures[] = {"fatigue_score", "shot_zone_mismatch_score", "usage_spike_score",
                                                      "injury_adjustment", "total_composite_adjustment"};
    std::vector<std::size_t> cache_at, factor_at;
    for (const char* k : kCacheFeatures) cache_at.push_back(column_index(*cache, k));
    for (const char* k : kFactorFeatures) factor_at.push_back(column_index(*factors, k));
    std::vector<Row> out;
    Written written;
    std::vector<std::pair<std::string_view, std::string>> f;  // feature -> its JSON text
    for (std::size_t i = 0; i < ctxs->size(); ++i) {
      const auto player = as_text(ctxs->at(i, player_at));
      f.clear();
      f.emplace_back("is_home", std::to_string(as_int(ctxs->at(i, home_at))));
      f.emplace_back("days_rest", json_number(ctxs->at(i, rest_at)));
      f.emplace_back("points_line", json_number(ctxs->at(i, line_at)));
      f.emplace_back("injury_status", nlohmann::json(as_text(ctxs->at(i, injury_at))).dump());
      if (auto c = cache_of.find(player); c != cache_of.end())
        for (std::size_t k = 0; k < cache_at.size(); ++k)
          f.emplace_back(kCacheFeatures[k], json_number(cache->at(c->second, cache_at[k])));
      if (auto c = factors_of.find(player); c != factors_of.end())
        for (std::size_t k = 0; k < factor_at.size(); ++k)
          f.emplace_back(kFactorFeatures[k], json_number(factors->at(c->second, factor_at[k])));
      // Written straight to text, keys in order (as a JSON object type would): a tree per
      // player cost more than the rest of the step.
      std::sort(f.begin(), f.end());
      std::string text = "{";
      for (const auto& [key, value] : f) {
        if (text.size() > 1) text += ',';
        text += '"';
        text += key;  // the names above: nothing to escape
        text += "\":";
        text += value;
      }
      text += '}';
      out.push_back({req.date.to_string(), player, ctxs->at(i, game_at), std::string("v1_demo"),
                     static_cast<std::int64_t>(f.size()), std::move(text)});
      written.add("players", player);
    }
    return write_rows(req, columns, out, std::move(written));
  }
};

}  // namespace

pipeline::Status declare_dependencies(pipeline::DependencyChecker& checker) {
  using nba_services::needs;
  PIPELINE_TRY(checker.declare("player_daily_cache", {needs("player_game_summary")}));
  PIPELINE_TRY(checker.declare("player_shot_zone_analysis", {needs("player_game_summary")}));
  PIPELINE_TRY(checker.declare("team_defense_zone_analysis", {needs("team_defense_game_summary")}));
  PIPELINE_TRY(checker.declare("player_composite_factors",
                               {needs("upcoming_player_game_context"), needs("player_shot_zone_analysis"),
                                needs("team_defense_zone_analysis")}));
  PIPELINE_TRY(checker.declare("ml_feature_store", {needs("upcoming_player_game_context"), needs("player_daily_cache"),
                                                    needs("player_composite_factors")}));
  return pipeline::ok();
}

pipeline::Result<Phase4> make_phase4(nba_services::ServiceContext& ctx, nba_services::RunObserver observer) {
  Phase4 p;
  PIPELINE_TRY(nba_services::add_processor<PlayerDailyCache>(p.processors, ctx));
  PIPELINE_TRY(nba_services::add_processor<PlayerShotZoneAnalysis>(p.processors, ctx));
  PIPELINE_TRY(nba_services::add_processor<TeamDefenseZoneAnalysis>(p.processors, ctx));
  PIPELINE_TRY(nba_services::add_processor<PlayerCompositeFactors>(p.processors, ctx));
  PIPELINE_TRY(nba_services::add_processor<MlFeatureStore>(p.processors, ctx));
  std::vector<pipeline::Processor*> ordered;
  for (auto& proc : p.processors) ordered.push_back(proc.get());
  p.service = std::make_unique<nba_services::PhaseService>("phase4_precompute", std::move(ordered),
                                                           nba_services::PhaseService::Accept{}, std::move(observer));
  p.service->set_alerts(ctx.alerts);
  // A failing processor stops only what reads it: the others of the phase still run.
  PIPELINE_TRY(p.service->run_after("player_composite_factors", {"player_shot_zone_analysis", "team_defense_zone_analysis"}));
  PIPELINE_TRY(p.service->run_after("ml_feature_store", {"player_daily_cache", "player_composite_factors"}));
  return p;
}

}  // namespace phase4
