#include <cstdio>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "nba_synthetic/season.hpp"
#include "nba_synthetic/warehouse.hpp"
#include "temp_dir.hpp"

namespace nba_synthetic_test {

using pipeline::CalendarDate;

CalendarDate date(const char* text) { return *CalendarDate::parse(text); }

// A range read's parts as one RowSet.
nba::RowSet flat(const nba::WindowRows& rows) {
  nba::RowSet out{rows.columns, {}};
  rows.for_each_row([&](const nba::Value* row) { out.values.insert(out.values.end(), row, row + rows.columns.size()); });
  return out;
}

const nba::Season& default_season() {
  static const nba::Season season;
  return season;
}

// Gamebook rows of a day, as a raw processor would write them.
std::vector<std::vector<nba::Value>> gamebook_rows(const nba::Day& day) {
  std::vector<std::vector<nba::Value>> rows;
  for (const auto& box : day.box_scores)
    for (const auto& p : box.players)
      rows.push_back({day.date.to_string(), p.game_id, p.player_id, p.team, std::int64_t{p.minutes}, std::int64_t{p.points}});
  return rows;
}

const std::vector<std::string> kGamebookColumns{"game_date", "game_id", "player_lookup", "team_abbr", "minutes", "points"};

}  // namespace nba_synthetic_test

using namespace nba_synthetic_test;

TEST(NbaSyntheticSeason, SameSeedGivesIdenticalDays) {
  const nba::Season a;
  const nba::Season b;
  for (const char* d : {"2025-10-21", "2025-11-18", "2026-01-15", "2026-04-12"}) {
    EXPECT_EQ(nlohmann::json(a.day(date(d))).dump(), nlohmann::json(b.day(date(d))).dump()) << d;
    EXPECT_EQ(nba::fingerprint(a.day(date(d))), nba::fingerprint(b.day(date(d)))) << d;
  }
}

TEST(NbaSyntheticSeason, KnownDateHasPinnedFingerprint) {
  // Pinned: a change here means the generated data changed for every user of the data set.
  const auto day = default_season().day(date("2025-11-18"));
  EXPECT_EQ(nba::fingerprint(day), 1202435933715168641ull);
}

TEST(NbaSyntheticSeason, DifferentSeedGivesDifferentData) {
  const nba::Season other(7);
  const auto d = date("2025-11-18");
  EXPECT_NE(nba::fingerprint(default_season().day(d)), nba::fingerprint(other.day(d)));
  // Identities do not depend on the seed.
  EXPECT_EQ(default_season().players().front().id, other.players().front().id);
}

TEST(NbaSyntheticSeason, HasThirtyTeamsAndFourHundredFiftyUniquePlayers) {
  const auto& s = default_season();
  EXPECT_EQ(s.teams().size(), 30u);
  std::set<std::string> abbrs;
  for (const auto& t : s.teams()) abbrs.insert(t.abbr);
  EXPECT_EQ(abbrs.size(), 30u);
  std::set<std::string> ids;
  for (const auto& p : s.players()) {
    ids.insert(p.id);
    EXPECT_NE(s.find_team(p.team), nullptr);
    EXPECT_EQ(p.zone_share_mille[0] + p.zone_share_mille[1] + p.zone_share_mille[2] + p.zone_share_mille[3], 1000) << p.id;
    EXPECT_EQ(s.find_player(p.id), &p);
  }
  EXPECT_EQ(ids.size(), 450u);
  for (const auto& t : s.teams()) EXPECT_EQ(s.roster(t.abbr).size(), 15u) << t.abbr;
  EXPECT_TRUE(s.roster("XXX").empty());
}

