#include "nba_synthetic/season.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <stdexcept>
#include <unordered_set>
#include <nlohmann/json.hpp>

namespace nba {
namespace season_detail {

// splitmix64: tiny, fast and fully specified, so every platform draws the same numbers
// (std:: distributions are implementation-defined and differ between standard libraries).
constexpr std::uint64_t splitmix(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

constexpr std::uint64_t mix(std::uint64_t a, std::uint64_t b) { return splitmix(splitmix(a) ^ b); }
constexpr std::uint64_t mix(std::uint64_t a, std::uint64_t b, std::uint64_t c) { return mix(mix(a, b), c); }

constexpr std::uint64_t fnv1a(std::string_view s) {
  std::uint64_t h = 0xCBF29CE484222325ull;
  for (char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001B3ull;
  }
  return h;
}

/// A splitmix64 stream.
class Rng {
 public:
  explicit Rng(std::uint64_t state) : state_(state) {}
  std::uint64_t next() {
    state_ += 0x9E3779B97F4A7C15ull;
    std::uint64_t z = state_;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  /// Uniform-enough integer in [0, n) (n > 0); the tiny modulo bias does not matter here.
  int below(int n) { return static_cast<int>(next() % static_cast<std::uint64_t>(n)); }
  /// Integer in [lo, hi].
  int between(int lo, int hi) { return lo + below(hi - lo + 1); }
  bool coin() { return (next() & 1u) != 0; }

 private:
  std::uint64_t state_;
};

// Stream tags keep the draws of different purposes independent of each other.
enum Tag : std::uint64_t {
  kTagPlayer = 1,
  kTagTeam = 2,
  kTagSchedule = 3,
  kTagStart = 4,
  kTagInjury = 5,
  kTagUpdate = 6,
  kTagGame = 7,
  kTagProp = 8,
  kTagLine = 9,
};

struct TeamSeed {
  const char* abbr;
  const char* city;
  const char* name;
  const char* conference;
};

constexpr std::array<TeamSeed, 30> kTeams{{
    {"ATL", "Atlanta", "Hawks", "East"},        {"BOS", "Boston", "Celtics", "East"},
    {"BKN", "Brooklyn", "Nets", "East"},        {"CHA", "Charlotte", "Hornets", "East"},
    {"CHI", "Chicago", "Bulls", "East"},        {"CLE", "Cleveland", "Cavaliers", "East"},
    {"DAL", "Dallas", "Mavericks", "West"},     {"DEN", "Denver", "Nuggets", "West"},
    {"DET", "Detroit", "Pistons", "East"},      {"GSW", "Golden State", "Warriors", "West"},
    {"HOU", "Houston", "Rockets", "West"},      {"IND", "Indiana", "Pacers", "East"},
    {"LAC", "LA", "Clippers", "West"},          {"LAL", "Los Angeles", "Lakers", "West"},
    {"MEM", "Memphis", "Grizzlies", "West"},    {"MIA", "Miami", "Heat", "East"},
    {"MIL", "Milwaukee", "Bucks", "East"},      {"MIN", "Minnesota", "Timberwolves", "West"},
    {"NOP", "New Orleans", "Pelicans", "West"}, {"NYK", "New York", "Knicks", "East"},
    {"OKC", "Oklahoma City", "Thunder", "West"}, {"ORL", "Orlando", "Magic", "East"},
    {"PHI", "Philadelphia", "76ers", "East"},   {"PHX", "Phoenix", "Suns", "West"},
    {"POR", "Portland", "Trail Blazers", "West"}, {"SAC", "Sacramento", "Kings", "West"},
    {"SAS", "San Antonio", "Spurs", "West"},    {"TOR", "Toronto", "Raptors", "East"},
    {"UTA", "Utah", "Jazz", "West"},            {"WAS", "Washington", "Wizards", "East"},
}};

constexpr std::array<const char*, 64> kFirstNames{
    "Aaron",   "Adrian",  "Alec",    "Andre",   "Anthony", "Bennett", "Blake",   "Brandon",
    "Caleb",   "Cameron", "Carter",  "Chris",   "Cole",    "Damian",  "Darius",  "Derek",
    "Devin",   "Dylan",   "Elijah",  "Eric",    "Evan",    "Felix",   "Gabriel", "Grant",
    "Isaac",   "Isaiah",  "Jalen",   "Jamal",   "Jordan",  "Josh",    "Julian",  "Justin",
    "Kevin",   "Kyle",    "Lamar",   "Landon",  "Luca",    "Malik",   "Marcus",  "Mason",
    "Miles",   "Nathan",  "Nico",    "Noah",    "Omar",    "Owen",    "Paul",    "Quentin",
    "Reggie",  "Ryan",    "Samuel",  "Scott",   "Terrence", "Theo",   "Trevor",  "Tyler",
    "Victor",  "Wesley",  "Xavier",  "Zach",    "Simon",   "Rafael",  "Mikal",   "Desmond"};

constexpr std::array<const char*, 96> kLastNames{
    "Adams",    "Allen",    "Bailey",   "Baker",    "Barnes",   "Bell",     "Bennett",  "Brooks",
    "Bryant",   "Butler",   "Campbell", "Carter",   "Chambers", "Coleman",  "Collins",  "Cooper",
    "Cross",    "Daniels",  "Davis",    "Dixon",    "Drake",    "Edwards",  "Ellis",    "Evans",
    "Fisher",   "Fleming",  "Ford",     "Foster",   "Fuller",   "Gibson",   "Graham",   "Grant",
    "Green",    "Griffin",  "Hall",     "Harper",   "Harris",   "Hayes",    "Henderson", "Hill",
    "Holmes",   "Howard",   "Hughes",   "Jackson",  "Jenkins",  "Johnson",  "Jordan",   "Kelly",
    "Kennedy",  "King",     "Lawson",   "Lewis",    "Lowry",    "Marshall", "Martin",   "Mason",
    "McCoy",    "Mitchell", "Moore",    "Morgan",   "Morris",   "Murray",   "Nelson",   "Owens",
    "Parker",   "Patterson", "Payne",   "Perry",    "Porter",   "Powell",   "Price",    "Reed",
    "Reid",     "Richards", "Robinson", "Rogers",   "Ross",     "Russell",  "Sanders",  "Simmons",
    "Spencer",  "Stewart",  "Sullivan", "Taylor",   "Thomas",   "Thompson", "Tucker",   "Turner",
    "Walker",   "Wallace",  "Warren",   "Watson",   "Wells",    "White",    "Williams", "Young"};

constexpr std::array<const char*, 10> kInjuryReasons{
    "Left ankle sprain",      "Right knee soreness", "Lower back tightness", "Left hamstring strain",
    "Illness",                "Right calf strain",   "Left foot soreness",   "Right wrist sprain",
    "Concussion protocol",    "Rest"};

constexpr std::array<const char*, 6> kStartTimes{"19:00", "19:30", "20:00", "20:30", "22:00", "22:30"};

// Roster slots: position and role of the 15 players of every team (starters first).
constexpr std::array<Position, 15> kSlotPosition{
    Position::kPointGuard,   Position::kShootingGuard, Position::kSmallForward, Position::kPowerForward,
    Position::kCenter,       Position::kPointGuard,    Position::kSmallForward, Position::kPowerForward,
    Position::kCenter,       Position::kShootingGuard, Position::kSmallForward, Position::kPointGuard,
    Position::kPowerForward, Position::kCenter,        Position::kShootingGuard};

constexpr Role slot_role(int slot) {
  return slot < 5 ? Role::kStarter : slot < 9 ? Role::kRotation : Role::kBench;
}

constexpr int kPlayersPerTeam = 15;
constexpr int kTeamCount = 30;
constexpr int kGamesPerTeam = 82;
constexpr int kMaxMinutes = 42;

// Base shot shares (rim, paint, mid, three) and rates per position, per mille / x10.
constexpr int kShare[5][kZoneCount] = {
    {200, 150, 200, 450}, {180, 120, 220, 480}, {250, 150, 200, 400}, {330, 220, 150, 300}, {550, 280, 80, 90}};
constexpr int kPct[kZoneCount] = {620, 420, 410, 355};
constexpr int kReb[5] = {45, 50, 65, 90, 115};
constexpr int kAst[5] = {75, 40, 35, 25, 25};

std::int64_t floor_div(std::int64_t a, std::int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

std::int64_t epoch_day(pipeline::CalendarDate d) { return d.sys_days().time_since_epoch().count(); }

int expected_points_x10(const Player& p) {
  static constexpr int kValue[kZoneCount] = {2, 2, 2, 3};
  std::int64_t fg_1e6 = 0;  // points per field goal attempt, times 1e6
  for (int z = 0; z < kZoneCount; ++z) fg_1e6 += std::int64_t{p.zone_share_mille[z]} * p.zone_pct_mille[z] * kValue[z];
  const std::int64_t per36_x10 = p.fga_per36 * fg_1e6 / 100000 + std::int64_t{p.fta_per36} * p.ft_pct_mille / 100;
  return static_cast<int>(per36_x10 * p.base_minutes / 36);
}

std::string slug(std::string_view first, std::string_view last) {
  std::string out;
  for (char c : first) out.push_back(static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c));
  out.push_back('-');
  for (char c : last) out.push_back(static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c));
  return out;
}

// Stochastic rounding of rate_x10 (per 36 minutes, times 10) over `minutes`.
int per_minutes(Rng& rng, int rate_x10, int minutes) { return (rate_x10 * minutes + rng.below(360)) / 360; }

constexpr int status_rank(InjuryStatus s) { return static_cast<int>(s); }

}  // namespace season_detail

using namespace season_detail;

std::string_view to_string(Position position) noexcept {
  switch (position) {
    case Position::kPointGuard: return "PG";
    case Position::kShootingGuard: return "SG";
    case Position::kSmallForward: return "SF";
    case Position::kPowerForward: return "PF";
    case Position::kCenter: return "C";
  }
  return "?";
}

std::string_view to_string(InjuryStatus status) noexcept {
  switch (status) {
    case InjuryStatus::kAvailable: return "available";
    case InjuryStatus::kQuestionable: return "questionable";
    case InjuryStatus::kDoubtful: return "doubtful";
    case InjuryStatus::kOut: return "out";
  }
  return "?";
}

std::string_view to_string(Role role) noexcept {
  switch (role) {
    case Role::kStarter: return "starter";
    case Role::kRotation: return "rotation";
    case Role::kBench: return "bench";
  }
  return "?";
}

pipeline::CalendarDate Season::first_day() {
  return *pipeline::CalendarDate::from_ymd(2025, 10, 21);
}

pipeline::CalendarDate Season::last_day() {
  return *pipeline::CalendarDate::from_ymd(2026, 4, 12);
}

Season::Season(std::uint64_t seed) : seed_(seed) {
  // ---- teams and ratings
  for (int t = 0; t < kTeamCount; ++t) {
    const auto& s = kTeams[static_cast<std::size_t>(t)];
    teams_.push_back(Team{s.abbr, s.city, s.name, s.conference});
    Rng rng(mix(seed, kTagTeam, static_cast<std::uint64_t>(t)));
    TeamRatings r;
    r.offense_mille = rng.between(-25, 25);
    for (int z = 0; z < kZoneCount; ++z) r.defense_mille[z] = rng.between(-35, 35);
    r.pace = rng.between(0, 2);
    ratings_.push_back(r);
  }

  // ---- players: identities depend only on the index; abilities on the seed
  std::unordered_set<std::string> used;
  for (int k = 0; k < kTeamCount * kPlayersPerTeam; ++k) {
    const int t = k / kPlayersPerTeam;
    const int slot = k % kPlayersPerTeam;
    const std::uint64_t h = splitmix(0x5EEDull * 1000003ull + static_cast<std::uint64_t>(k));
    std::size_t fi = h % kFirstNames.size();
    std::size_t li = (h >> 20) % kLastNames.size();
    while (used.count(slug(kFirstNames[fi], kLastNames[li])) != 0) {
      li = (li + 1) % kLastNames.size();
      if (li == (h >> 20) % kLastNames.size()) fi = (fi + 1) % kFirstNames.size();
    }
    Player p;
    p.id = slug(kFirstNames[fi], kLastNames[li]);
    used.insert(p.id);
    p.name = std::string(kFirstNames[fi]) + " " + kLastNames[li];
    p.team = teams_[static_cast<std::size_t>(t)].abbr;
    p.position = kSlotPosition[static_cast<std::size_t>(slot)];
    p.role = slot_role(slot);
    p.jersey = static_cast<int>((h >> 40) % 50);

    Rng rng(mix(seed, kTagPlayer, static_cast<std::uint64_t>(k)));
    const int pos = static_cast<int>(p.position);
    const bool star = slot == static_cast<int>(mix(seed, kTagTeam, 100u + static_cast<std::uint64_t>(t)) % 5);
    switch (p.role) {
      case Role::kStarter:
        p.base_minutes = star ? rng.between(35, 37) : rng.between(29, 35);
        p.fga_per36 = star ? rng.between(20, 24) : rng.between(12, 17);
        break;
      case Role::kRotation:
        p.base_minutes = rng.between(18, 26);
        p.fga_per36 = rng.between(10, 15);
        break;
      case Role::kBench:
        p.base_minutes = rng.between(4, 12);
        p.fga_per36 = rng.between(8, 13);
        break;
    }
    p.fta_per36 = rng.between(2, 6) + (star ? 2 : 0) + (p.position == Position::kCenter ? 1 : 0);
    p.ft_pct_mille = p.position == Position::kCenter ? rng.between(600, 780) : rng.between(700, 900);
    int rest = 1000;
    for (int z = 0; z < kThree; ++z) {
      p.zone_share_mille[z] = std::max(20, kShare[pos][z] + rng.between(-40, 40));
      rest -= p.zone_share_mille[z];
    }
    p.zone_share_mille[kThree] = std::max(20, rest);
    // Re-balance if the clamp pushed the sum over 1000: take it from the rim share.
    p.zone_share_mille[kRim] -= p.zone_share_mille[kRim] + p.zone_share_mille[kPaint] +
                                p.zone_share_mille[kMidRange] + p.zone_share_mille[kThree] - 1000;
    for (int z = 0; z < kZoneCount; ++z) p.zone_pct_mille[z] = kPct[z] + rng.between(-40, 40);
    if (p.position == Position::kCenter) {
      p.zone_pct_mille[kRim] += 40;
      p.zone_pct_mille[kThree] -= 40;
    }
    if (p.position == Position::kPointGuard) p.zone_pct_mille[kRim] -= 30;
    p.reb_per36_x10 = kReb[pos] + rng.between(-15, 15);
    p.ast_per36_x10 = kAst[pos] + rng.between(-10, 10) + (star ? 15 : 0);
    p.stl_per36_x10 = rng.between(8, 19);
    p.blk_per36_x10 = p.position == Position::kCenter        ? rng.between(18, 29)
                      : p.position == Position::kPowerForward ? rng.between(8, 15)
                                                              : rng.between(2, 7);
    p.tov_per36_x10 = rng.between(12, 31);
    player_index_.emplace(p.id, players_.size());
    players_.push_back(std::move(p));
  }
  // Healthy rosters ask for more than 240 minutes; games scale them down, so must the expectation.
  for (int t = 0; t < kTeamCount; ++t) {
    const auto first = players_.begin() + t * kPlayersPerTeam;
    int team_minutes = 0;
    for (auto it = first; it != first + kPlayersPerTeam; ++it) team_minutes += it->base_minutes;
    for (auto it = first; it != first + kPlayersPerTeam; ++it)
      it->expected_points_x10 = expected_points_x10(*it) * 240 / team_minutes;
  }

  // ---- schedule: 82 rounds of the circle method (every team once per round) ...
  std::array<int, kTeamCount> perm{};
  for (int i = 0; i < kTeamCount; ++i) perm[static_cast<std::size_t>(i)] = i;
  {
    Rng rng(mix(seed, kTagSchedule, 0));
    for (int i = kTeamCount - 1; i > 0; --i) std::swap(perm[static_cast<std::size_t>(i)], perm[static_cast<std::size_t>(rng.below(i + 1))]);
  }
  struct Matchup {
    int home;
    int away;
  };
  std::vector<Matchup> pending;
  std::array<int, kTeamCount> home_count{};
  pending.reserve(kTeamCount / 2 * kGamesPerTeam);
  for (int k = 0; k < kGamesPerTeam; ++k) {
    const int cycle = k / (kTeamCount - 1);
    const int r = k % (kTeamCount - 1);
    auto at = [&](int i) { return perm[static_cast<std::size_t>((r + i) % (kTeamCount - 1))]; };
    for (int i = 0; i < kTeamCount / 2; ++i) {
      int a = i == 0 ? perm[kTeamCount - 1] : at(i);
      int b = i == 0 ? at(0) : at(kTeamCount - 1 - i);
      // The team with fewer home games so far hosts: every team ends with 41 or 42.
      const int ha = home_count[static_cast<std::size_t>(a)];
      const int hb = home_count[static_cast<std::size_t>(b)];
      if (hb < ha || (hb == ha && ((r + i + cycle) & 1) != 0)) std::swap(a, b);
      ++home_count[static_cast<std::size_t>(a)];
      pending.push_back(Matchup{a, b});
    }
  }

  // ... laid onto dates by a cumulative quota (weekday weights, no-game days), greedily, with
  // no team playing twice a day or three days in a row.
  const int days = first_day().days_until(last_day()) + 1;
  std::vector<int> weight(static_cast<std::size_t>(days));
  static constexpr int kWeekdayWeight[7] = {7, 8, 6, 11, 6, 10, 8};  // Sun..Sat
  Rng wrng(mix(seed, kTagSchedule, 1));
  for (int d = 0; d < days; ++d) {
    const auto date = first_day().plus_days(d);
    const unsigned wd = std::chrono::weekday(date.sys_days()).c_encoding();
    int w = kWeekdayWeight[wd] + wrng.between(-1, 1);
    const auto s = date.to_string();
    if (s == "2025-11-27" || s == "2025-12-24" || (s >= "2026-02-13" && s <= "2026-02-18")) w = 0;
    if (d == 0) w = 2;
    weight[static_cast<std::size_t>(d)] = w;
  }
  std::int64_t total_weight = 0;
  for (int w : weight) total_weight += w;
  const std::int64_t total_games = static_cast<std::int64_t>(pending.size());
  std::vector<std::array<int, 2>> last_days(kTeamCount, {-10, -10});  // two most recent game days
  std::vector<std::vector<Matchup>> by_day(static_cast<std::size_t>(days));
  std::int64_t cumulative_weight = 0;
  std::int64_t scheduled = 0;
  for (int d = 0; d < days; ++d) {
    const int w = weight[static_cast<std::size_t>(d)];
    cumulative_weight += w;
    if (w == 0) continue;
    const std::int64_t quota = (total_games * cumulative_weight + total_weight - 1) / total_weight;
    const int capacity = d == days - 1 ? kTeamCount / 2 : static_cast<int>(std::clamp<std::int64_t>(quota - scheduled, 0, kTeamCount / 2));
    std::vector<bool> busy(kTeamCount, false);
    std::vector<Matchup> keep;
    keep.reserve(pending.size());
    auto& today = by_day[static_cast<std::size_t>(d)];
    for (const auto& m : pending) {
      auto free = [&](int t) {
        const auto& ld = last_days[static_cast<std::size_t>(t)];
        return !busy[static_cast<std::size_t>(t)] && !(ld[0] == d - 1 && ld[1] == d - 2);
      };
      if (static_cast<int>(today.size()) < capacity && free(m.home) && free(m.away)) {
        today.push_back(m);
        busy[static_cast<std::size_t>(m.home)] = busy[static_cast<std::size_t>(m.away)] = true;
      } else {
        keep.push_back(m);
      }
    }
    for (const auto& m : today) {
      for (int t : {m.home, m.away}) {
        auto& ld = last_days[static_cast<std::size_t>(t)];
        ld = {d, ld[0]};
      }
    }
    scheduled += static_cast<std::int64_t>(today.size());
    pending.swap(keep);
  }
  // `pending` is empty for every seed the tests try; a leftover would show as a team short of 82.

  team_game_days_.assign(kTeamCount, {});
  day_begin_.assign(static_cast<std::size_t>(days) + 1, 0);
  for (int d = 0; d < days; ++d) {
    day_begin_[static_cast<std::size_t>(d)] = games_.size();
    for (const auto& m : by_day[static_cast<std::size_t>(d)]) {
      Game g;
      const std::size_t seq = games_.size() + 1;
      g.game_id = fmt::format("00225{:05}", seq);
      g.game_date = first_day().plus_days(d);
      g.home = teams_[static_cast<std::size_t>(m.home)].abbr;
      g.away = teams_[static_cast<std::size_t>(m.away)].abbr;
      g.start_time_et = kStartTimes[mix(seed, kTagStart, seq) % kStartTimes.size()];
      g.arena = teams_[static_cast<std::size_t>(m.home)].city + " Arena";
      team_game_days_[static_cast<std::size_t>(m.home)].push_back(d);
      team_game_days_[static_cast<std::size_t>(m.away)].push_back(d);
      games_.push_back(std::move(g));
    }
  }
  day_begin_[static_cast<std::size_t>(days)] = games_.size();
}

std::size_t Season::team_index(std::string_view abbr) const {
  for (std::size_t i = 0; i < teams_.size(); ++i)
    if (teams_[i].abbr == abbr) return i;
  return teams_.size();
}

const Team* Season::find_team(std::string_view abbr) const {
  const std::size_t i = team_index(abbr);
  return i < teams_.size() ? &teams_[i] : nullptr;
}

const Player* Season::find_player(std::string_view id) const {
  auto it = player_index_.find(std::string(id));
  return it == player_index_.end() ? nullptr : &players_[it->second];
}

std::vector<const Player*> Season::roster(std::string_view team_abbr) const {
  std::vector<const Player*> out;
  const std::size_t t = team_index(team_abbr);
  if (t >= teams_.size()) return out;
  for (std::size_t k = t * kPlayersPerTeam; k < (t + 1) * kPlayersPerTeam; ++k) out.push_back(&players_[k]);
  return out;
}

std::span<const Game> Season::games_on(pipeline::CalendarDate date) const {
  const int d = first_day().days_until(date);
  if (d < 0 || d + 1 >= static_cast<int>(day_begin_.size())) return {};
  const std::size_t b = day_begin_[static_cast<std::size_t>(d)];
  const std::size_t e = day_begin_[static_cast<std::size_t>(d) + 1];
  return std::span<const Game>(games_.data() + b, e - b);
}

std::optional<int> Season::days_rest(std::string_view team_abbr, pipeline::CalendarDate date) const {
  const std::size_t t = team_index(team_abbr);
  if (t >= teams_.size()) return std::nullopt;
  const int d = first_day().days_until(date);
  const auto& days = team_game_days_[t];
  auto it = std::lower_bound(days.begin(), days.end(), d);
  if (it == days.begin()) return std::nullopt;
  return d - *std::prev(it);
}

std::vector<InjuryEntry> Season::report(pipeline::CalendarDate date, bool after_update) const {
  constexpr std::int64_t kBlock = 8;
  const std::int64_t day = epoch_day(date);
  const std::int64_t block = floor_div(day, kBlock);
  std::vector<InjuryEntry> out;
  out.reserve(players_.size());
  for (std::size_t k = 0; k < players_.size(); ++k) {
    InjuryEntry e{players_[k].id, players_[k].team, InjuryStatus::kAvailable, {}};
    // Episodes start in 8-day blocks (6% of blocks) and last 1..12 days: out, then doubtful,
    // then questionable. A pure function of (seed, player, day).
    for (std::int64_t b = block - 2; b <= block; ++b) {
      const std::uint64_t h = mix(seed_ ^ kTagInjury, k, static_cast<std::uint64_t>(b));
      if (h % 1000 >= 60) continue;
      const std::int64_t start = b * kBlock + static_cast<std::int64_t>((h >> 16) % kBlock);
      const std::int64_t length = 1 + static_cast<std::int64_t>((h >> 24) % 12);
      if (day < start || day >= start + length) continue;
      const std::int64_t left = start + length - day;
      const InjuryStatus s = left > 3 ? InjuryStatus::kOut : left == 3 ? InjuryStatus::kDoubtful : InjuryStatus::kQuestionable;
      if (status_rank(s) > status_rank(e.status)) {
        e.status = s;
        e.reason = kInjuryReasons[(h >> 32) % kInjuryReasons.size()];
      }
    }
    out.push_back(std::move(e));
  }
  if (after_update) {
    const InjuryUpdate u = injury_update(date);
    const std::size_t k = player_index_.at(u.player_id);
    out[k].status = u.after;
    out[k].reason = u.reason;
  }
  return out;
}

std::vector<InjuryEntry> Season::injury_report(pipeline::CalendarDate date) const { return report(date, false); }

std::vector<InjuryEntry> Season::injury_report_after_update(pipeline::CalendarDate date) const { return report(date, true); }

InjuryUpdate Season::injury_update(pipeline::CalendarDate date) const {
  const auto morning = report(date, false);
  std::vector<bool> playing(teams_.size(), false);
  for (const auto& g : games_on(date)) playing[team_index(g.home)] = playing[team_index(g.away)] = true;
  const bool any_game = !games_on(date).empty();
  std::vector<std::size_t> candidates;
  for (std::size_t k = 0; k < players_.size(); ++k) {
    const auto s = morning[k].status;
    if (s != InjuryStatus::kAvailable && s != InjuryStatus::kQuestionable) continue;
    if (any_game && !playing[k / kPlayersPerTeam]) continue;
    candidates.push_back(k);
  }
  Rng rng(mix(seed_, kTagUpdate, static_cast<std::uint64_t>(epoch_day(date))));
  // Cannot be empty: at most ~10% of the league is injured, and a playing team has 15 players.
  const std::size_t k = candidates[static_cast<std::size_t>(rng.below(static_cast<int>(candidates.size())))];
  InjuryUpdate u;
  u.game_date = date;
  u.player_id = players_[k].id;
  u.team = players_[k].team;
  u.before = morning[k].status;
  if (u.before == InjuryStatus::kQuestionable) {
    u.after = InjuryStatus::kOut;
    u.reason = "Ruled out: " + morning[k].reason;
  } else if (rng.coin()) {
    u.after = InjuryStatus::kOut;
    u.reason = "Late scratch: illness";
  } else {
    u.after = InjuryStatus::kQuestionable;
    u.reason = "Right ankle soreness (added mid-day)";
  }
  return u;
}

BoxScore Season::play(const Game& game, const std::vector<InjuryEntry>& report) const {
  Rng rng(mix(seed_, kTagGame, fnv1a(game.game_id)));
  BoxScore box;
  box.game = game;
  const std::size_t sides[2] = {team_index(game.home), team_index(game.away)};
  std::vector<PlayerBox> lines[2];
  int team_points[2] = {0, 0};
  for (int s = 0; s < 2; ++s) {
    const std::size_t t = sides[s];
    const std::size_t o = sides[1 - s];
    const TeamRatings& own = ratings_[t];
    const TeamRatings& opp = ratings_[o];
    int weights[kPlayersPerTeam]{};
    int minutes[kPlayersPerTeam]{};
    std::int64_t total_weight = 0;
    for (int i = 0; i < kPlayersPerTeam; ++i) {
      const std::size_t k = t * kPlayersPerTeam + static_cast<std::size_t>(i);
      const Player& p = players_[k];
      PlayerBox line;
      line.game_id = game.game_id;
      line.player_id = p.id;
      line.player_name = p.name;
      line.team = p.team;
      line.opponent = teams_[o].abbr;
      line.home = s == 0;
      const InjuryStatus st = report[k].status;
      if (st == InjuryStatus::kOut || st == InjuryStatus::kDoubtful) {
        line.status = "inactive";
      } else if ((st == InjuryStatus::kQuestionable && rng.below(100) >= 75) ||
                 (p.role == Role::kBench && p.base_minutes <= 6 && rng.below(100) < 40)) {
        line.status = "dnp";
      } else {
        line.status = "active";
        int w = std::max(100, p.base_minutes * 100 + rng.between(-200, 200));
        if (st == InjuryStatus::kQuestionable) w = w * 8 / 10;
        weights[i] = w;
        total_weight += w;
      }
      lines[s].push_back(std::move(line));
    }
    // 240 minutes shared by weight, nobody above kMaxMinutes, leftovers one by one in roster order.
    int assigned = 0;
    for (int i = 0; i < kPlayersPerTeam; ++i) {
      if (weights[i] == 0) continue;
      minutes[i] = std::min<int>(kMaxMinutes, static_cast<int>(240 * std::int64_t{weights[i]} / total_weight));
      assigned += minutes[i];
    }
    for (bool progress = true; assigned < 240 && progress;) {
      progress = false;
      for (int i = 0; i < kPlayersPerTeam && assigned < 240; ++i) {
        if (weights[i] == 0 || minutes[i] >= kMaxMinutes) continue;
        ++minutes[i];
        ++assigned;
        progress = true;
      }
    }
    int starters = 0;
    for (int i = 0; i < kPlayersPerTeam; ++i) {
      PlayerBox& line = lines[s][static_cast<std::size_t>(i)];
      const Player& p = players_[t * kPlayersPerTeam + static_cast<std::size_t>(i)];
      const int m = minutes[i];
      if (m == 0) continue;
      line.minutes = m;
      line.starter = starters++ < 5;
      const int attempts = std::max(0, (p.fga_per36 + own.pace) * m / 36 + rng.between(-2, 2));
      for (int a = 0; a < attempts; ++a) {
        int r = rng.below(1000);
        int z = 0;
        while (z < kThree && r >= p.zone_share_mille[z]) r -= p.zone_share_mille[z++];
        const int pct = p.zone_pct_mille[z] + own.offense_mille + opp.defense_mille[z];
        ++line.zone_attempts[z];
        if (rng.below(1000) < pct) ++line.zone_made[z];
      }
      line.fta = std::max(0, p.fta_per36 * m / 36 + rng.between(-1, 1));
      for (int a = 0; a < line.fta; ++a)
        if (rng.below(1000) < p.ft_pct_mille) ++line.ftm;
      line.reb = std::max(0, per_minutes(rng, p.reb_per36_x10, m) + rng.between(-1, 1));
      line.oreb = line.reb * rng.between(15, 34) / 100;
      line.dreb = line.reb - line.oreb;
      line.ast = std::max(0, per_minutes(rng, p.ast_per36_x10, m) + rng.between(-1, 1));
      line.stl = per_minutes(rng, p.stl_per36_x10, m);
      line.blk = per_minutes(rng, p.blk_per36_x10, m);
      line.tov = per_minutes(rng, p.tov_per36_x10, m);
      line.pf = std::min(6, per_minutes(rng, 30, m));
      line.fg3a = line.zone_attempts[kThree];
      line.fg3m = line.zone_made[kThree];
      line.fga = line.fgm = 0;
      for (int z = 0; z < kZoneCount; ++z) {
        line.fga += line.zone_attempts[z];
        line.fgm += line.zone_made[z];
      }
      line.points = 2 * (line.fgm - line.fg3m) + 3 * line.fg3m + line.ftm;
      team_points[s] += line.points;
    }
  }
  if (team_points[0] == team_points[1]) {
    // Overtime: the side the coin picks scores one more basket at the rim.
    box.periods = 5;
    const int s = rng.coin() ? 0 : 1;
    for (auto& line : lines[s]) {
      if (line.minutes == 0) continue;
      ++line.zone_attempts[kRim];
      ++line.zone_made[kRim];
      ++line.fga;
      ++line.fgm;
      line.points += 2;
      team_points[s] += 2;
      break;
    }
  }
  for (int s = 0; s < 2; ++s) {
    TeamBox tb;
    tb.game_id = game.game_id;
    tb.team = teams_[sides[s]].abbr;
    tb.opponent = teams_[sides[1 - s]].abbr;
    tb.home = s == 0;
    const int margin = team_points[s] - team_points[1 - s];
    for (auto& line : lines[s]) {
      if (line.minutes > 0) line.plus_minus = margin * line.minutes / 48 + rng.between(-3, 3);
      tb.points += line.points;
      tb.fgm += line.fgm;
      tb.fga += line.fga;
      tb.fg3m += line.fg3m;
      tb.fg3a += line.fg3a;
      tb.ftm += line.ftm;
      tb.fta += line.fta;
      tb.oreb += line.oreb;
      tb.dreb += line.dreb;
      tb.reb += line.reb;
      tb.ast += line.ast;
      tb.stl += line.stl;
      tb.blk += line.blk;
      tb.tov += line.tov;
      tb.pf += line.pf;
      for (int z = 0; z < kZoneCount; ++z) {
        tb.zone_made[z] += line.zone_made[z];
        tb.zone_attempts[z] += line.zone_attempts[z];
      }
    }
    tb.possessions = tb.fga - tb.oreb + tb.tov + 44 * tb.fta / 100;
    (s == 0 ? box.home_totals : box.away_totals) = std::move(tb);
  }
  box.home_points = team_points[0];
  box.away_points = team_points[1];
  box.players.reserve(2 * kPlayersPerTeam);
  for (auto& side : lines)
    for (auto& line : side) box.players.push_back(std::move(line));
  return box;
}

std::vector<BoxScore> Season::box_scores(pipeline::CalendarDate date) const {
  std::vector<BoxScore> out;
  const auto games = games_on(date);
  if (games.empty()) return out;
  const auto report = injury_report_after_update(date);
  out.reserve(games.size());
  for (const auto& g : games) out.push_back(play(g, report));
  return out;
}

std::vector<PlayerProp> Season::player_props(pipeline::CalendarDate date) const {
  std::vector<PlayerProp> out;
  const auto games = games_on(date);
  if (games.empty()) return out;
  const auto morning = injury_report(date);
  static constexpr std::array<const char*, 2> kBooks{"draftkings", "fanduel"};
  for (const auto& g : games) {
    for (const auto& abbr : {g.home, g.away}) {
      const std::size_t t = team_index(abbr);
      for (std::size_t k = t * kPlayersPerTeam; k < (t + 1) * kPlayersPerTeam; ++k) {
        const Player& p = players_[k];
        const InjuryStatus st = morning[k].status;
        if (p.role == Role::kBench || st == InjuryStatus::kOut || st == InjuryStatus::kDoubtful) continue;
        for (std::size_t b = 0; b < kBooks.size(); ++b) {
          Rng rng(mix(mix(seed_, kTagProp, fnv1a(g.game_id)), k, b));
          int expected_x10 = p.expected_points_x10;
          if (st == InjuryStatus::kQuestionable) expected_x10 = expected_x10 * 9 / 10;
          int line_x2 = (expected_x10 * 2 + 5) / 10;
          if (line_x2 % 2 == 0) line_x2 += rng.coin() ? 1 : -1;
          if (rng.below(4) == 0) line_x2 += rng.coin() ? 2 : -2;
          line_x2 = std::max(1, line_x2);
          PlayerProp prop;
          prop.game_id = g.game_id;
          prop.player_id = p.id;
          prop.team = p.team;
          prop.bookmaker = kBooks[b];
          prop.points_line = line_x2 / 2.0;
          prop.over_price = -110 + 5 * rng.between(-2, 2);
          prop.under_price = -220 - prop.over_price;
          out.push_back(std::move(prop));
        }
      }
    }
  }
  return out;
}

std::vector<GameLine> Season::game_lines(pipeline::CalendarDate date) const {
  std::vector<GameLine> out;
  static constexpr std::array<const char*, 2> kBooks{"draftkings", "fanduel"};
  auto power = [&](std::size_t t) {  // points above an average team, times 2
    int sum = 0;
    for (int z = 0; z < kZoneCount; ++z) sum += ratings_[t].defense_mille[z];
    return ratings_[t].offense_mille / 3 - sum / 12;
  };
  for (const auto& g : games_on(date)) {
    const std::size_t h = team_index(g.home);
    const std::size_t a = team_index(g.away);
    for (std::size_t b = 0; b < kBooks.size(); ++b) {
      Rng rng(mix(mix(seed_, kTagLine, fnv1a(g.game_id)), b));
      const int spread_x2 = -(power(h) - power(a)) - 6 + rng.between(-1, 1);
      const int total_x2 = 2 * 224 + 4 * (ratings_[h].pace + ratings_[a].pace) + (ratings_[h].offense_mille + ratings_[a].offense_mille) / 4 + rng.between(-3, 3);
      GameLine line;
      line.game_id = g.game_id;
      line.bookmaker = kBooks[b];
      line.home = g.home;
      line.away = g.away;
      line.spread_home = spread_x2 / 2.0;
      line.total = total_x2 / 2.0;
      const int abs_x2 = spread_x2 < 0 ? -spread_x2 : spread_x2;
      const int favourite = -(110 + 10 * abs_x2);
      const int underdog = abs_x2 == 0 ? -110 : 100 + 9 * abs_x2;
      line.home_moneyline = spread_x2 <= 0 ? favourite : underdog;
      line.away_moneyline = spread_x2 <= 0 ? underdog : favourite;
      out.push_back(std::move(line));
    }
  }
  return out;
}

Day Season::day(pipeline::CalendarDate date) const {
  Day d;
  d.date = date;
  const auto games = games_on(date);
  d.games.assign(games.begin(), games.end());
  d.box_scores = box_scores(date);
  d.injury_report = injury_report(date);
  d.injury_update = injury_update(date);
  d.player_props = player_props(date);
  d.game_lines = game_lines(date);
  return d;
}

std::uint64_t fingerprint(const Day& day) { return fnv1a(nlohmann::json(day).dump()); }

// ---- JSON ------------------------------------------------------------------------------
namespace season_detail {

pipeline::CalendarDate date_from_json(const nlohmann::json& j) {
  auto d = pipeline::CalendarDate::parse(j.get<std::string>());
  if (!d) throw std::invalid_argument(d.error().message);
  return *d;
}

InjuryStatus status_from_json(const nlohmann::json& j) {
  const auto s = j.get<std::string>();
  for (auto st : {InjuryStatus::kAvailable, InjuryStatus::kQuestionable, InjuryStatus::kDoubtful, InjuryStatus::kOut})
    if (to_string(st) == s) return st;
  throw std::invalid_argument("unknown injury status '" + s + "'");
}

}  // namespace season_detail

#define NBA_JSON_TO(f) j[#f] = v.f;
#define NBA_JSON_FROM(f) j.at(#f).get_to(v.f);

#define NBA_PLAYER_BOX_FIELDS(X)                                                                       \
  X(game_id) X(player_id) X(player_name) X(team) X(opponent) X(home) X(starter) X(status) X(minutes)   \
  X(points) X(fgm) X(fga) X(fg3m) X(fg3a) X(ftm) X(fta) X(oreb) X(dreb) X(reb) X(ast) X(stl) X(blk)   \
  X(tov) X(pf) X(plus_minus) X(zone_made) X(zone_attempts)
#define NBA_TEAM_BOX_FIELDS(X)                                                                         \
  X(game_id) X(team) X(opponent) X(home) X(points) X(fgm) X(fga) X(fg3m) X(fg3a) X(ftm) X(fta) X(oreb) \
  X(dreb) X(reb) X(ast) X(stl) X(blk) X(tov) X(pf) X(possessions) X(zone_made) X(zone_attempts)
#define NBA_BOX_SCORE_FIELDS(X) X(game) X(home_points) X(away_points) X(periods) X(home_totals) X(away_totals) X(players)
#define NBA_PROP_FIELDS(X) X(game_id) X(player_id) X(team) X(bookmaker) X(points_line) X(over_price) X(under_price)
#define NBA_LINE_FIELDS(X) \
  X(game_id) X(bookmaker) X(home) X(away) X(spread_home) X(total) X(home_moneyline) X(away_moneyline)

void to_json(nlohmann::json& j, const Game& v) {
  j = nlohmann::json{{"game_id", v.game_id}, {"game_date", v.game_date.to_string()}, {"home", v.home},
                     {"away", v.away},       {"start_time_et", v.start_time_et},   {"arena", v.arena}};
}
void from_json(const nlohmann::json& j, Game& v) {
  j.at("game_id").get_to(v.game_id);
  v.game_date = date_from_json(j.at("game_date"));
  j.at("home").get_to(v.home);
  j.at("away").get_to(v.away);
  j.at("start_time_et").get_to(v.start_time_et);
  j.at("arena").get_to(v.arena);
}
void to_json(nlohmann::json& j, const PlayerBox& v) { j = nlohmann::json::object(); NBA_PLAYER_BOX_FIELDS(NBA_JSON_TO) }
void from_json(const nlohmann::json& j, PlayerBox& v) { NBA_PLAYER_BOX_FIELDS(NBA_JSON_FROM) }
void to_json(nlohmann::json& j, const TeamBox& v) { j = nlohmann::json::object(); NBA_TEAM_BOX_FIELDS(NBA_JSON_TO) }
void from_json(const nlohmann::json& j, TeamBox& v) { NBA_TEAM_BOX_FIELDS(NBA_JSON_FROM) }
void to_json(nlohmann::json& j, const BoxScore& v) { j = nlohmann::json::object(); NBA_BOX_SCORE_FIELDS(NBA_JSON_TO) }
void from_json(const nlohmann::json& j, BoxScore& v) { NBA_BOX_SCORE_FIELDS(NBA_JSON_FROM) }
void to_json(nlohmann::json& j, const PlayerProp& v) { j = nlohmann::json::object(); NBA_PROP_FIELDS(NBA_JSON_TO) }
void from_json(const nlohmann::json& j, PlayerProp& v) { NBA_PROP_FIELDS(NBA_JSON_FROM) }
void to_json(nlohmann::json& j, const GameLine& v) { j = nlohmann::json::object(); NBA_LINE_FIELDS(NBA_JSON_TO) }
void from_json(const nlohmann::json& j, GameLine& v) { NBA_LINE_FIELDS(NBA_JSON_FROM) }

void to_json(nlohmann::json& j, const InjuryEntry& v) {
  j = nlohmann::json{{"player_id", v.player_id}, {"team", v.team}, {"status", to_string(v.status)}, {"reason", v.reason}};
}
void from_json(const nlohmann::json& j, InjuryEntry& v) {
  j.at("player_id").get_to(v.player_id);
  j.at("team").get_to(v.team);
  v.status = status_from_json(j.at("status"));
  j.at("reason").get_to(v.reason);
}
void to_json(nlohmann::json& j, const InjuryUpdate& v) {
  j = nlohmann::json{{"game_date", v.game_date.to_string()}, {"player_id", v.player_id}, {"team", v.team},
                     {"before", to_string(v.before)},       {"after", to_string(v.after)}, {"reason", v.reason}};
}
void from_json(const nlohmann::json& j, InjuryUpdate& v) {
  v.game_date = date_from_json(j.at("game_date"));
  j.at("player_id").get_to(v.player_id);
  j.at("team").get_to(v.team);
  v.before = status_from_json(j.at("before"));
  v.after = status_from_json(j.at("after"));
  j.at("reason").get_to(v.reason);
}
void to_json(nlohmann::json& j, const Day& v) {
  j = nlohmann::json{{"date", v.date.to_string()},         {"games", v.games},
                     {"box_scores", v.box_scores},         {"injury_report", v.injury_report},
                     {"injury_update", v.injury_update},   {"player_props", v.player_props},
                     {"game_lines", v.game_lines}};
}

#undef NBA_JSON_TO
#undef NBA_JSON_FROM
#undef NBA_PLAYER_BOX_FIELDS
#undef NBA_TEAM_BOX_FIELDS
#undef NBA_BOX_SCORE_FIELDS
#undef NBA_PROP_FIELDS
#undef NBA_LINE_FIELDS

}  // namespace nba
