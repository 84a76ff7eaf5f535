#pragma once
/// @file
/// A deterministic synthetic NBA season: teams, players, schedule, and per-date box
/// scores, injury reports, player points props and game lines, generated in code.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "pipeline/core/calendar_date.hpp"

namespace nba {

/// The seed of the data set every example and test uses unless it asks for another.
inline constexpr std::uint64_t kDefaultSeed = 20251021;

/// A player's listed position.
enum class Position { kPointGuard, kShootingGuard, kSmallForward, kPowerForward, kCenter };
/// "PG", "SG", "SF", "PF", "C".
std::string_view to_string(Position position) noexcept;

/// A player's status on an injury report, from best to worst.
enum class InjuryStatus { kAvailable, kQuestionable, kDoubtful, kOut };
/// "available", "questionable", "doubtful", "out".
std::string_view to_string(InjuryStatus status) noexcept;

/// A player's role on the roster: decides minutes and whether books post a prop.
enum class Role { kStarter, kRotation, kBench };
/// "starter", "rotation", "bench".
std::string_view to_string(Role role) noexcept;

/// The four shot zones box scores split field goals into (three = fg3).
enum Zone : int { kRim = 0, kPaint = 1, kMidRange = 2, kThree = 3 };
inline constexpr int kZoneCount = 4;

/// One of the 30 teams. `abbr` ("LAL") is its stable id.
struct Team {
  std::string abbr;
  std::string city;
  std::string name;
  std::string conference;  ///< "East" or "West".
};

/// One of the 450 players (15 per team; rosters do not change during the season).
///
/// `id` is a stable slug ("marcus-bell"), the `player_lookup` of every table. The
/// profile fields are the generator's hidden truth (rates per 36 minutes, shares and
/// percentages in per-mille); processors should learn them from box scores, tests may
/// compare against them.
struct Player {
  std::string id;
  std::string name;
  std::string team;  ///< Team abbr.
  Position position = Position::kPointGuard;
  Role role = Role::kBench;
  int jersey = 0;
  int base_minutes = 0;                 ///< Typical minutes when healthy.
  int fga_per36 = 0;                    ///< Field goal attempts per 36 minutes.
  int fta_per36 = 0;                    ///< Free throw attempts per 36 minutes.
  int ft_pct_mille = 0;                 ///< Free throw percentage, per mille.
  int zone_share_mille[kZoneCount]{};   ///< Share of field goal attempts per zone (sums to 1000).
  int zone_pct_mille[kZoneCount]{};     ///< Make percentage per zone, per mille.
  int reb_per36_x10 = 0;                ///< Rebounds per 36 minutes, times 10.
  int ast_per36_x10 = 0;
  int stl_per36_x10 = 0;
  int blk_per36_x10 = 0;
  int tov_per36_x10 = 0;
  int expected_points_x10 = 0;          ///< Expected points per game with a healthy roster, times 10.
};

/// One scheduled game. `game_id` follows the NBA form "00225NNNNN" (sequence in date order).
struct Game {
  std::string game_id;
  pipeline::CalendarDate game_date;
  std::string home;  ///< Team abbr.
  std::string away;  ///< Team abbr.
  std::string start_time_et;  ///< "19:30".
  std::string arena;
};

/// One player's line in one game. Players who did not play have `minutes == 0` and
/// `status` "inactive" (out or doubtful on the report) or "dnp" (coach's decision).
struct PlayerBox {
  std::string game_id;
  std::string player_id;
  std::string player_name;
  std::string team;
  std::string opponent;
  bool home = false;
  bool starter = false;
  std::string status;  ///< "active", "dnp", "inactive".
  int minutes = 0;
  int points = 0;
  int fgm = 0, fga = 0, fg3m = 0, fg3a = 0, ftm = 0, fta = 0;
  int oreb = 0, dreb = 0, reb = 0, ast = 0, stl = 0, blk = 0, tov = 0, pf = 0;
  int plus_minus = 0;
  int zone_made[kZoneCount]{};      ///< Makes by zone (kThree equals fg3m).
  int zone_attempts[kZoneCount]{};  ///< Attempts by zone (kThree equals fg3a).
};

/// A team's totals in one game (the sums of its players' lines).
struct TeamBox {
  std::string game_id;
  std::string team;
  std::string opponent;
  bool home = false;
  int points = 0;
  int fgm = 0, fga = 0, fg3m = 0, fg3a = 0, ftm = 0, fta = 0;
  int oreb = 0, dreb = 0, reb = 0, ast = 0, stl = 0, blk = 0, tov = 0, pf = 0;
  int possessions = 0;  ///< fga - oreb + tov + 0.44 * fta, rounded down.
  int zone_made[kZoneCount]{};
  int zone_attempts[kZoneCount]{};
};

/// A final game: the schedule entry, score, both teams' totals and every roster player's line
/// (15 per team, including those who did not play).
struct BoxScore {
  Game game;
  int home_points = 0;
  int away_points = 0;
  int periods = 4;  ///< 5 when a tie after regulation was settled in overtime.
  TeamBox home_totals;
  TeamBox away_totals;
  std::vector<PlayerBox> players;
};

/// One player's line on a date's injury report (every player of the league is listed).
struct InjuryEntry {
  std::string player_id;
  std::string team;
  InjuryStatus status = InjuryStatus::kAvailable;
  std::string reason;  ///< Empty when available.
};

/// The mid-day change to a date's injury report: exactly one player, status gets worse.
struct InjuryUpdate {
  pipeline::CalendarDate game_date;
  std::string player_id;
  std::string team;
  InjuryStatus before = InjuryStatus::kAvailable;
  InjuryStatus after = InjuryStatus::kOut;
  std::string reason;
};

/// One bookmaker's points over/under for one player in one game (lines end in .5).
struct PlayerProp {
  std::string game_id;
  std::string player_id;
  std::string team;
  std::string bookmaker;  ///< "draftkings" or "fanduel".
  double points_line = 0;
  int over_price = -110;   ///< American odds.
  int under_price = -110;
};

/// One bookmaker's spread, total and moneylines for one game.
struct GameLine {
  std::string game_id;
  std::string bookmaker;
  std::string home;
  std::string away;
  double spread_home = 0;  ///< Negative when the home team is favoured.
  double total = 0;
  int home_moneyline = 0;
  int away_moneyline = 0;
};

/// Everything the season generates for one date.
struct Day {
  pipeline::CalendarDate date;
  std::vector<Game> games;
  std::vector<BoxScore> box_scores;           ///< The games of `date`, played that evening.
  std::vector<InjuryEntry> injury_report;     ///< The morning report.
  InjuryUpdate injury_update;                 ///< The mid-day change.
  std::vector<PlayerProp> player_props;       ///< Posted in the morning, from the morning report.
  std::vector<GameLine> game_lines;
};

/// A deterministic synthetic NBA season (2025-10-21 .. 2026-04-12, 1230 games, 82 per team).
///
/// Team and player identities (abbrs, names, ids, positions) are fixed; abilities, the
/// schedule and every per-date output are pure functions of `(seed, date)`, computed with
/// this library's own splitmix64 and integer arithmetic, so the data is identical on every
/// machine, compiler and standard library. Any date can be generated on its own.
///
/// Box scores of a date honour that date's injury report *after* the mid-day update
/// (players out or doubtful do not play; questionable players usually do, for fewer minutes).
/// Props and game lines are posted from the morning report.
///
/// **Thread safety:** immutable after construction; all const calls may run concurrently.
/// **Performance:** construction builds the schedule (~1 ms); one date's data takes well
/// under a millisecond (measured by the tests' backfill of the whole season).
/// **Errors:** none; dates outside the season simply have no games.
///
/// **Example:**
/// @code
///   nba::Season season;  // kDefaultSeed
///   auto date = *pipeline::CalendarDate::parse("2025-11-18");
///   for (const auto& box : season.box_scores(date))
///     fmt::print("{} {} - {} {}\n", box.game.away, box.away_points, box.home_points, box.game.home);
///   nba::InjuryUpdate update = season.injury_update(date);  // the 14:00 change
/// @endcode
class Season {
 public:
  explicit Season(std::uint64_t seed = kDefaultSeed);

