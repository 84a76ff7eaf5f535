#include "phase3_analytics/analytics_processors.hpp"

#include <algorithm>
#include <map>
#include <unordered_map>

#include "nba_synthetic/nba_preset.hpp"

namespace phase3 {

std::vector<std::string> analytics_processors() { return nba::analytics_processors(); }

namespace {

using nba::as_double;
using nba::as_int;
using nba::as_text;
using nba::Value;
using nba_services::Written;
using Row = std::vector<Value>;

pipeline::ProcessorOptions config_of(const nba_services::ServiceContext& ctx, std::string name, std::string kind) {
  return nba_services::processor_config(std::move(name), kPhase, ctx.topics.phase3_complete(), "nba_analytics",
                                        std::move(kind));
}

using nba_services::ratio;

// The teams playing on the date and their game (from the schedule; a few rows).
struct Fixture {
  std::string game_id, opponent;
  bool home = false;
};
pipeline::Result<std::map<std::string, Fixture>> fixtures(nba::Warehouse& wh, pipeline::CalendarDate date) {
  auto games = wh.read_rows("nbac_schedule", date);
  if (!games) return pipeline::fail(games.error());
  std::map<std::string, Fixture> out;
  for (std::size_t i = 0; i < games->size(); ++i) {
    const auto id = as_text(games->at(i, "game_id")), home = as_text(games->at(i, "home_team_abbr")),
               away = as_text(games->at(i, "away_team_abbr"));
    out[home] = {id, away, true};
    out[away] = {id, home, false};
  }
  return out;
}

// Mean points line per player over the books (the date's props, filtered).
pipeline::Result<std::map<std::string, double>> points_lines(nba::Warehouse& wh, pipeline::CalendarDate date,
                                                             const nba::Filter& filter) {
  auto props = wh.read_rows("odds_api_player_points_props", date, filter);
  if (!props) return pipeline::fail(props.error());
  std::map<std::string, std::pair<double, int>> sum;
  for (std::size_t i = 0; i < props->size(); ++i) {
    auto& s = sum[as_text(props->at(i, "player_lookup"))];
    s.first += as_double(props->at(i, "points_line"));
    ++s.second;
  }
  std::map<std::string, double> out;
  for (const auto& [id, s] : sum) out[id] = s.first / s.second;
  return out;
}

/// Per player and game: the gamebook line of everyone who played, with usage, true
/// shooting and the result against the points line.
class PlayerGameSummary final : public nba_services::WarehouseProcessor {
 public:
  PlayerGameSummary(CreateKey key, nba_services::ServiceContext& ctx)
      : WarehouseProcessor(key, ctx, config_of(ctx, "player_game_summary", "players")) {}

 protected:
  pipeline::Result<pipeline::ProcessResult> process(const pipeline::ProcessRequest& req) override {
    auto filter = read_filter(req, "player_lookup");
    if (!filter) return pipeline::fail(filter.error());
    auto box = ctx_.warehouse.read_rows("nbac_gamebook_player_stats", req.date, *filter);
    if (!box) return pipeline::fail(box.error());
    auto lines = points_lines(ctx_.warehouse, req.date, *filter);
    if (!lines) return pipeline::fail(lines.error());
    static const std::vector<std::string> copied{"game_id", "team_abbr", "opponent_team_abbr", "is_home", "minutes",
                                                 "points", "rebounds", "assists", "steals", "blocks", "turnovers",
                                                 "fgm", "fga", "fg3m", "fg3a", "ftm", "fta", "rim_fgm", "rim_fga",
                                                 "paint_fgm", "paint_fga", "mid_fgm", "mid_fga"};
    std::vector<std::string> columns{"game_date", "player_lookup"};
    columns.insert(columns.end(), copied.begin(), copied.end());
    for (const char* c : {"usage_rate", "true_shooting_pct", "points_line", "over_under_result"}) columns.push_back(c);
    std::vector<Row> rows;
    Written written;
    for (std::size_t i = 0; i < box->size(); ++i) {
      if (as_text(box->at(i, "player_status")) != "active") continue;
      const auto id = as_text(box->at(i, "player_lookup"));
      Row r{req.date.to_string(), id};
      for (const auto& c : copied) r.push_back(box->at(i, c));
      const double fga = as_double(box->at(i, "fga")), fta = as_double(box->at(i, "fta")),
                   tov = as_double(box->at(i, "turnovers")), pts = as_double(box->at(i, "points")),
                   min = as_double(box->at(i, "minutes"));
      r.emplace_back(ratio((fga + 0.44 * fta + tov) * 48.0, min) / 100.0);  // possessions used per 48, /100
      r.emplace_back(ratio(pts, 2.0 * (fga + 0.44 * fta)));
      auto line = lines->find(id);
      if (line == lines->end()) {
        r.emplace_back(std::monostate{});
        r.emplace_back(std::monostate{});
      } else {
        r.emplace_back(line->second);
        r.emplace_back(std::string(pts > line->second ? "over" : "under"));
      }
      rows.push_back(std::move(r));
      written.add("players", id);
    }
    return write_rows(req, columns, rows, std::move(written));
  }
};

/// Per team and game: points, possessions, offensive rating, pace, result.
class TeamOffenseGameSummary final : public nba_services::WarehouseProcessor {
 public:
  TeamOffenseGameSummary(CreateKey key, nba_services::ServiceContext& ctx)
      : WarehouseProcessor(key, ctx, config_of(ctx, "team_offense_game_summary", "teams")) {}

