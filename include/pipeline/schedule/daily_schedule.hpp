#pragma once
/// @file
/// `DailySchedule`: named jobs at local times of day in a named IANA zone, resolved to
/// exact UTC instants (DST-correct).
///
/// Part of `pipeline::schedule` (compiled, over date-tz and the system tz database);
/// this header uses plain types only (pimpl), so no date-tz header or definition
/// reaches users.

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pipeline/core/calendar_date.hpp"
#include "pipeline/core/clock.hpp"
#include "pipeline/core/result.hpp"
#include "pipeline/schedule/local_time.hpp"

namespace pipeline::inline v0 {

/// One job of a daily schedule: a name and a local time of day.
struct ScheduledJob {
  std::string name;                      ///< Not empty; several entries may share a name.
  std::chrono::minutes time_of_day{0};   ///< Local wall time since midnight, [00:00, 24:00).
};

/// How a job's local time of day was turned into an instant on one date.
enum class LocalTimeResolution {
  kExact,              ///< The local time occurs exactly once that day.
  kShiftedOverGap,     ///< It does not exist (spring-forward gap): moved later by the gap.
  kEarlierOfRepeated,  ///< It occurs twice (fall-back overlap): the earlier one is used.
};

/// "exact", "shifted_over_gap", "earlier_of_repeated".
constexpr std::string_view to_string(LocalTimeResolution r) noexcept {
  switch (r) {
    case LocalTimeResolution::kExact: return "exact";
    case LocalTimeResolution::kShiftedOverGap: return "shifted_over_gap";
    case LocalTimeResolution::kEarlierOfRepeated: return "earlier_of_repeated";
  }
  return "unknown";
}

/// One job on one local date, with its exact instant.
struct ScheduledInstant {
  std::string job;                        ///< The job's name.
  CalendarDate local_date;                ///< The local date the job runs for.
  std::chrono::minutes scheduled_time{0}; ///< The job's configured local time of day.
  TimePoint at;                           ///< The exact instant (UTC).
  LocalWallTime wall;                     ///< The wall clock at `at` (differs from
                                          ///< `scheduled_time` only when shifted over a gap).
  LocalTimeResolution resolution = LocalTimeResolution::kExact;
};

/// Parses "HH:MM" (00:00–23:59) into a time of day.
/// **Errors:** `kInvalidArgument` naming the text.
Result<std::chrono::minutes> parse_time_of_day(std::string_view text);

/// "HH:MM".
std::string format_time_of_day(std::chrono::minutes time_of_day);

/// Named jobs at local times of day in one named IANA zone, and the exact UTC instants
/// they fall on for any date range — right on DST transition days. Phase 5 runs its
/// backup trigger, retries and status check from one (`phase5_jobs()`, Pacific time).
///
/// The zone is always explicit (the seeds once read a Pacific schedule as Eastern).
///
/// **Rule for local times that do not exist or occur twice** (as java.time's
/// `ZonedDateTime.of` resolves them):
/// - *Gap* (spring forward): a local time that does not exist is moved later by the
///   length of the gap — 02:30 on 2025-03-09 in America/Los_Angeles becomes 03:30 PDT
///   (10:30Z). Such an instant may come after a job scheduled at 03:00 that day; the
///   returned instants are always sorted by instant.
/// - *Overlap* (fall back): a local time that occurs twice resolves to its earlier
///   occurrence — 01:30 on 2025-11-02 in America/Los_Angeles is 01:30 PDT (08:30Z),
///   not 01:30 PST. Each job fires once per local date.
///
/// **Thread safety:** immutable after `create`; copies share state; every const member
/// may be called from any thread.
/// **Performance:** `create` looks the zone up once (the first lookup in a process
/// reads the tz database directory, a few milliseconds); `instants` costs one
/// offset lookup per job and date and allocates the result; `next_after` computes at
/// most four days of instants.
/// **Errors:** `create` returns `kInvalidArgument` for an unknown zone (naming it), an
/// empty job name, a time of day outside [00:00, 24:00), two jobs at the same time of
/// day, or no jobs; `instants` returns
/// `kInvalidArgument` when `to` is before `from`.
///
/// **Example:**
/// @snippet schedule_snippets_test.cpp daily_schedule
class DailySchedule {
 public:
  /// The zone of the Phase 5 schedule: Pacific time, named as IANA names it.
  static constexpr std::string_view kPhase5Zone = "America/Los_Angeles";

  /// The Phase 5 jobs (local times in `kPhase5Zone`): backup 06:00, retry 06:15,
  /// retry 06:30, status_check 07:00.
  static std::vector<ScheduledJob> phase5_jobs();

  /// The Phase 5 preset: `create(kPhase5Zone, phase5_jobs())`.
  static Result<DailySchedule> phase5();

  /// A schedule of `jobs` at local times in IANA zone `zone_name`.
  static Result<DailySchedule> create(std::string_view zone_name, std::vector<ScheduledJob> jobs);

  /// The IANA zone name.
  [[nodiscard]] const std::string& zone_name() const noexcept;

  /// The jobs, sorted by time of day (ties keep their given order).
  [[nodiscard]] const std::vector<ScheduledJob>& jobs() const noexcept;

  /// Every job on every local date in [from, to] (inclusive), sorted by instant.
  [[nodiscard]] Result<std::vector<ScheduledInstant>> instants(CalendarDate from, CalendarDate to) const;

  /// The first scheduled instant strictly after `t` (ties: the job listed first).
  [[nodiscard]] std::optional<ScheduledInstant> next_after(TimePoint t) const;

  /// The wall time in this schedule's zone at `t`.
  [[nodiscard]] LocalWallTime wall_time(TimePoint t) const;

 private:
  struct Impl;
  explicit DailySchedule(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<const Impl> impl_;
};

}  // namespace pipeline::inline v0
