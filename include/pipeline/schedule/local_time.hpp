#pragma once
/// @file
/// Local wall time in a named IANA zone, and the game date of an instant.
///
/// Part of `pipeline::schedule` (compiled, over date-tz and the system tz database);
/// this header uses plain types only, so no date-tz header or definition reaches users.

#include <chrono>
#include <string>
#include <string_view>

#include "pipeline/core/calendar_date.hpp"
#include "pipeline/core/clock.hpp"
#include "pipeline/core/result.hpp"

namespace pipeline::inline v0 {

/// The zone whose calendar days are game dates (US/Eastern).
inline constexpr std::string_view kGameDateZone = "America/New_York";

/// What a wall clock in one zone shows at one instant, with the zone's abbreviation and
/// UTC offset in force then, so a printed time is never ambiguous (the seeds once
/// mixed PT and ET silently).
///
/// **Thread safety:** a plain value. **Performance:** allocates the abbreviation.
/// **Errors:** none itself; `local_wall_time` returns `kInvalidArgument` for an unknown
/// zone.
///
/// **Example:**
/// @snippet schedule_snippets_test.cpp local_time
struct LocalWallTime {
  CalendarDate date;                ///< The local calendar day.
  std::chrono::seconds time_of_day{0};  ///< Since local midnight, [0, 24h).
  std::chrono::seconds utc_offset{0};   ///< Local minus UTC (-07:00 is -25200 s).
  std::string abbreviation;         ///< "PDT", "PST", "EST", ...

  /// "HH:MM:SS".
  [[nodiscard]] std::string time_string() const;

  /// "+HH:MM" / "-HH:MM", as RFC 3339 writes an offset.
  [[nodiscard]] std::string offset_string() const;

  /// "2025-03-09 06:00:00 PDT (UTC-07:00)".
  [[nodiscard]] std::string to_string() const;

  /// "2025-03-09T06:00:00-07:00": RFC 3339 with the local offset.
  [[nodiscard]] std::string to_rfc3339() const;
};

/// The wall time in IANA zone `zone` (e.g. "America/Los_Angeles") at instant `t`
/// (truncated to whole seconds).
/// **Errors:** `kInvalidArgument` naming the zone when the tz database does not know it.
Result<LocalWallTime> local_wall_time(TimePoint t, std::string_view zone);

/// The game date of instant `t`: the calendar day in `zone`, US/Eastern by default.
/// 2025-11-19T03:30Z is still 2025-11-18 in New York.
/// **Errors:** `kInvalidArgument` naming the zone when it is unknown.
Result<CalendarDate> game_date_of(TimePoint t, std::string_view zone = kGameDateZone);

/// True when the system tz database knows `zone`.
bool is_known_time_zone(std::string_view zone);

}  // namespace pipeline::inline v0