TEST(NbaSyntheticSeason, EveryTeamPlaysEightyTwoGamesNeverTwiceADay) {
  for (std::uint64_t seed : {nba::kDefaultSeed, std::uint64_t{1}, std::uint64_t{99}}) {
    const nba::Season s(seed);
    EXPECT_EQ(s.games().size(), 1230u) << seed;
    std::map<std::string, int> games_per_team;
    std::map<std::string, int> home_games;
    int max_per_day = 0;
    for (auto d = nba::Season::first_day(); d <= nba::Season::last_day(); d = d.plus_days(1)) {
      std::set<std::string> playing;
      const auto games = s.games_on(d);
      max_per_day = std::max(max_per_day, static_cast<int>(games.size()));
      for (const auto& g : games) {
        EXPECT_EQ(g.game_date, d);
        EXPECT_NE(g.home, g.away);
        EXPECT_TRUE(playing.insert(g.home).second) << g.home << " twice on " << d.to_string();
        EXPECT_TRUE(playing.insert(g.away).second) << g.away << " twice on " << d.to_string();
        ++games_per_team[g.home];
        ++games_per_team[g.away];
        ++home_games[g.home];
      }
    }
    EXPECT_LE(max_per_day, 15);
    EXPECT_EQ(games_per_team.size(), 30u);
    for (const auto& [team, n] : games_per_team) {
      EXPECT_EQ(n, 82) << team << " seed " << seed;
      EXPECT_NEAR(home_games[team], 41, 1) << team;
    }
  }
  EXPECT_TRUE(default_season().games_on(date("2025-12-24")).empty());
  EXPECT_TRUE(default_season().games_on(date("2025-07-01")).empty());
  EXPECT_EQ(default_season().games().front().game_id, "0022500001");
  EXPECT_EQ(default_season().games().back().game_id, "0022501230");
}

TEST(NbaSyntheticSeason, BoxScoresCoverExactlyTheTeamsPlayingThatDate) {
  const auto& s = default_season();
  const auto d = date("2025-11-18");
  const auto games = s.games_on(d);
  ASSERT_FALSE(games.empty());
  const auto boxes = s.box_scores(d);
  ASSERT_EQ(boxes.size(), games.size());
  std::set<std::string> playing;
  for (const auto& g : games) playing.insert({g.home, g.away});
  const auto report = s.injury_report_after_update(d);
  std::map<std::string, nba::InjuryStatus> status;
  for (const auto& e : report) status[e.player_id] = e.status;
  for (const auto& box : boxes) {
    EXPECT_EQ(box.players.size(), 30u);
    EXPECT_NE(box.home_points, box.away_points);
    EXPECT_EQ(box.home_totals.points, box.home_points);
    EXPECT_EQ(box.away_totals.points, box.away_points);
    int minutes[2] = {0, 0};
    int points[2] = {0, 0};
    for (const auto& p : box.players) {
      EXPECT_TRUE(playing.count(p.team)) << p.team;
      minutes[p.home ? 0 : 1] += p.minutes;
      points[p.home ? 0 : 1] += p.points;
      EXPECT_EQ(p.points, 2 * (p.fgm - p.fg3m) + 3 * p.fg3m + p.ftm);
      EXPECT_EQ(p.fga, p.zone_attempts[0] + p.zone_attempts[1] + p.zone_attempts[2] + p.zone_attempts[3]);
      EXPECT_LE(p.fgm, p.fga);
      if (status[p.player_id] == nba::InjuryStatus::kOut) {
        EXPECT_EQ(p.minutes, 0) << p.player_id;
      }
    }
    EXPECT_EQ(minutes[0], 240);
    EXPECT_EQ(minutes[1], 240);
    EXPECT_EQ(points[0], box.home_points);
    EXPECT_EQ(points[1], box.away_points);
  }
  EXPECT_TRUE(s.box_scores(date("2025-12-24")).empty());
}

