// DailySchedule and local-time helpers over date-tz (USE_OS_TZDB: the system tz
// database). date-tz throws on unknown zones; every throw is caught here and returned
// as an Error, so none crosses the public API.
#include "pipeline/schedule/daily_schedule.hpp"

#include <algorithm>
#include <exception>

#include <date/tz.h>
#include <fmt/format.h>

#include "pipeline/schedule/local_time.hpp"

namespace pipeline::inline v0 {

std::string LocalWallTime::time_string() const {
  const auto s = time_of_day.count();
  return fmt::format("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60);
}

std::string LocalWallTime::offset_string() const {
  const auto total = utc_offset.count();
  const auto mag = total < 0 ? -total : total;
  return fmt::format("{}{:02}:{:02}", total < 0 ? '-' : '+', mag / 3600, mag / 60 % 60);
}

std::string LocalWallTime::to_string() const {
  return fmt::format("{} {} {} (UTC{})", date.to_string(), time_string(), abbreviation, offset_string());
}

std::string LocalWallTime::to_rfc3339() const {
  return fmt::format("{}T{}{}", date.to_string(), time_string(), offset_string());
}

namespace {

using Seconds = std::chrono::seconds;

Result<const date::time_zone*> find_zone(std::string_view name) {
  if (name.empty())
    return fail(ErrorCode::kInvalidArgument, "time zone name is empty (use an IANA name such as 'America/Los_Angeles')");
  try {
    const date::time_zone* zone = date::locate_zone(name);
    // The zone's file is read on its first lookup; do it here, where a failure can
    // still be returned, so later lookups cannot throw.
    (void)zone->get_info(date::sys_seconds{});
    return zone;
  } catch (const std::exception& e) {
    return fail(Error{ErrorCode::kInvalidArgument,
                      fmt::format("unknown time zone '{}' (use an IANA name such as 'America/Los_Angeles')", name),
                      {{"zone", std::string(name)}, {"cause", e.what()}}});
  }
}

LocalWallTime wall_time_in(const date::time_zone* tz, TimePoint t) {
  const date::sys_seconds s = std::chrono::floor<Seconds>(t);
  const date::sys_info info = tz->get_info(s);
  // Local seconds since the epoch of the local calendar.
  const Seconds local = s.time_since_epoch() + info.offset;
  const auto day = std::chrono::floor<std::chrono::days>(local);
  LocalWallTime w;
  w.date = CalendarDate(std::chrono::sys_days(day));
  w.time_of_day = local - std::chrono::duration_cast<Seconds>(day);
  w.utc_offset = info.offset;
  w.abbreviation = info.abbrev;
  return w;
}

}  // namespace

Result<LocalWallTime> local_wall_time(TimePoint t, std::string_view zone) {
  auto tz = find_zone(zone);
  if (!tz) return fail(std::move(tz).error());
  return wall_time_in(*tz, t);
}

Result<CalendarDate> game_date_of(TimePoint t, std::string_view zone) {
  auto w = local_wall_time(t, zone);
  if (!w) return fail(std::move(w).error());
  return w->date;
}

bool is_known_time_zone(std::string_view zone) { return find_zone(zone).has_value(); }

Result<std::chrono::minutes> parse_time_of_day(std::string_view text) {
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  if (text.size() != 5 || text[2] != ':' || !digit(text[0]) || !digit(text[1]) || !digit(text[3]) || !digit(text[4]))
    return fail(ErrorCode::kInvalidArgument, "'{}' is not a time of day (expected HH:MM)", text);
  const int h = (text[0] - '0') * 10 + (text[1] - '0');
  const int m = (text[3] - '0') * 10 + (text[4] - '0');
  if (h > 23 || m > 59) return fail(ErrorCode::kInvalidArgument, "'{}' is not a time of day (00:00 to 23:59)", text);
  return std::chrono::minutes(h * 60 + m);
}

std::string format_time_of_day(std::chrono::minutes time_of_day) {
  const auto m = time_of_day.count();
  return fmt::format("{:02}:{:02}", m / 60, m % 60);
}

struct DailySchedule::Impl {
  std::string zone_name;
  const date::time_zone* zone = nullptr;  // owned by the process-wide tz database
  std::vector<ScheduledJob> jobs;          // sorted by time of day, stable

  ScheduledInstant resolve(CalendarDate date, const ScheduledJob& job) const {
    const date::local_seconds local{std::chrono::duration_cast<Seconds>(date.sys_days().time_since_epoch()) +
                                    std::chrono::duration_cast<Seconds>(job.time_of_day)};
    const date::local_info info = zone->get_info(local);
    // One formula covers all three cases: reading the local time with the offset in
    // force *before* the transition gives the earlier occurrence in an overlap and
    // shifts a time in a gap later by exactly the gap's length.
    const date::sys_seconds at{local.time_since_epoch() - info.first.offset};
    ScheduledInstant out;
    out.job = job.name;
    out.local_date = date;
    out.scheduled_time = job.time_of_day;
    out.at = std::chrono::time_point_cast<Duration>(at);
    out.wall = wall_time_in(zone, out.at);
    switch (info.result) {
      case date::local_info::nonexistent: out.resolution = LocalTimeResolution::kShiftedOverGap; break;
      case date::local_info::ambiguous: out.resolution = LocalTimeResolution::kEarlierOfRepeated; break;
      default: out.resolution = LocalTimeResolution::kExact; break;
    }
    return out;
  }

  std::vector<ScheduledInstant> resolve_range(CalendarDate from, CalendarDate to) const {
    std::vector<ScheduledInstant> out;
    out.reserve(static_cast<std::size_t>(from.days_until(to) + 1) * jobs.size());
    for (CalendarDate d = from; d <= to; d = d.plus_days(1))
      for (const auto& job : jobs) out.push_back(resolve(d, job));
    // Stable: equal instants keep date, then job order. Needed because a job shifted
    // over a gap can land after a later job of the same day.
    std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.at < b.at; });
    return out;
  }
};

