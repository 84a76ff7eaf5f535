#pragma once
/// @file
/// Wall-clock times of the NBA example in their named zones: the daily schedule and the
/// injury update are US Eastern times, Phase 5's jobs US Pacific ones. Every instant the
/// examples and the demo place on a date comes from here, so "06:00 ET" is 11:00Z in
/// standard time and 10:00Z in daylight time, never a fixed UTC hour (the seeds' PT/ET
/// mistake moved an SLA by three hours).

#include <chrono>
#include <string>
#include <string_view>

#include "pipeline/core/calendar_date.hpp"
#include "pipeline/core/clock.hpp"
#include "pipeline/core/result.hpp"
#include "pipeline/schedule/daily_schedule.hpp"
#include "pipeline/schedule/local_time.hpp"

namespace nba_services {

/// US Eastern: the zone of game dates, the daily schedule and the injury update.
inline constexpr std::string_view kEasternZone = pipeline::kGameDateZone;
/// US Pacific: the zone of Phase 5's backup, retries and status check.
inline constexpr std::string_view kPacificZone = pipeline::DailySchedule::kPhase5Zone;

/// 06:00 ET: the daily schedule starts Phase 1 (every scraper).
inline constexpr std::chrono::minutes kDailyScrapeTime{6 * 60};

/// The instant wall time `time_of_day` on `date` falls on in IANA zone `zone`, by
/// `pipeline::DailySchedule`'s rule for times that do not exist (moved later over the
/// gap) or occur twice (the earlier one).
///
/// **Thread safety:** any thread. **Performance:** one zone lookup and one offset lookup;
/// allocates a small schedule.
/// **Errors:** `kInvalidArgument` for an unknown zone or a time outside [00:00, 24:00).
///
/// **Example:**
/// @code
///   auto d = pipeline::CalendarDate::parse("2025-11-18");
///   auto t = nba_services::zoned_time(*d, std::chrono::hours(6), nba_services::kEasternZone);
///   // pipeline::format_rfc3339(*t) == "2025-11-18T11:00:00Z" (EST); in July it is 10:00Z (EDT)
/// @endcode
pipeline::Result<pipeline::TimePoint> zoned_time(pipeline::CalendarDate date, std::chrono::minutes time_of_day,
                                                 std::string_view zone);

/// `zoned_time(date, time_of_day, kEasternZone)`.
pipeline::Result<pipeline::TimePoint> eastern_time(pipeline::CalendarDate date, std::chrono::minutes time_of_day);

/// "HH:MM ABBR" of instant `t` in `zone` ("03:00 PST", "06:00 EDT"); the instant's
/// RFC 3339 text when the zone is unknown.
std::string zoned_clock_text(pipeline::TimePoint t, std::string_view zone);

}  // namespace nba_services