TEST(NbaSyntheticSeason, InjuryUpdateChangesExactlyOnePlayer) {
  const auto& s = default_season();
  for (const char* text : {"2025-11-18", "2026-01-02", "2025-12-24"}) {
    const auto d = date(text);
    const auto before = s.injury_report(d);
    const auto after = s.injury_report_after_update(d);
    const auto update = s.injury_update(d);
    ASSERT_EQ(before.size(), 450u);
    ASSERT_EQ(after.size(), 450u);
    int changed = 0;
    for (std::size_t i = 0; i < before.size(); ++i) {
      if (before[i].status == after[i].status) continue;
      ++changed;
      EXPECT_EQ(after[i].player_id, update.player_id);
      EXPECT_EQ(before[i].status, update.before);
      EXPECT_EQ(after[i].status, update.after);
    }
    EXPECT_EQ(changed, 1) << text;
    EXPECT_GT(static_cast<int>(update.after), static_cast<int>(update.before));
    bool team_plays = false;
    for (const auto& g : s.games_on(d)) team_plays = team_plays || g.home == update.team || g.away == update.team;
    EXPECT_EQ(team_plays, !s.games_on(d).empty()) << text;
  }
}

TEST(NbaSyntheticSeason, PropsAndLinesFollowTheMorningReport) {
  const auto& s = default_season();
  const auto d = date("2025-11-18");
  const auto morning = s.injury_report(d);
  std::map<std::string, nba::InjuryStatus> status;
  for (const auto& e : morning) status[e.player_id] = e.status;
  const auto props = s.player_props(d);
  EXPECT_GT(props.size(), s.games_on(d).size() * 2 * 2 * 6);
  for (const auto& p : props) {
    EXPECT_NE(status[p.player_id], nba::InjuryStatus::kOut);
    EXPECT_EQ(static_cast<long long>(p.points_line * 2) % 2, 1) << p.points_line;
    EXPECT_EQ(p.over_price + p.under_price, -220);
  }
  EXPECT_EQ(s.game_lines(d).size(), s.games_on(d).size() * 2);
}

TEST(NbaSyntheticSeason, JsonRoundTripsBoxScores) {
  const auto boxes = default_season().box_scores(date("2025-11-18"));
  const nlohmann::json j = boxes;
  const auto back = j.get<std::vector<nba::BoxScore>>();
  EXPECT_EQ(nlohmann::json(back).dump(), j.dump());
  const auto update = default_season().injury_update(date("2025-11-18"));
  EXPECT_EQ(nlohmann::json(nlohmann::json(update).get<nba::InjuryUpdate>()).dump(), nlohmann::json(update).dump());
}

TEST(NbaSyntheticSeason, DaysRestCountsFromPreviousGame) {
  const auto& s = default_season();
  const auto& first = s.games().front();
  EXPECT_FALSE(s.days_rest(first.home, first.game_date).has_value());
  int back_to_backs = 0;
  for (const auto& g : s.games())
    if (s.days_rest(g.home, g.game_date) == 1) ++back_to_backs;
  EXPECT_GT(back_to_backs, 0);
}

TEST(NbaSyntheticSeason, WholeSeasonBoxScoresCoverEveryGame) {
  // Every date generated on its own adds up to the whole schedule, 30 lines per game.
  const auto& s = default_season();
  std::size_t players = 0;
  for (auto d = nba::Season::first_day(); d <= nba::Season::last_day(); d = d.plus_days(1))
    for (const auto& box : s.box_scores(d)) players += box.players.size();
  EXPECT_EQ(players, 1230u * 30u);
}

TEST(NbaSyntheticWarehouse, CreatesTheSeedTables) {
  auto wh = nba::Warehouse::open(":memory:");
  ASSERT_TRUE(wh) << wh.error().to_string();
  for (const char* t : {"nbac_schedule", "nbac_gamebook_player_stats", "bdl_player_boxscores", "nbac_injury_report",
                        "odds_api_player_points_props", "nbac_team_stats", "player_game_summary",
                        "team_offense_game_summary", "team_defense_game_summary", "upcoming_player_game_context",
                        "upcoming_team_game_context", "player_daily_cache", "player_shot_zone_analysis",
                        "team_defense_zone_analysis", "player_composite_factors", "ml_feature_store",
                        "player_prop_predictions"}) {
    ASSERT_NE(wh->table(t), nullptr) << t;
    auto n = wh->count_rows(t, date("2025-11-18"));
    ASSERT_TRUE(n) << n.error().to_string();
    EXPECT_EQ(*n, 0);
  }
}