 protected:
  pipeline::Result<pipeline::ProcessResult> process(const pipeline::ProcessRequest& req) override {
    auto filter = read_filter(req, "team_abbr");
    if (!filter) return pipeline::fail(filter.error());
    auto box = ctx_.warehouse.read_rows("nbac_team_stats", req.date, *filter);
    if (!box) return pipeline::fail(box.error());
    auto scores = ctx_.warehouse.read_rows("nbac_scoreboard_v2", req.date);
    if (!scores) return pipeline::fail(scores.error());
    std::map<std::string, std::pair<std::int64_t, std::int64_t>> final_score;  // game -> (home, away)
    for (std::size_t i = 0; i < scores->size(); ++i)
      final_score[as_text(scores->at(i, "game_id"))] = {as_int(scores->at(i, "home_score")),
                                                        as_int(scores->at(i, "away_score"))};
    const std::vector<std::string> columns{"game_date", "team_abbr", "game_id", "opponent_team_abbr", "is_home",
                                           "win", "points", "possessions", "offensive_rating", "pace", "assists",
                                           "turnovers"};
    std::vector<Row> rows;
    Written written;
    for (std::size_t i = 0; i < box->size(); ++i) {
      const auto team = as_text(box->at(i, "team_abbr")), game = as_text(box->at(i, "game_id"));
      const bool home = as_int(box->at(i, "is_home")) != 0;
      const auto score = final_score[game];
      const bool win = home ? score.first > score.second : score.second > score.first;
      const double pts = as_double(box->at(i, "points")), poss = as_double(box->at(i, "possessions"));
      rows.push_back({req.date.to_string(), team, game, box->at(i, "opponent_team_abbr"), std::int64_t{home},
                      std::int64_t{win}, box->at(i, "points"), box->at(i, "possessions"), 100.0 * ratio(pts, poss),
                      poss, box->at(i, "assists"), box->at(i, "turnovers")});
      written.add("teams", team);
    }
    return write_rows(req, columns, rows, std::move(written));
  }
};

/// Per team and game: what its opponent made, by zone, and the defensive rating.
class TeamDefenseGameSummary final : public nba_services::WarehouseProcessor {
 public:
  TeamDefenseGameSummary(CreateKey key, nba_services::ServiceContext& ctx)
      : WarehouseProcessor(key, ctx, config_of(ctx, "team_defense_game_summary", "teams")) {}

 protected:
  pipeline::Result<pipeline::ProcessResult> process(const pipeline::ProcessRequest& req) override {
    // A team's defense is its opponent's box line: select those rows by opponent.
    auto filter = read_filter(req, "opponent_team_abbr");
    if (!filter) return pipeline::fail(filter.error());
    auto opp = ctx_.warehouse.read_rows("nbac_team_stats", req.date, *filter);
    if (!opp) return pipeline::fail(opp.error());
    const std::vector<std::string> columns{
        "game_date",    "team_abbr",    "game_id",      "opponent_team_abbr", "points_allowed", "opp_fgm",
        "opp_fga",      "opp_fg3m",     "opp_fg3a",     "opp_rim_fgm",        "opp_rim_fga",    "opp_paint_fgm",
        "opp_paint_fga", "opp_mid_fgm", "opp_mid_fga",  "defensive_rating",   "steals",         "blocks",
        "defensive_rebounds"};
    // Steals, blocks and defensive rebounds are the defending team's own: from its row
    // (the date's team lines are two per game, so reading them all is cheap).
    auto all = ctx_.warehouse.read_rows("nbac_team_stats", req.date);
    if (!all) return pipeline::fail(all.error());
    std::vector<Row> rows;
    Written written;
    std::map<std::pair<std::string, std::string>, std::size_t> by_team;  // (game, team) -> row
    for (std::size_t i = 0; i < all->size(); ++i)
      by_team[{as_text(all->at(i, "game_id")), as_text(all->at(i, "team_abbr"))}] = i;
    for (std::size_t i = 0; i < opp->size(); ++i) {
      const auto team = as_text(opp->at(i, "opponent_team_abbr")), game = as_text(opp->at(i, "game_id"));
      auto mine = by_team.find({game, team});
      if (mine == by_team.end()) continue;
      const std::size_t m = mine->second;
      const double pts = as_double(opp->at(i, "points")), poss = as_double(opp->at(i, "possessions"));
      rows.push_back({req.date.to_string(), team, game, opp->at(i, "team_abbr"), opp->at(i, "points"),
                      opp->at(i, "fgm"), opp->at(i, "fga"), opp->at(i, "fg3m"), opp->at(i, "fg3a"),
                      opp->at(i, "rim_fgm"), opp->at(i, "rim_fga"), opp->at(i, "paint_fgm"), opp->at(i, "paint_fga"),
                      opp->at(i, "mid_fgm"), opp->at(i, "mid_fga"), 100.0 * ratio(pts, poss), all->at(m, "steals"),
                      all->at(m, "blocks"), all->at(m, "dreb")});
      written.add("teams", team);
    }
    return write_rows(req, columns, rows, std::move(written));
  }
};

/// Per player of a team playing today: injury status, rest, points line and recent form.
class UpcomingPlayerGameContext final : public nba_services::WarehouseProcessor {
 public:
  UpcomingPlayerGameContext(CreateKey key, nba_services::ServiceContext& ctx)
      : WarehouseProcessor(key, ctx, config_of(ctx, "upcoming_player_game_context", "players")) {}