std::vector<ScheduledJob> DailySchedule::phase5_jobs() {
  using std::chrono::hours;
  using std::chrono::minutes;
  return {{"backup", hours(6)}, {"retry", hours(6) + minutes(15)}, {"retry", hours(6) + minutes(30)},
          {"status_check", hours(7)}};
}

Result<DailySchedule> DailySchedule::phase5() { return create(kPhase5Zone, phase5_jobs()); }

Result<DailySchedule> DailySchedule::create(std::string_view zone_name, std::vector<ScheduledJob> jobs) {
  auto zone = find_zone(zone_name);
  if (!zone) return fail(std::move(zone).error());
  if (jobs.empty()) return fail(ErrorCode::kInvalidArgument, "a daily schedule needs at least one job");
  for (const auto& job : jobs) {
    if (job.name.empty()) return fail(ErrorCode::kInvalidArgument, "a scheduled job has an empty name");
    if (job.time_of_day < std::chrono::minutes(0) || job.time_of_day >= std::chrono::hours(24))
      return fail(Error{ErrorCode::kInvalidArgument,
                        fmt::format("job '{}' has time of day {} min, outside 00:00 to 23:59", job.name,
                                    job.time_of_day.count()),
                        {{"job", job.name}}});
  }
  std::stable_sort(jobs.begin(), jobs.end(), [](const auto& a, const auto& b) { return a.time_of_day < b.time_of_day; });
  // One job per instant keeps next_after (and so the Scheduler) from hiding one of two.
  for (std::size_t i = 1; i < jobs.size(); ++i)
    if (jobs[i].time_of_day == jobs[i - 1].time_of_day)
      return fail(ErrorCode::kInvalidArgument, "jobs '{}' and '{}' share the time of day {}; combine them into one job",
                  jobs[i - 1].name, jobs[i].name, format_time_of_day(jobs[i].time_of_day));
  auto impl = std::make_shared<Impl>();
  impl->zone_name = std::string(zone_name);
  impl->zone = *zone;
  impl->jobs = std::move(jobs);
  return DailySchedule(std::move(impl));
}

const std::string& DailySchedule::zone_name() const noexcept { return impl_->zone_name; }

const std::vector<ScheduledJob>& DailySchedule::jobs() const noexcept { return impl_->jobs; }

Result<std::vector<ScheduledInstant>> DailySchedule::instants(CalendarDate from, CalendarDate to) const {
  if (to < from) return fail(ErrorCode::kInvalidArgument, "date range {} to {} ends before it starts", from, to);
  try {
    return impl_->resolve_range(from, to);
  } catch (const std::exception& e) {
    return fail(ErrorCode::kInternal, "time zone '{}' could not be read: {}", impl_->zone_name, e.what());
  }
}

std::optional<ScheduledInstant> DailySchedule::next_after(TimePoint t) const {
  try {
    const CalendarDate today = wall_time_in(impl_->zone, t).date;
    // A day either side covers every shift a transition can cause.
    for (auto& instant : impl_->resolve_range(today.plus_days(-1), today.plus_days(2)))
      if (instant.at > t) return std::move(instant);
  } catch (const std::exception&) {
    // The zone was read when the schedule was created; failing now means the tz
    // database vanished underneath the process. No instant is the safe answer.
  }
  return std::nullopt;
}

LocalWallTime DailySchedule::wall_time(TimePoint t) const { return wall_time_in(impl_->zone, t); }

}  // namespace pipeline::inline v0