TEST(NbaSyntheticWarehouse, UpsertTwiceKeepsRowCounts) {
  auto wh = nba::Warehouse::open(":memory:");
  ASSERT_TRUE(wh);
  const auto day = default_season().day(date("2025-11-18"));
  const auto rows = gamebook_rows(day);
  ASSERT_TRUE(wh->upsert("nbac_gamebook_player_stats", kGamebookColumns, rows));
  auto first = wh->count_rows("nbac_gamebook_player_stats", day.date);
  ASSERT_TRUE(first);
  EXPECT_EQ(*first, static_cast<std::int64_t>(day.box_scores.size() * 30));
  ASSERT_TRUE(wh->upsert("nbac_gamebook_player_stats", kGamebookColumns, rows));
  EXPECT_EQ(*wh->count_rows("nbac_gamebook_player_stats", day.date), *first);
  EXPECT_EQ(*wh->count_rows("nbac_gamebook_player_stats", day.date.plus_days(1)), 0);

  // A second upsert with a changed value updates in place.
  auto changed = rows;
  changed[0][5] = std::int64_t{99};
  ASSERT_TRUE(wh->upsert("nbac_gamebook_player_stats", kGamebookColumns, changed));
  EXPECT_EQ(*wh->count_rows("nbac_gamebook_player_stats", day.date), *first);
  auto back = wh->read_rows("nbac_gamebook_player_stats", day.date,
                            *nba::entity_filter("player_lookup", {nba::as_text(rows[0][2])}));
  ASSERT_TRUE(back);
  ASSERT_EQ(back->size(), 1u);
  EXPECT_EQ(nba::as_int(back->at(0, "points")), 99);
}

// Rows go several to a statement: a key repeated within one statement or across two must end
// as the last row given, as row-at-a-time upserts would leave it; a failing row undoes the call.
TEST(NbaSyntheticWarehouse, UpsertOfManyRowsKeepsTheLastRowOfEachKey) {
  auto wh = nba::Warehouse::open(":memory:");
  ASSERT_TRUE(wh);
  const auto d = date("2025-11-18");
  std::vector<std::vector<nba::Value>> rows;
  for (int i = 0; i < 45; ++i)  // keys 0..14, each three times: within a statement and across statements
    rows.push_back({d.to_string(), fmt::format("p{:02}", i % 15), std::int64_t{i}});
  ASSERT_TRUE(wh->upsert("player_game_summary", {"game_date", "player_lookup", "points"}, rows));
  auto back = wh->read_rows("player_game_summary", d);
  ASSERT_TRUE(back);
  ASSERT_EQ(back->size(), 15u);
  for (std::size_t k = 0; k < 15; ++k) EXPECT_EQ(nba::as_int(back->at(k, "points")), 30 + static_cast<std::int64_t>(k));

  rows.assign(40, {d.plus_days(1).to_string(), std::string("q"), std::int64_t{1}});
  for (int i = 0; i < 40; ++i) rows[static_cast<std::size_t>(i)][1] = fmt::format("q{}", i);
  rows[37][0] = nba::Value{};  // NULL in the key: refused by the WITHOUT ROWID primary key
  EXPECT_FALSE(wh->upsert("player_game_summary", {"game_date", "player_lookup", "points"}, rows));
  EXPECT_EQ(*wh->count_rows("player_game_summary", d.plus_days(1)), 0);
}

