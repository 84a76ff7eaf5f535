#include "phase1_scraper/scrapers.hpp"

#include <fstream>
#include <variant>

#include <fmt/format.h>

#include "pipeline/core/trace_context.hpp"

namespace phase1 {

const std::vector<std::string>& feeds() {
  static const std::vector<std::string> all{"nbac_schedule",          "nbac_injury_report",
                                            "odds_api_player_points_props", "odds_api_game_lines",
                                            "nbac_scoreboard_v2",     "nbac_gamebook_player_stats",
                                            "bdl_player_boxscores",   "nbac_team_boxscore"};
  return all;
}

std::string scraper_name(std::string_view feed) { return fmt::format("{}_scraper", feed); }

pipeline::TimePoint injury_update_time(pipeline::CalendarDate date) {
  return pipeline::TimePoint(date.sys_days()) + std::chrono::hours(19);
}

namespace {

pipeline::ProcessorConfig scraper_config(const nba_services::ServiceContext& ctx, const std::string& feed) {
  pipeline::ProcessorConfig c;
  c.name = scraper_name(feed);
  c.phase = std::string(kPhase);
  c.completion_topic = ctx.topics.phase1_complete();
  c.output_table = feed;
  c.output_dataset = "nba_raw_files";
  return c;
}

// What the source publishes for `feed` on `date` at `now`.
nba_services::FeedItems fetch(const nba::Season& season, const std::string& feed, pipeline::CalendarDate date,
                              pipeline::TimePoint now) {
  if (feed == "nbac_schedule") {
    const auto games = season.games_on(date);
    return std::vector<nba::Game>(games.begin(), games.end());
  }
  if (feed == "nbac_injury_report")
    return now >= injury_update_time(date) ? season.injury_report_after_update(date) : season.injury_report(date);
  if (feed == "odds_api_player_points_props") return season.player_props(date);
  if (feed == "odds_api_game_lines") return season.game_lines(date);
  // The box-score feeds (scoreboard, gamebook, balldontlie, team box) publish the final
  // box scores; each raw processor loads its part.
  return season.box_scores(date);
}

// A file's items back in the type `fetch` returned them.
template <class T>
pipeline::Result<nba_services::FeedItems> typed_items(const nlohmann::json& items) {
  try {
    return nba_services::FeedItems(items.get<std::vector<T>>());
  } catch (const std::exception& e) {
    return pipeline::fail(pipeline::ErrorCode::kInvalidArgument, "malformed item: {}", e.what());
  }
}

}  // namespace

pipeline::Result<nba_services::FeedItems> items_from_json(std::string_view feed, const nlohmann::json& items) {
  if (feed == "nbac_schedule") return typed_items<nba::Game>(items);
  if (feed == "nbac_injury_report") return typed_items<nba::InjuryEntry>(items);
  if (feed == "odds_api_player_points_props") return typed_items<nba::PlayerProp>(items);
  if (feed == "odds_api_game_lines") return typed_items<nba::GameLine>(items);
  for (const auto& f : feeds())
    if (f == feed) return typed_items<nba::BoxScore>(items);
  return pipeline::fail(pipeline::ErrorCode::kInvalidArgument, "unknown feed '{}'", feed);
}

Scraper::Scraper(nba_services::ServiceContext& ctx, std::string feed)
    : Processor(ctx.processor_services(), scraper_config(ctx, feed)), ctx_(ctx), feed_(std::move(feed)) {}

pipeline::Result<pipeline::ProcessResult> Scraper::process(const pipeline::ProcessRequest& request) {
  auto fetched = fetch(ctx_.season, feed_, request.date, ctx_.clock.now());
  const auto items = static_cast<std::int64_t>(std::visit([](const auto& v) { return v.size(); }, fetched));
  const auto dir = ctx_.data_dir / feed_ / request.date.to_string();
  const auto file = dir / fmt::format("w{}.json", request.wave);
  if (!ctx_.data_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return pipeline::fail(pipeline::ErrorCode::kUnavailable, "cannot create {}: {}", dir.string(), ec.message());
    const nlohmann::json payload{{"feed", feed_},
                                 {"game_date", request.date.to_string()},
                                 {"items", std::visit([](const auto& v) { return nlohmann::json(v); }, fetched)}};
    std::ofstream out(file, std::ios::trunc);
    out << payload.dump();
    if (!out) return pipeline::fail(pipeline::ErrorCode::kUnavailable, "cannot write {}", file.string());
  }
  if (ctx_.scraped_in_memory != nullptr) ctx_.scraped_in_memory->put(file, std::move(fetched));
  pipeline::ProcessResult r;
  r.record_count = items;
  r.status = items == 0 ? pipeline::CompletionStatus::kNoData : pipeline::CompletionStatus::kSuccess;
  r.entities_changed = std::nullopt;  // a scraper does not know what changed: the raw processor finds out
  r.metadata = {{"feed", feed_}, {"file", file.string()}};
  return r;
}

Phase1 make_phase1(nba_services::ServiceContext& ctx, nba_services::RunObserver observer) {
  Phase1 p;
  std::vector<pipeline::Processor*> ordered;
  for (const auto& f : feeds()) {
    p.scrapers.push_back(std::make_unique<Scraper>(ctx, f));
    ordered.push_back(p.scrapers.back().get());
  }
  p.service = std::make_unique<nba_services::PhaseService>("phase1_scrapers", std::move(ordered),
                                                           nba_services::PhaseService::Accept{}, std::move(observer));
  return p;
}

pipeline::Message schedule_trigger(pipeline::CalendarDate date, int wave, const std::vector<std::string>& scrapers,
                                   std::string_view reason) {
  pipeline::Message m;
  m.processor_name = "daily_schedule";
  m.phase = "phase0_schedule";
  m.execution_id = pipeline::new_execution_id();
  m.correlation_id = m.execution_id;
  m.traceparent = pipeline::TraceContext::create().to_string();
  m.game_date = date;
  m.metadata = {{"wave", wave}, {"reason", std::string(reason)}};
  if (!scrapers.empty()) m.metadata["run_processors"] = scrapers;
  return m;
}

}  // namespace phase1
