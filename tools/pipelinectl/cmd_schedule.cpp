// pipelinectl schedule: the Phase 5 daily jobs' local times and exact UTC instants for a
// date range, so an operator sees what fires when — in which zone — across DST days.
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "command.hpp"
#include "pipeline/core/calendar_date.hpp"
#include "pipeline/core/timestamp.hpp"
#include "pipeline/schedule/daily_schedule.hpp"

namespace cmd_schedule {

// Ten years of daily jobs is already more than anyone reads.
constexpr int kMaxDays = 3660;

struct Options {
  std::string from;
  std::string to;
  int days = 0;
  std::string tz{pipeline::DailySchedule::kPhase5Zone};
  std::vector<std::string> jobs;  // NAME=HH:MM; empty means the Phase 5 preset
  bool json = false;
};

int usage_error(const std::string& message) {
  std::fprintf(stderr, "pipelinectl schedule: %s\n", message.c_str());
  return pipelinectl::kExitUsage;
}

int run(const Options& opts) {
  auto from = pipeline::CalendarDate::parse(opts.from);
  if (!from) return usage_error("--from: " + from.error().message);
  pipeline::CalendarDate to;
  if (!opts.to.empty()) {
    auto parsed = pipeline::CalendarDate::parse(opts.to);
    if (!parsed) return usage_error("--to: " + parsed.error().message);
    to = *parsed;
  } else if (opts.days >= 1) {
    to = from->plus_days(opts.days - 1);
  } else {
    return usage_error("give the range's end with --to YYYY-MM-DD or --days N (N >= 1)");
  }
  if (to < *from) return usage_error("--to " + to.to_string() + " is before --from " + from->to_string());
  if (from->days_until(to) + 1 > kMaxDays)
    return usage_error("the range spans more than " + std::to_string(kMaxDays) + " days");

  std::vector<pipeline::ScheduledJob> jobs = pipeline::DailySchedule::phase5_jobs();
  if (!opts.jobs.empty()) {
    jobs.clear();
    for (const auto& spec : opts.jobs) {
      const auto eq = spec.find('=');
      if (eq == std::string::npos || eq == 0) return usage_error("--job '" + spec + "': expected NAME=HH:MM");
      auto tod = pipeline::parse_time_of_day(std::string_view(spec).substr(eq + 1));
      if (!tod) return usage_error("--job: " + tod.error().message);
      jobs.push_back({spec.substr(0, eq), *tod});
    }
  }
  auto schedule = pipeline::DailySchedule::create(opts.tz, std::move(jobs));
  if (!schedule) return usage_error(schedule.error().message);
  auto instants = schedule->instants(*from, to);
  if (!instants) {
    std::fprintf(stderr, "pipelinectl schedule: %s\n", instants.error().message.c_str());
    return pipelinectl::kExitFailed;
  }

  if (opts.json) {
    nlohmann::json out = {{"zone", schedule->zone_name()},
                          {"from", from->to_string()},
                          {"to", to.to_string()},
                          {"instants", nlohmann::json::array()}};
    for (const auto& i : *instants) {
      out["instants"].push_back({{"job", i.job},
                                 {"local_date", i.local_date.to_string()},
                                 {"scheduled_time", pipeline::format_time_of_day(i.scheduled_time)},
                                 {"local_time", i.wall.date.to_string() + "T" + i.wall.time_string()},  // a wall time: no offset
                                 {"zone_abbreviation", i.wall.abbreviation},
                                 {"utc_offset", i.wall.offset_string()},
                                 {"utc", pipeline::format_rfc3339(i.at)},
                                 {"resolution", std::string(pipeline::to_string(i.resolution))}});
    }
    std::printf("%s\n", out.dump(2).c_str());
    return pipelinectl::kExitOk;
  }

  std::printf("Schedule in %s, %s to %s\n", schedule->zone_name().c_str(), from->to_string().c_str(),
              to.to_string().c_str());
  std::printf("%-10s  %-14s  %-35s  %s\n", "DATE", "JOB", "LOCAL TIME", "UTC");
  for (const auto& i : *instants) {
    std::string note;
    if (i.resolution == pipeline::LocalTimeResolution::kShiftedOverGap)
      note = "  (" + pipeline::format_time_of_day(i.scheduled_time) + " does not exist that day: shifted over the gap)";
    else if (i.resolution == pipeline::LocalTimeResolution::kEarlierOfRepeated)
      note = "  (" + pipeline::format_time_of_day(i.scheduled_time) + " occurs twice that day: the earlier one)";
    std::printf("%-10s  %-14s  %-35s  %s%s\n", i.local_date.to_string().c_str(), i.job.c_str(),
                i.wall.to_string().c_str(), pipeline::format_rfc3339(i.at).c_str(), note.c_str());
  }
  return pipelinectl::kExitOk;
}

}  // namespace cmd_schedule

static pipelinectl::Registrar cmd_schedule_registrar{
    {"schedule", "Show the daily jobs' local times and exact UTC instants for a date range",
     [](CLI::App& sub) -> pipelinectl::Runner {
       auto opts = std::make_shared<cmd_schedule::Options>();
       sub.add_option("--from", opts->from, "First local date, YYYY-MM-DD")->required();
       auto* to = sub.add_option("--to", opts->to, "Last local date (inclusive), YYYY-MM-DD");
       auto* days = sub.add_option("--days", opts->days, "Number of days starting at --from");
       to->excludes(days);
       sub.add_option("--tz", opts->tz, "IANA time zone of the jobs' local times")
           ->capture_default_str();
       sub.add_option("--job", opts->jobs,
                      "A job as NAME=HH:MM (repeatable); default: backup 06:00, retry 06:15, retry 06:30, "
                      "status_check 07:00");
       sub.add_flag("--json", opts->json, "Machine output on stdout");
       return [opts] { return cmd_schedule::run(*opts); };
     }}};