TEST(NbaSyntheticWarehouse, FilterKeepsHostileIdsAsData) {
  auto wh = nba::Warehouse::open(":memory:");
  ASSERT_TRUE(wh);
  const std::string hostile = "x'); DROP TABLE nbac_injury_report; --";
  const auto d = date("2025-11-18");
  ASSERT_TRUE(wh->upsert("nbac_injury_report", {"game_date", "player_lookup", "team_abbr", "status"},
                         {{d.to_string(), hostile, std::string("LAL"), std::string("out")},
                          {d.to_string(), std::string("marcus-bell"), std::string("BOS"), std::string("available")}}));
  auto filter = nba::entity_filter("player_lookup", {hostile, "nobody"});
  ASSERT_TRUE(filter);
  auto rows = wh->read_rows("nbac_injury_report", d, *filter);
  ASSERT_TRUE(rows) << rows.error().to_string();
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ(nba::as_text(rows->at(0, "player_lookup")), hostile);
  EXPECT_EQ(*wh->count_rows("nbac_injury_report", d), 2);  // the table is still there
  EXPECT_EQ(*wh->count_rows("nbac_injury_report", d, *nba::entity_filter("player_lookup", {})), 0);
  EXPECT_FALSE(nba::entity_filter("player_lookup) OR (1=1", {"a"}));
  EXPECT_TRUE(nba::entity_filter("c.player_lookup", {"a"}));  // a join's alias
  EXPECT_FALSE(nba::entity_filter("c.player_lookup.x", {"a"}));
  EXPECT_FALSE(nba::entity_filter(".player_lookup", {"a"}));
  EXPECT_FALSE(nba::entity_filter("c.", {"a"}));
  EXPECT_FALSE(nba::entity_filter("c.(1=1)", {"a"}));
}

TEST(NbaSyntheticWarehouse, RejectsUnknownTablesAndColumns) {
  auto wh = nba::Warehouse::open(":memory:");
  ASSERT_TRUE(wh);
  auto bad_table = wh->count_rows("no_such_table; DROP", date("2025-11-18"));
  ASSERT_FALSE(bad_table);
  EXPECT_EQ(bad_table.error().code, pipeline::ErrorCode::kInvalidArgument);
  auto bad_column = wh->upsert("nbac_schedule", {"game_date", "game_id", "evil"}, {});
  ASSERT_FALSE(bad_column);
  EXPECT_EQ(bad_column.error().code, pipeline::ErrorCode::kInvalidArgument);
  auto no_key = wh->upsert("nbac_schedule", {"game_date", "arena"}, {{std::string("2025-11-18"), std::string("x")}});
  EXPECT_FALSE(no_key);
  auto bad_sql = wh->read_rows("nbac_schedule", date("2025-11-18"), nba::Filter{"no_column = ?", {std::int64_t{1}}});
  EXPECT_FALSE(bad_sql);
  auto wrong_arity = wh->read_rows("nbac_schedule", date("2025-11-18"), nba::Filter{"game_id = ?", {}});
  EXPECT_FALSE(wrong_arity);
}

TEST(NbaSyntheticWarehouse, RangeReadsOnlyTheNamedColumnsOfTheTable) {
  auto wh = nba::Warehouse::open(":memory:");
  ASSERT_TRUE(wh);
  const auto d = date("2025-11-18");
  ASSERT_TRUE(wh->upsert("nbac_schedule", {"game_date", "game_id", "arena"},
                         {{d.plus_days(-1).to_string(), std::string("g1"), std::string("A")},
                          {d.to_string(), std::string("g2"), std::string("B")}}));
  auto rows = wh->read_range("nbac_schedule", d.plus_days(-1), d, {}, {"game_id", "arena"});
  ASSERT_TRUE(rows) << rows.error().to_string();
  EXPECT_EQ(rows->columns, (std::vector<std::string>{"game_id", "arena"}));
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ(nba::as_text(flat(*rows).at(1, "arena")), "B");
  auto unknown = wh->read_range("nbac_schedule", d, d, {}, {"game_id", "arena; DROP TABLE nbac_schedule"});
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, pipeline::ErrorCode::kInvalidArgument);
}

