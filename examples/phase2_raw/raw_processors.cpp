#include "phase2_raw/raw_processors.hpp"

#include <fstream>
#include <map>
#include <string_view>
#include <variant>
#include <nlohmann/json.hpp>

#include "phase1_scraper/scrapers.hpp"

namespace phase2 {

const std::vector<std::string>& raw_processors() { return phase1::feeds(); }

namespace {

using nba::Value;
using Row = std::vector<Value>;
using Cols = std::vector<std::string>;
Value I(std::int64_t v) { return v; }
Value T(std::string v) { return v; }

std::string entity_column_of(const std::string& table) {
  const auto* spec = [&]() -> const nba::TableSpec* {
    for (const auto& t : nba::warehouse_tables())
      if (t.name == table) return &t;
    return nullptr;
  }();
  return spec ? spec->entity_column : std::string("game_id");
}

std::string kind_of(const std::string& entity_column) {
  if (entity_column == "player_lookup") return "players";
  if (entity_column == "team_abbr") return "teams";
  return "games";
}

pipeline::ProcessorOptions raw_config(const nba_services::ServiceContext& ctx, const std::string& table) {
  return nba_services::processor_config(table, kPhase, ctx.topics.phase2_complete(), "nba_raw",
                                        kind_of(entity_column_of(table)));
}

void add_zones(Row& r, const int made[], const int attempts[]) {
  for (int z : {nba::kRim, nba::kPaint, nba::kMidRange}) {
    r.push_back(I(made[z]));
    r.push_back(I(attempts[z]));
  }
}
const Cols kZoneCols{"rim_fgm", "rim_fga", "paint_fgm", "paint_fga", "mid_fgm", "mid_fga"};
Cols operator+(Cols a, const Cols& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// One table's rows from a feed's items, keeping only the entities `wanted` selects.
struct Rows {
  Cols columns;
  std::vector<Row> rows;
};

// The layout a raw table's rows take: its own for the first eight feeds; for the 13
// synthetic ones, a table above's or "roster", "player_box", "games", "teams".
std::string_view layout_of(std::string_view table) {
  static const std::map<std::string_view, std::string_view> kLike{
      {"espn_scoreboard", "nbac_scoreboard_v2"},
      {"bdl_injuries", "nbac_injury_report"},
      {"bettingpros_player_points_props", "odds_api_player_points_props"},
      {"nbac_player_list", "roster"},
      {"bdl_active_players", "roster"},
      {"espn_team_rosters", "roster"},
      {"br_rosters", "roster"},
      {"nbac_player_boxscores", "player_box"},
      {"espn_boxscores", "player_box"},
      {"nbac_play_by_play", "player_box"},
      {"bigdataball_play_by_play", "player_box"},
      {"nbac_referee_assignments", "games"},
      {"bdl_standings", "teams"}};
  auto it = kLike.find(table);
  return it == kLike.end() ? table : it->second;
}

// `items` holds the feed's type (std::bad_variant_access otherwise).
Rows build_rows(const std::string& table_name, const nba_services::FeedItems& items, const std::string& date,
                const pipeline::EntityFilter& wanted, nba_services::Written& written) {
  const std::string_view table = layout_of(table_name);
  Rows out;
  auto keep = [&](std::string_view kind, const std::string& id, std::initializer_list<std::pair<std::string_view, std::string>> also = {}) {
    if (!wanted(id)) return false;
    written.add(kind, id);
    for (const auto& [k, v] : also) written.add(k, v);
    return true;
  };
  if (table == "nbac_schedule") {
    out.columns = {"game_date", "game_id", "home_team_abbr", "away_team_abbr", "start_time_et", "arena"};
    for (const auto& g : std::get<std::vector<nba::Game>>(items)) {
      if (keep("games", g.game_id))
        out.rows.push_back({T(date), T(g.game_id), T(g.home), T(g.away), T(g.start_time_et), T(g.arena)});
    }
  } else if (table == "nbac_injury_report") {
    out.columns = {"game_date", "player_lookup", "team_abbr", "status", "reason"};
    for (const auto& e : std::get<std::vector<nba::InjuryEntry>>(items)) {
      // A player's changed status also changes their team's injury picture.
      if (keep("players", e.player_id, {{"teams", e.team}}))
        out.rows.push_back({T(date), T(e.player_id), T(e.team), T(std::string(nba::to_string(e.status))), T(e.reason)});
    }
  } else if (table == "odds_api_player_points_props") {
    out.columns = {"game_date", "game_id", "player_lookup", "bookmaker", "team_abbr", "points_line", "over_price",
                   "under_price"};
    for (const auto& p : std::get<std::vector<nba::PlayerProp>>(items)) {
      if (keep("players", p.player_id))
        out.rows.push_back({T(date), T(p.game_id), T(p.player_id), T(p.bookmaker), T(p.team), Value(p.points_line),
                            I(p.over_price), I(p.under_price)});
    }
  } else if (table == "odds_api_game_lines") {
    out.columns = {"game_date", "game_id", "bookmaker", "home_team_abbr", "away_team_abbr", "spread_home", "total",
                   "home_moneyline", "away_moneyline"};
    for (const auto& l : std::get<std::vector<nba::GameLine>>(items)) {
      if (keep("games", l.game_id))
        out.rows.push_back({T(date), T(l.game_id), T(l.bookmaker), T(l.home), T(l.away), Value(l.spread_home),
                            Value(l.total), I(l.home_moneyline), I(l.away_moneyline)});
    }
  } else if (table == "nbac_scoreboard_v2") {
    out.columns = {"game_date", "game_id", "home_team_abbr", "away_team_abbr", "home_score", "away_score", "periods",
                   "game_status"};
    for (const auto& b : std::get<std::vector<nba::BoxScore>>(items)) {
      if (keep("games", b.game.game_id))
        out.rows.push_back({T(date), T(b.game.game_id), T(b.game.home), T(b.game.away), I(b.home_points),
                            I(b.away_points), I(b.periods), T("final")});
    }
  } else if (table == "nbac_gamebook_player_stats") {
    out.columns = Cols{"game_date", "game_id", "player_lookup", "player_name", "team_abbr", "opponent_team_abbr",
                       "is_home", "starter", "player_status", "minutes", "points", "fgm", "fga", "fg3m", "fg3a", "ftm",
                       "fta", "oreb", "dreb", "rebounds", "assists", "steals", "blocks", "turnovers", "fouls",
                       "plus_minus"} +
                  kZoneCols;
    for (const auto& b : std::get<std::vector<nba::BoxScore>>(items)) {
      for (const auto& p : b.players) {
        if (!keep("players", p.player_id)) continue;
        Row r{T(date), T(p.game_id), T(p.player_id), T(p.player_name), T(p.team), T(p.opponent), I(p.home),
              I(p.starter), T(p.status), I(p.minutes), I(p.points), I(p.fgm), I(p.fga), I(p.fg3m), I(p.fg3a),
              I(p.ftm), I(p.fta), I(p.oreb), I(p.dreb), I(p.reb), I(p.ast), I(p.stl), I(p.blk), I(p.tov), I(p.pf),
              I(p.plus_minus)};
        add_zones(r, p.zone_made, p.zone_attempts);
        out.rows.push_back(std::move(r));
      }
    }
  } else if (table == "bdl_player_boxscores") {
    out.columns = {"game_date", "game_id",  "player_lookup", "team_abbr", "minutes", "points",
                   "rebounds",  "assists",  "steals",        "blocks",    "turnovers"};
    for (const auto& b : std::get<std::vector<nba::BoxScore>>(items)) {
      for (const auto& p : b.players)
        if (p.minutes > 0 && keep("players", p.player_id))  // balldontlie lists only players who played
          out.rows.push_back({T(date), T(p.game_id), T(p.player_id), T(p.team), I(p.minutes), I(p.points), I(p.reb),
                              I(p.ast), I(p.stl), I(p.blk), I(p.tov)});
    }
  } else if (table == "roster") {
    out.columns = {"game_date", "player_lookup", "team_abbr"};
    for (const auto& e : std::get<std::vector<nba::InjuryEntry>>(items)) {
      if (keep("players", e.player_id)) out.rows.push_back({T(date), T(e.player_id), T(e.team)});
    }
  } else if (table == "player_box") {
    out.columns = {"game_date", "game_id", "player_lookup", "team_abbr", "minutes", "points"};
    for (const auto& b : std::get<std::vector<nba::BoxScore>>(items)) {
      for (const auto& p : b.players)
        if (keep("players", p.player_id))
          out.rows.push_back({T(date), T(p.game_id), T(p.player_id), T(p.team), I(p.minutes), I(p.points)});
    }
  } else if (table == "games") {
    out.columns = {"game_date", "game_id", "home_team_abbr", "away_team_abbr"};
    for (const auto& g : std::get<std::vector<nba::Game>>(items)) {
      if (keep("games", g.game_id)) out.rows.push_back({T(date), T(g.game_id), T(g.home), T(g.away)});
    }
  } else if (table == "teams") {
    out.columns = {"game_date", "team_abbr", "game_id", "opponent_team_abbr"};
    for (const auto& g : std::get<std::vector<nba::Game>>(items)) {
      for (const auto& [team, opponent] : {std::pair{g.home, g.away}, std::pair{g.away, g.home}})
        if (keep("teams", team)) out.rows.push_back({T(date), T(team), T(g.game_id), T(opponent)});
    }
  } else if (table == "nbac_team_stats") {
    out.columns = Cols{"game_date", "game_id", "team_abbr", "opponent_team_abbr", "is_home", "points", "fgm", "fga",
                       "fg3m", "fg3a", "ftm", "fta", "oreb", "dreb", "rebounds", "assists", "steals", "blocks",
                       "turnovers", "fouls", "possessions"} +
                  kZoneCols;
    for (const auto& b : std::get<std::vector<nba::BoxScore>>(items)) {
      for (const auto* t : {&b.home_totals, &b.away_totals}) {
        if (!keep("teams", t->team)) continue;
        Row r{T(date), T(t->game_id), T(t->team), T(t->opponent), I(t->home), I(t->points), I(t->fgm), I(t->fga),
              I(t->fg3m), I(t->fg3a), I(t->ftm), I(t->fta), I(t->oreb), I(t->dreb), I(t->reb), I(t->ast),
              I(t->stl), I(t->blk), I(t->tov), I(t->pf), I(t->possessions)};
        add_zones(r, t->zone_made, t->zone_attempts);
        out.rows.push_back(std::move(r));
      }
    }
  }
  return out;
}

}  // namespace

RawProcessor::RawProcessor(CreateKey key, nba_services::ServiceContext& ctx, std::string table,
                           pipeline::ChangeDetector* detector)
    : WarehouseProcessor(key, ctx, raw_config(ctx, table), detector), scraper_(phase1::scraper_name(table)) {}

pipeline::Result<std::shared_ptr<const nba_services::FeedItems>> RawProcessor::load_items(
    const pipeline::Message* trigger) const {
  if (!trigger || !trigger->metadata->is_object() || !trigger->metadata->contains("file") ||
      !trigger->metadata["file"].is_string())
    return pipeline::fail(pipeline::ErrorCode::kInvalidArgument, "{} needs a trigger naming the scraped file",
                          options().name);
  const auto path = trigger->metadata["file"].get<std::string>();
  if (ctx_.scraped_in_memory != nullptr)
    if (auto held = ctx_.scraped_in_memory->find(path)) return held;
  std::ifstream in(path);
  if (!in) return pipeline::fail(pipeline::ErrorCode::kNotFound, "scraped file {} cannot be read", path);
  auto j = nlohmann::json::parse(in, nullptr, false);
  if (j.is_discarded() || !j.contains("items") || !j["items"].is_array())
    return pipeline::fail(pipeline::ErrorCode::kInvalidArgument, "scraped file {} is not a feed payload", path);
  auto items = phase1::items_from_json(options().name, j["items"]);
  if (!items) return pipeline::fail(items.error().with("file", path));
  return std::make_shared<const nba_services::FeedItems>(std::move(*items));
}

pipeline::Result<std::vector<pipeline::EntitySnapshot>> RawProcessor::snapshot_for(pipeline::CalendarDate,
                                                                                   const pipeline::Message* trigger) {
  auto items = load_items(trigger);
  if (!items) return pipeline::fail(items.error());
  const auto* report = std::get_if<std::vector<nba::InjuryEntry>>(items->get());
  if (report == nullptr) return pipeline::fail(pipeline::ErrorCode::kInvalidArgument, "{}: not an injury report", options().name);
  std::vector<pipeline::EntitySnapshot> out;
  for (const auto& e : *report)
    out.push_back({e.player_id,
                   {{"team_abbr", e.team}, {"injury_status", std::string(nba::to_string(e.status))}, {"reason", e.reason}}});
  return out;
}

pipeline::Result<pipeline::ProcessResult> RawProcessor::process(const pipeline::ProcessRequest& request) {
  auto items = load_items(request.trigger);
  if (!items) return pipeline::fail(items.error());
  nba_services::Written written;
  Rows rows;
  try {
    rows = build_rows(options().name, **items, request.date.to_string(), request.filter(), written);
  } catch (const std::bad_variant_access&) {
    return pipeline::fail(pipeline::ErrorCode::kInvalidArgument, "{}: the scraped items are of another feed", options().name);
  }
  return write_rows(request, rows.columns, rows.rows, std::move(written));
}

pipeline::Status declare_dependencies(pipeline::DependencyChecker& checker) {
  for (const auto& t : raw_processors()) PIPELINE_TRY(checker.declare(t, {}));
  return pipeline::ok();
}

pipeline::Result<Phase2> make_phase2(nba_services::ServiceContext& ctx, nba_services::RunObserver observer) {
  Phase2 p;
  // Only what the report says about a player matters: team, status and reason.
  auto detector = pipeline::ChangeDetector::create(
      ctx.store, {"players", {"team_abbr", "injury_status", "reason"}, "change/nbac_injury_report"});
  if (!detector) return pipeline::fail(detector.error());
  p.injury_detector = std::make_unique<pipeline::FingerprintChangeDetector>(std::move(*detector));
  std::vector<pipeline::Processor*> ordered;
  for (const auto& t : raw_processors()) {
    PIPELINE_TRY(nba_services::add_processor<RawProcessor>(
        p.processors, ctx, t, t == "nbac_injury_report" ? p.injury_detector.get() : nullptr));
    ordered.push_back(p.processors.back().get());
  }
  // A Phase 1 completion runs the raw processor of its scraper (the seeds' file-arrival
  // notification), not the whole phase.
  auto accepts = [](const pipeline::Processor& proc, const pipeline::Message& trigger) {
    return trigger.processor_name == static_cast<const RawProcessor&>(proc).scraper() &&
           trigger.status != pipeline::CompletionStatus::kFailed;
  };
  p.service = std::make_unique<nba_services::PhaseService>("phase2_raw", std::move(ordered), accepts,
                                                           std::move(observer));
  p.service->set_alerts(ctx.alerts);
  return p;
}

}  // namespace phase2
