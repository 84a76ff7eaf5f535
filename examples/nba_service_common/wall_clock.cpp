#include "nba_service_common/wall_clock.hpp"

#include <fmt/format.h>

#include "pipeline/core/timestamp.hpp"

namespace nba_services {

pipeline::Result<pipeline::TimePoint> zoned_time(pipeline::CalendarDate date, std::chrono::minutes time_of_day,
                                                 std::string_view zone) {
  auto schedule = pipeline::DailySchedule::create(zone, {{"at", time_of_day}});
  if (!schedule) return pipeline::fail(schedule.error());
  auto instants = schedule->instants(date, date);
  if (!instants) return pipeline::fail(instants.error());
  return instants->front().at;
}

pipeline::Result<pipeline::TimePoint> eastern_time(pipeline::CalendarDate date, std::chrono::minutes time_of_day) {
  return zoned_time(date, time_of_day, kEasternZone);
}

std::string zoned_clock_text(pipeline::TimePoint t, std::string_view zone) {
  auto wall = pipeline::local_wall_time(t, zone);
  if (!wall) return pipeline::format_rfc3339(t);
  return fmt::format("{} {}", wall->time_string().substr(0, 5), wall->abbreviation);
}

}  // namespace nba_services