// A filtered window reads the dates as a list (key seeks per date and entity): it must give the
// rows an unfiltered read narrowed by hand gives, in key order, the range's ends included.
TEST(NbaSyntheticWarehouse, FilteredWindowIsTheUnfilteredWindowNarrowed) {
  auto wh = nba::Warehouse::open(":memory:");
  ASSERT_TRUE(wh);
  const auto d = date("2025-11-18");
  std::vector<std::vector<nba::Value>> rows;
  const std::vector<std::string> players{"ann", "bob", "cy", "dee"};
  for (int day = -12; day <= 2; ++day)
    for (const auto& p : players)
      if ((day + p[0]) % 3 != 0)  // not every player every day
        rows.push_back({d.plus_days(day).to_string(), p, std::string("g"), std::int64_t{day * 10 + static_cast<int>(p.size())}});
  ASSERT_TRUE(wh->upsert("player_game_summary", {"game_date", "player_lookup", "game_id", "points"}, rows));
  const std::vector<std::string> wanted{"dee", "ann", "nobody"};
  auto filtered_parts = wh->read_range("player_game_summary", d.plus_days(-9), d,
                                       *nba::entity_filter("player_lookup", wanted), {"game_date", "player_lookup", "points"});
  auto all_parts = wh->read_range("player_game_summary", d.plus_days(-9), d, {}, {"game_date", "player_lookup", "points"});
  ASSERT_TRUE(filtered_parts) << filtered_parts.error().to_string();
  ASSERT_TRUE(all_parts);
  const nba::RowSet filtered = flat(*filtered_parts), all = flat(*all_parts);
  std::vector<nba::Value> expected;
  for (std::size_t r = 0; r < all.size(); ++r)
    if (nba::as_text(all.at(r, "player_lookup")) == "ann" || nba::as_text(all.at(r, "player_lookup")) == "dee")
      for (std::size_t c = 0; c < 3; ++c) expected.push_back(all.at(r, c));
  ASSERT_FALSE(expected.empty());
  EXPECT_EQ(filtered.values, expected);
  EXPECT_EQ(nba::as_text(filtered.at(0, "game_date")), d.plus_days(-9).to_string());
  EXPECT_EQ(nba::as_text(filtered.at(filtered.size() - 1, "game_date")), d.to_string());
  auto none = wh->read_range("player_game_summary", d, d.plus_days(-1), *nba::entity_filter("player_lookup", wanted));
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
}