  static pipeline::CalendarDate first_day();  ///< 2025-10-21.
  static pipeline::CalendarDate last_day();   ///< 2026-04-12.

  [[nodiscard]] std::uint64_t seed() const noexcept { return seed_; }
  [[nodiscard]] const std::vector<Team>& teams() const noexcept { return teams_; }
  [[nodiscard]] const std::vector<Player>& players() const noexcept { return players_; }
  /// The whole schedule in date order (`games()[i].game_id` ends in i + 1).
  [[nodiscard]] const std::vector<Game>& games() const noexcept { return games_; }

  [[nodiscard]] const Team* find_team(std::string_view abbr) const;
  [[nodiscard]] const Player* find_player(std::string_view id) const;
  /// The 15 players of a team (starters first), empty for an unknown abbr.
  [[nodiscard]] std::vector<const Player*> roster(std::string_view team_abbr) const;

  /// The games of one date (empty outside the season and on off days).
  [[nodiscard]] std::span<const Game> games_on(pipeline::CalendarDate date) const;
  /// Days since the team's previous game (1 = back-to-back); nullopt before its first game.
  [[nodiscard]] std::optional<int> days_rest(std::string_view team_abbr, pipeline::CalendarDate date) const;

  [[nodiscard]] std::vector<BoxScore> box_scores(pipeline::CalendarDate date) const;
  /// The morning report: all 450 players, mostly available.
  [[nodiscard]] std::vector<InjuryEntry> injury_report(pipeline::CalendarDate date) const;
  /// The mid-day update: one player (on a team playing that date, when any does) gets worse.
  [[nodiscard]] InjuryUpdate injury_update(pipeline::CalendarDate date) const;
  /// The morning report with `injury_update(date)` applied.
  [[nodiscard]] std::vector<InjuryEntry> injury_report_after_update(pipeline::CalendarDate date) const;
  /// Points props of the date's starters and rotation players not out or doubtful, 2 books.
  [[nodiscard]] std::vector<PlayerProp> player_props(pipeline::CalendarDate date) const;
  [[nodiscard]] std::vector<GameLine> game_lines(pipeline::CalendarDate date) const;
  /// All of the above for one date.
  [[nodiscard]] Day day(pipeline::CalendarDate date) const;