 protected:
  pipeline::Result<pipeline::ProcessResult> process(const pipeline::ProcessRequest& req) override {
    auto filter = read_filter(req, "player_lookup");
    if (!filter) return pipeline::fail(filter.error());
    auto games = fixtures(ctx_.warehouse, req.date);
    if (!games) return pipeline::fail(games.error());
    auto report = ctx_.warehouse.read_rows("nbac_injury_report", req.date, *filter);
    if (!report) return pipeline::fail(report.error());
    auto lines = points_lines(ctx_.warehouse, req.date, *filter);
    if (!lines) return pipeline::fail(lines.error());
    // Recent form from earlier summaries (nothing before the first processed date).
    auto history = ctx_.warehouse.read_range("player_game_summary", req.date.plus_days(-30), req.date.plus_days(-1),
                                             *filter, {"player_lookup", "points", "minutes"});
    if (!history) return pipeline::fail(history.error());
    // player -> (points, minutes), by date; the keys point into `history`
    std::unordered_map<std::string_view, std::vector<std::pair<double, double>>> form;
    history->for_each_row([&](const Value* row) {  // columns as requested: player, points, minutes
      const auto* player = std::get_if<std::string>(&row[0]);
      if (player != nullptr) form[*player].emplace_back(as_double(row[1]), as_double(row[2]));
    });
    const std::vector<std::pair<double, double>> no_form;
    const std::vector<std::string> columns{"game_date", "player_lookup", "game_id", "team_abbr", "opponent_team_abbr",
                                           "is_home", "injury_status", "days_rest", "back_to_back", "points_line",
                                           "games_played_season", "points_avg_last_5", "points_avg_last_10",
                                           "minutes_avg_last_10"};
    std::vector<Row> rows;
    Written written;
    for (std::size_t i = 0; i < report->size(); ++i) {
      const auto id = as_text(report->at(i, "player_lookup")), team = as_text(report->at(i, "team_abbr"));
      auto fx = games->find(team);
      if (fx == games->end()) continue;  // not playing today
      const auto rest = ctx_.season.days_rest(team, req.date);
      const auto known = form.find(std::string_view(id));
      const auto& f = known == form.end() ? no_form : known->second;
      auto avg = [&](std::size_t n, bool minutes) -> Value {
        if (f.empty()) return std::monostate{};
        double s = 0;
        std::size_t k = 0;
        for (auto it = f.rbegin(); it != f.rend() && k < n; ++it, ++k) s += minutes ? it->second : it->first;
        return s / static_cast<double>(k);
      };
      auto line = lines->find(id);
      rows.push_back({req.date.to_string(), id, fx->second.game_id, team, fx->second.opponent,
                      std::int64_t{fx->second.home}, report->at(i, "status"),
                      rest ? Value(std::int64_t{*rest}) : Value(std::monostate{}),
                      std::int64_t{rest && *rest == 1}, line == lines->end() ? Value() : Value(line->second),
                      static_cast<std::int64_t>(f.size()), avg(5, false), avg(10, false), avg(10, true)});
      written.add("players", id);
    }
    return write_rows(req, columns, rows, std::move(written));
  }
};

/// Per team playing today: rest, the betting market's view and who is out.
class UpcomingTeamGameContext final : public nba_services::WarehouseProcessor {
 public:
  UpcomingTeamGameContext(CreateKey key, nba_services::ServiceContext& ctx)
      : WarehouseProcessor(key, ctx, config_of(ctx, "upcoming_team_game_context", "teams")) {}