// An unfiltered window keeps the dates it read; every way the rows can change must show in
// the next read: this connection's upserts, deletes and statements, a rolled-back
// transaction, and another connection's commits.
TEST(NbaSyntheticWarehouse, KeptWindowFollowsEveryWrite) {
  pipeline::testing::TempDir dir;
  auto wh = nba::Warehouse::open(dir.file("warehouse.db"));
  auto other = nba::Warehouse::open(dir.file("warehouse.db"));
  ASSERT_TRUE(wh) << wh.error().to_string();
  ASSERT_TRUE(other) << other.error().to_string();
  const auto d = date("2025-11-18");
  const std::vector<std::string> columns{"game_date", "player_lookup", "game_id", "points"};
  auto row = [](CalendarDate day, const char* player, std::int64_t points) {
    return std::vector<nba::Value>{day.to_string(), std::string(player), std::string("g"), points};
  };
  std::vector<std::vector<nba::Value>> rows;
  for (int day = -4; day <= 0; ++day)
    for (const char* p : {"ann", "bob"}) rows.push_back(row(d.plus_days(day), p, 10 + day));
  ASSERT_TRUE(wh->upsert("player_game_summary", columns, rows));
  // The same window read without the kept dates: one statement over the range.
  auto fresh = [&](CalendarDate first, CalendarDate last) {
    auto r = wh->query(
        "SELECT player_lookup, points FROM player_game_summary WHERE game_date BETWEEN ? AND ? "
        "ORDER BY game_date, player_lookup",
        {first.to_string(), last.to_string()});
    EXPECT_TRUE(r);
    return r ? r->values : std::vector<nba::Value>{};
  };
  auto window = [&](CalendarDate first, CalendarDate last) {
    auto r = wh->read_range("player_game_summary", first, last, {}, {"player_lookup", "points"});
    if (!r) {
      ADD_FAILURE() << r.error().to_string();
      return std::vector<nba::Value>{};
    }
    EXPECT_EQ(r->columns, (std::vector<std::string>{"player_lookup", "points"}));
    return flat(*r).values;
  };
  auto points_of = [&](CalendarDate day, const char* player) {
    auto r = wh->query("SELECT points FROM player_game_summary WHERE game_date = ? AND player_lookup = ?",
                       {day.to_string(), std::string(player)});
    return r && !r->empty() ? nba::as_int(r->at(0, std::size_t{0})) : -1;
  };
  const auto first = d.plus_days(-3);
  ASSERT_EQ(window(first, d).size(), 16u);  // 4 dates x 2 players x 2 columns
  EXPECT_EQ(window(first, d), fresh(first, d));

  // What a read returned stays as it was read: parts are shared, never changed.
  auto before = wh->read_range("player_game_summary", first, d, {}, {"player_lookup", "points"});
  ASSERT_TRUE(before);
  const auto before_values = fresh(first, d);
  ASSERT_TRUE(wh->upsert("player_game_summary", columns, {row(d.plus_days(-1), "ann", 77), row(d, "cy", 5)}));
  EXPECT_EQ(flat(*before).values, before_values);
  EXPECT_EQ(window(first, d), fresh(first, d));
  EXPECT_EQ(window(first, d).size(), 18u);

  ASSERT_TRUE(wh->delete_rows("player_game_summary", d.plus_days(-2)));
  EXPECT_EQ(window(first, d), fresh(first, d));
  EXPECT_EQ(window(first, d).size(), 14u);

  ASSERT_TRUE(wh->execute("UPDATE player_game_summary SET points = 99 WHERE player_lookup = ?", {std::string("bob")}));
  EXPECT_EQ(window(first, d), fresh(first, d));
  EXPECT_EQ(points_of(d, "bob"), 99);

  // Read inside a transaction that then rolls back: the window must not keep what it saw.
  auto rolled_back = wh->in_transaction([&]() -> pipeline::Status {
    PIPELINE_TRY(wh->upsert("player_game_summary", columns, {row(d.plus_days(-3), "ann", 1000)}));
    EXPECT_EQ(window(first, d), fresh(first, d));
    return pipeline::fail(pipeline::ErrorCode::kCancelled, "roll back");
  });
  ASSERT_FALSE(rolled_back);
  EXPECT_EQ(points_of(d.plus_days(-3), "ann"), 7);
  EXPECT_EQ(window(first, d), fresh(first, d));

  // Another connection's commit, to a date this one keeps.
  ASSERT_TRUE(other->upsert("player_game_summary", columns, {row(d.plus_days(-3), "bob", 123)}));
  EXPECT_EQ(window(first, d), fresh(first, d));
  EXPECT_EQ(points_of(d.plus_days(-3), "bob"), 123);

  // The window moves on a day, and back.
  ASSERT_TRUE(other->upsert("player_game_summary", columns, {row(d.plus_days(1), "ann", 3)}));
  EXPECT_EQ(window(d.plus_days(-2), d.plus_days(1)), fresh(d.plus_days(-2), d.plus_days(1)));
  EXPECT_EQ(window(d.plus_days(-4), d), fresh(d.plus_days(-4), d));
  EXPECT_TRUE(window(d.plus_days(5), d.plus_days(6)).empty());
}