 private:
  struct TeamRatings {
    int offense_mille = 0;                 // added to its shooters' percentages
    int defense_mille[kZoneCount]{};       // added to opponents' percentages per zone
    int pace = 0;                          // extra attempts per player-36
  };
  std::vector<InjuryEntry> report(pipeline::CalendarDate date, bool after_update) const;
  BoxScore play(const Game& game, const std::vector<InjuryEntry>& report) const;
  std::size_t team_index(std::string_view abbr) const;

  std::uint64_t seed_;
  std::vector<Team> teams_;
  std::vector<TeamRatings> ratings_;
  std::vector<Player> players_;  // team i owns players_[15 i, 15 i + 15)
  std::vector<Game> games_;
  std::unordered_map<std::string, std::size_t> player_index_;
  std::vector<std::size_t> day_begin_;  // per day offset into games_, size days + 1
  std::vector<std::vector<int>> team_game_days_;  // per team, sorted day offsets
};

/// A 64-bit FNV-1a fingerprint of a day's canonical JSON: equal across machines for the same
/// seed and date; tests pin it so a change in generation is noticed.
std::uint64_t fingerprint(const Day& day);

// JSON forms (the payloads the example scrapers write and the raw processors read).
// Dates are "YYYY-MM-DD", enums their to_string names. from_json throws nlohmann's
// exceptions on malformed input: callers catch at their boundary.
void to_json(nlohmann::json& j, const Game& v);
void from_json(const nlohmann::json& j, Game& v);
void to_json(nlohmann::json& j, const PlayerBox& v);
void from_json(const nlohmann::json& j, PlayerBox& v);
void to_json(nlohmann::json& j, const TeamBox& v);
void from_json(const nlohmann::json& j, TeamBox& v);
void to_json(nlohmann::json& j, const BoxScore& v);
void from_json(const nlohmann::json& j, BoxScore& v);
void to_json(nlohmann::json& j, const InjuryEntry& v);
void from_json(const nlohmann::json& j, InjuryEntry& v);
void to_json(nlohmann::json& j, const InjuryUpdate& v);
void from_json(const nlohmann::json& j, InjuryUpdate& v);
void to_json(nlohmann::json& j, const PlayerProp& v);
void from_json(const nlohmann::json& j, PlayerProp& v);
void to_json(nlohmann::json& j, const GameLine& v);
void from_json(const nlohmann::json& j, GameLine& v);
void to_json(nlohmann::json& j, const Day& v);

}  // namespace nba
