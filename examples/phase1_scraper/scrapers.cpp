#include "phase1_scraper/scrapers.hpp"

#include <fstream>
#include <variant>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "nba_service_common/wall_clock.hpp"
#include "pipeline/core/timestamp.hpp"
#include "pipeline/core/trace_context.hpp"

namespace phase1 {

namespace {

// A file's items back in the type the feed's fetch returned them.
template <class T>
pipeline::Result<nba_services::FeedItems> typed_items(const nlohmann::json& items) {
  try {
    return nba_services::FeedItems(items.get<std::vector<T>>());
  } catch (const std::exception& e) {
    return pipeline::fail(pipeline::ErrorCode::kInvalidArgument, "malformed item: {}", e.what());
  }
}

// Each feed once: what the source publishes for it on a date at a time, and how its
// items read back from a file. The box-score feeds (scoreboard, gamebook, balldontlie,
// team stats) all publish the final box scores; each raw processor loads its part.
struct Feed {
  std::string_view name;
  pipeline::Result<nba_services::FeedItems> (*fetch)(const nba::Season&, pipeline::CalendarDate, pipeline::TimePoint);
  pipeline::Result<nba_services::FeedItems> (*read)(const nlohmann::json&);
};
using nba::Season;
using pipeline::CalendarDate;
using pipeline::TimePoint;
using Fetched = pipeline::Result<nba_services::FeedItems>;
Fetched box_scores(const Season& s, CalendarDate d, TimePoint) { return s.box_scores(d); }
Fetched schedule(const Season& s, CalendarDate d, TimePoint) {
  const auto games = s.games_on(d);
  return nba_services::FeedItems(std::vector<nba::Game>(games.begin(), games.end()));
}
// The morning injury report: every player with his team (the rosters) and status.
Fetched morning_report(const Season& s, CalendarDate d, TimePoint) { return s.injury_report(d); }
Fetched props(const Season& s, CalendarDate d, TimePoint) { return s.player_props(d); }
const Feed kFeeds[] = {  // in the order the 06:00 schedule starts them
    {"nbac_schedule", schedule, typed_items<nba::Game>},
    {"nbac_injury_report",
     [](const Season& s, CalendarDate d, TimePoint now) -> Fetched {
       auto update_at = injury_update_time(d);
       if (!update_at) return pipeline::fail(update_at.error());
       return now >= *update_at ? s.injury_report_after_update(d) : s.injury_report(d);
     },
     typed_items<nba::InjuryEntry>},
    {"odds_api_player_points_props", props, typed_items<nba::PlayerProp>},
    {"odds_api_game_lines",
     [](const Season& s, CalendarDate d, TimePoint) -> Fetched { return s.game_lines(d); },
     typed_items<nba::GameLine>},
    {"nbac_scoreboard_v2", box_scores, typed_items<nba::BoxScore>},
    {"nbac_gamebook_player_stats", box_scores, typed_items<nba::BoxScore>},
    {"bdl_player_boxscores", box_scores, typed_items<nba::BoxScore>},
    {"nbac_team_stats", box_scores, typed_items<nba::BoxScore>},
    // The other 13 feeds of the seeds' 21, synthetic: each republishes a part of the day
    // above under its own source's name (rosters and injuries from the morning report,
    // box lines and play-by-play totals from the box scores, games and teams from the
    // schedule, a second bookmaker's props).
    {"nbac_player_list", morning_report, typed_items<nba::InjuryEntry>},
    {"nbac_play_by_play", box_scores, typed_items<nba::BoxScore>},
    {"nbac_player_boxscores", box_scores, typed_items<nba::BoxScore>},
    {"nbac_referee_assignments", schedule, typed_items<nba::Game>},
    {"bdl_active_players", morning_report, typed_items<nba::InjuryEntry>},
    {"bdl_injuries", morning_report, typed_items<nba::InjuryEntry>},
    {"bdl_standings", schedule, typed_items<nba::Game>},
    {"espn_scoreboard", box_scores, typed_items<nba::BoxScore>},
    {"espn_team_rosters", morning_report, typed_items<nba::InjuryEntry>},
    {"espn_boxscores", box_scores, typed_items<nba::BoxScore>},
    {"bigdataball_play_by_play", box_scores, typed_items<nba::BoxScore>},
    {"br_rosters", morning_report, typed_items<nba::InjuryEntry>},
    {"bettingpros_player_points_props", props, typed_items<nba::PlayerProp>},
};

pipeline::Result<const Feed*> find_feed(std::string_view name) {
  for (const auto& f : kFeeds)
    if (f.name == name) return &f;
  return pipeline::fail(pipeline::ErrorCode::kInvalidArgument, "unknown feed '{}'", name);
}

pipeline::ProcessorOptions scraper_config(const nba_services::ServiceContext& ctx, const std::string& feed) {
  pipeline::ProcessorOptions c;
  c.name = scraper_name(feed);
  c.phase = std::string(kPhase);
  c.completion_topic = ctx.topics.phase1_complete();
  c.output_table = feed;
  c.output_dataset = "nba_raw_files";
  c.skip_if_success_within = nba_services::kSkipIfProcessedWithin;
  return c;
}

}  // namespace

const std::vector<std::string>& feeds() {
  static const std::vector<std::string> all = [] {
    std::vector<std::string> names;
    for (const auto& f : kFeeds) names.emplace_back(f.name);
    return names;
  }();
  return all;
}

std::string scraper_name(std::string_view feed) { return fmt::format("{}_scraper", feed); }

pipeline::Result<pipeline::TimePoint> injury_update_time(pipeline::CalendarDate date) {
  return nba_services::eastern_time(date, kInjuryUpdateTime);
}

pipeline::Result<nba_services::FeedItems> items_from_json(std::string_view feed, const nlohmann::json& items) {
  auto f = find_feed(feed);
  if (!f) return pipeline::fail(f.error());
  return (*f)->read(items);
}

Scraper::Scraper(CreateKey key, nba_services::ServiceContext& ctx, std::string feed)
    : Processor(key, ctx.clock, ctx.store, ctx.history, ctx.processor_options(scraper_config(ctx, feed))),
      ctx_(ctx),
      feed_(std::move(feed)) {}

pipeline::Result<pipeline::ProcessResult> Scraper::process(const pipeline::ProcessRequest& request) {
  auto feed = find_feed(feed_);
  if (!feed) return pipeline::fail(feed.error());
  // The scheduled job's instant when the trigger names one, else now.
  pipeline::TimePoint as_of = ctx_.clock.now();
  if (request.trigger != nullptr && request.trigger->metadata->is_object() && request.trigger->metadata->contains("as_of")) {
    const auto& text = (*request.trigger->metadata)["as_of"];
    auto parsed = pipeline::parse_rfc3339(text.is_string() ? text.get<std::string>() : std::string());
    if (!parsed) return pipeline::fail(pipeline::ErrorCode::kInvalidArgument, "the trigger's as_of: {}", parsed.error().message);
    as_of = *parsed;
  }
  auto fetch = (*feed)->fetch(ctx_.season, request.date, as_of);
  if (!fetch) return pipeline::fail(fetch.error());
  auto& fetched = *fetch;
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
  r.metadata = nlohmann::json{{"feed", feed_}, {"file", file.string()}};
  return r;
}

pipeline::Result<Phase1> make_phase1(nba_services::ServiceContext& ctx, nba_services::RunObserver observer) {
  Phase1 p;
  std::vector<pipeline::Processor*> ordered;
  for (const auto& f : feeds()) {
    PIPELINE_TRY(nba_services::add_processor<Scraper>(p.scrapers, ctx, f));
    ordered.push_back(p.scrapers.back().get());
  }
  p.service = std::make_unique<nba_services::PhaseService>("phase1_scrapers", std::move(ordered),
                                                           nba_services::PhaseService::Accept{}, std::move(observer));
  p.service->set_alerts(ctx.alerts);
  return p;
}

pipeline::Message schedule_trigger(pipeline::CalendarDate date, int wave, const std::vector<std::string>& scrapers,
                                   std::string_view reason, std::optional<pipeline::TimePoint> as_of) {
  pipeline::Message m;
  m.processor_name = "daily_schedule";
  m.phase = "phase0_schedule";
  m.execution_id = pipeline::new_execution_id();
  m.correlation_id = m.execution_id;
  m.traceparent = pipeline::TraceContext::create().to_string();
  m.partition_date = date;
  m.metadata = nlohmann::json{{"wave", wave}, {"reason", std::string(reason)}};
  if (!scrapers.empty()) m.metadata["run_processors"] = scrapers;
  if (as_of) m.metadata["as_of"] = pipeline::format_rfc3339(*as_of);
  return m;
}

}  // namespace phase1