 protected:
  pipeline::Result<pipeline::ProcessResult> process(const pipeline::ProcessRequest& req) override {
    auto filter = read_filter(req, "team_abbr");
    if (!filter) return pipeline::fail(filter.error());
    auto games = fixtures(ctx_.warehouse, req.date);
    if (!games) return pipeline::fail(games.error());
    auto report = ctx_.warehouse.read_rows("nbac_injury_report", req.date, *filter);
    if (!report) return pipeline::fail(report.error());
    auto market = ctx_.warehouse.read_rows("odds_api_game_lines", req.date);
    if (!market) return pipeline::fail(market.error());
    std::map<std::string, std::pair<int, int>> injured;  // team -> (out, questionable)
    for (std::size_t i = 0; i < report->size(); ++i) {
      const auto s = as_text(report->at(i, "status"));
      auto& c = injured[as_text(report->at(i, "team_abbr"))];
      if (s == "out" || s == "doubtful") ++c.first;
      if (s == "questionable") ++c.second;
    }
    std::map<std::string, std::tuple<double, double, int>> lines;  // game -> (home spread sum, total sum, books)
    for (std::size_t i = 0; i < market->size(); ++i) {
      auto& l = lines[as_text(market->at(i, "game_id"))];
      std::get<0>(l) += as_double(market->at(i, "spread_home"));
      std::get<1>(l) += as_double(market->at(i, "total"));
      ++std::get<2>(l);
    }
    const std::vector<std::string> columns{"game_date", "team_abbr", "game_id", "opponent_team_abbr", "is_home",
                                           "days_rest", "back_to_back", "spread", "game_total", "players_out",
                                           "players_questionable"};
    const pipeline::EntityFilter wanted = req.filter();
    std::vector<Row> rows;
    Written written;
    for (const auto& [team, fx] : *games) {
      if (!wanted(team)) continue;
      const auto rest = ctx_.season.days_rest(team, req.date);
      const auto& l = lines[fx.game_id];
      const int books = std::max(1, std::get<2>(l));
      const double home_spread = std::get<0>(l) / books;
      rows.push_back({req.date.to_string(), team, fx.game_id, fx.opponent, std::int64_t{fx.home},
                      rest ? Value(std::int64_t{*rest}) : Value(std::monostate{}), std::int64_t{rest && *rest == 1},
                      fx.home ? home_spread : -home_spread, std::get<1>(l) / books,
                      std::int64_t{injured[team].first}, std::int64_t{injured[team].second}});
      written.add("teams", team);
    }
    return write_rows(req, columns, rows, std::move(written));
  }
};

}  // namespace

pipeline::Status declare_dependencies(pipeline::DependencyChecker& checker) {
  using nba_services::needs;
  PIPELINE_TRY(checker.declare("player_game_summary", {needs("nbac_gamebook_player_stats")}));
  PIPELINE_TRY(checker.declare("team_offense_game_summary", {needs("nbac_team_stats"), needs("nbac_scoreboard_v2")}));
  PIPELINE_TRY(checker.declare("team_defense_game_summary", {needs("nbac_team_stats")}));
  PIPELINE_TRY(checker.declare("upcoming_player_game_context", {needs("nbac_schedule"), needs("nbac_injury_report")}));
  PIPELINE_TRY(checker.declare("upcoming_team_game_context", {needs("nbac_schedule"), needs("odds_api_game_lines")}));
  return pipeline::ok();
}

pipeline::Result<Phase3> make_phase3(nba_services::ServiceContext& ctx, nba_services::RunObserver observer) {
  Phase3 p;
  PIPELINE_TRY(nba_services::add_processor<PlayerGameSummary>(p.processors, ctx));
  PIPELINE_TRY(nba_services::add_processor<TeamOffenseGameSummary>(p.processors, ctx));
  PIPELINE_TRY(nba_services::add_processor<TeamDefenseGameSummary>(p.processors, ctx));
  PIPELINE_TRY(nba_services::add_processor<UpcomingPlayerGameContext>(p.processors, ctx));
  PIPELINE_TRY(nba_services::add_processor<UpcomingTeamGameContext>(p.processors, ctx));
  std::vector<pipeline::Processor*> ordered;
  for (auto& proc : p.processors) ordered.push_back(proc.get());
  p.service = std::make_unique<nba_services::PhaseService>("phase3_analytics", std::move(ordered),
                                                           nba_services::PhaseService::Accept{}, std::move(observer));
  p.service->set_alerts(ctx.alerts);
  return p;
}

}  // namespace phase3