TEST(NbaSyntheticWarehouse, RowSetFindsValuesByNameAndByIndex) {
  nba::RowSet rows{{"a", "b"}, {std::int64_t{1}, std::string("x"), std::int64_t{2}, nba::Value{}}};
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows.column("b"), 1u);
  EXPECT_FALSE(rows.column("c"));
  EXPECT_EQ(nba::as_int(rows.at(1, "a")), 2);
  EXPECT_EQ(rows.at(0, std::size_t{1}), nba::Value(std::string("x")));
  EXPECT_EQ(&rows.at(1, "b"), &rows.at(1, std::size_t{1}));
  // Out of range reads NULL, whichever way it is asked.
  EXPECT_TRUE(std::holds_alternative<std::monostate>(rows.at(2, "a")));
  EXPECT_TRUE(std::holds_alternative<std::monostate>(rows.at(0, "c")));
  EXPECT_TRUE(std::holds_alternative<std::monostate>(rows.at(0, std::size_t{2})));
  EXPECT_TRUE(nba::RowSet{}.empty());
  EXPECT_EQ(nba::RowSet{}.size(), 0u);
}

TEST(NbaSyntheticWarehouse, FailedTransactionRollsBack) {
  auto wh = nba::Warehouse::open(":memory:");
  ASSERT_TRUE(wh);
  const auto d = date("2025-11-18");
  auto st = wh->in_transaction([&]() -> pipeline::Status {
    PIPELINE_TRY(wh->upsert("nbac_schedule", {"game_date", "game_id"}, {{d.to_string(), std::string("0022500001")}}));
    EXPECT_FALSE(wh->in_transaction([] { return pipeline::ok(); }));  // no nesting
    return pipeline::fail(pipeline::ErrorCode::kCancelled, "stop");
  });
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, pipeline::ErrorCode::kCancelled);
  EXPECT_EQ(*wh->count_rows("nbac_schedule", d), 0);
  auto threw = wh->in_transaction([&]() -> pipeline::Status {
    (void)wh->upsert("nbac_schedule", {"game_date", "game_id"}, {{d.to_string(), std::string("0022500001")}});
    throw std::runtime_error("boom");
  });
  ASSERT_FALSE(threw);
  EXPECT_EQ(threw.error().code, pipeline::ErrorCode::kInternal);
  EXPECT_EQ(*wh->count_rows("nbac_schedule", d), 0);
}

TEST(NbaSyntheticWarehouse, FileDatabaseUsesWalAndKeepsRowsAcrossReopen) {
  const std::string path = ::testing::TempDir() + "nba_synthetic_warehouse_test.db";
  std::remove(path.c_str());
  const auto d = date("2025-11-18");
  {
    auto wh = nba::Warehouse::open(path);
    ASSERT_TRUE(wh) << wh.error().to_string();
    auto mode = wh->query("PRAGMA journal_mode");
    ASSERT_TRUE(mode);
    EXPECT_EQ(nba::as_text(mode->at(0, std::size_t{0})), "wal");
    auto page = wh->query("PRAGMA page_size");
    ASSERT_TRUE(page);
    EXPECT_EQ(nba::as_int(page->at(0, std::size_t{0})), 8192);  // a new file gets 8 KiB pages
    ASSERT_TRUE(wh->upsert("nbac_schedule", {"game_date", "game_id"}, {{d.to_string(), std::string("0022500001")}}));
    auto range = wh->read_range("nbac_schedule", d.plus_days(-3), d);
    ASSERT_TRUE(range);
    EXPECT_EQ(range->size(), 1u);
  }
  auto again = nba::Warehouse::open(path);
  ASSERT_TRUE(again);
  EXPECT_EQ(*again->count_rows("nbac_schedule", d), 1);
  for (const char* suffix : {"", "-wal", "-shm"}) std::remove((path + suffix).c_str());
}
