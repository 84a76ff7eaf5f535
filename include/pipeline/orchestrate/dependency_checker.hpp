#pragma once
/// @file
/// `DependencyChecker`: are a processor's input tables there, big enough and fresh for a date?

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "pipeline/core/calendar_date.hpp"
#include "pipeline/core/clock.hpp"
#include "pipeline/core/result.hpp"
#include "pipeline/core/timestamp.hpp"

namespace pipeline::inline v0 {

/// One declared input of a processor (the seeds' `get_dependencies()` entry).
struct DependencySpec {
  std::string table;                           ///< As the data source names it.
  bool critical = true;                        ///< A critical input fails the check; an optional one only warns.
  std::int64_t expected_count_min = 1;         ///< Fewer rows for the date is a problem (0 disables).
  std::optional<double> max_age_hours_warn;    ///< Older than this: warn.
  std::optional<double> max_age_hours_fail;    ///< Older than this: fail (warn for an optional input).
};

/// What the checker asks about the data. Implemented over the caller's warehouse
/// (BigQuery, SQLite, the synthetic data set of the examples).
///
/// **Thread safety:** called from the thread that calls `DependencyChecker::check`.
/// **Errors:** return `kUnavailable` when the source cannot be reached; `kNotFound` from
/// `row_count` is read as "the table does not exist" and reported as 0 rows.
class DependencyDataSource {
 public:
  virtual ~DependencyDataSource() = default;
  /// Rows `table` holds for `date`.
  virtual Result<std::int64_t> row_count(std::string_view table, CalendarDate date) = 0;
  /// When `table`'s rows for `date` were last written; nullopt when unknown.
  virtual Result<std::optional<TimePoint>> last_updated(std::string_view table, CalendarDate date) = 0;
};

/// ok < warn < fail.
enum class DependencyLevel { kOk, kWarn, kFail };

/// "ok" | "warn" | "fail".
constexpr std::string_view to_string(DependencyLevel l) noexcept {
  switch (l) {
    case DependencyLevel::kOk: return "ok";
    case DependencyLevel::kWarn: return "warn";
    case DependencyLevel::kFail: return "fail";
  }
  return "fail";
}

/// The verdict on one input.
struct DependencyFinding {
  std::string table;
  bool critical = true;
  DependencyLevel level = DependencyLevel::kOk;
  std::int64_t row_count = 0;
  std::optional<TimePoint> last_updated;
  std::optional<double> age_hours;
  /// One sentence for a person: "orders_raw has 0 rows for 2025-11-18 (expected
  /// at least 30); critical".
  std::string sentence;
};

/// The verdict on all inputs of one processor for one date.
struct DependencyReport {
  std::string processor;
  CalendarDate date;
  TimePoint checked_at;
  DependencyLevel overall = DependencyLevel::kOk;  ///< The worst finding.
  std::vector<DependencyFinding> inputs;            ///< In declaration order.

  [[nodiscard]] bool ok() const { return overall != DependencyLevel::kFail; }

  /// The sentences of the findings that are not ok, joined with "; " ("" when all ok).
  [[nodiscard]] std::string problems() const {
    std::string out;
    for (const auto& f : inputs) {
      if (f.level == DependencyLevel::kOk) continue;
      if (!out.empty()) out += " | ";
      out += f.sentence;
    }
    return out;
  }

  [[nodiscard]] nlohmann::json to_json() const {
    nlohmann::json j{{"processor", processor},
                     {"date", date.to_string()},
                     {"checked_at", format_rfc3339(checked_at)},
                     {"overall", to_string(overall)},
                     {"inputs", nlohmann::json::array()}};
    for (const auto& f : inputs) {
      nlohmann::json e{{"table", f.table},
                       {"critical", f.critical},
                       {"level", to_string(f.level)},
                       {"row_count", f.row_count},
                       {"sentence", f.sentence}};
      e["last_updated"] = f.last_updated ? nlohmann::json(format_rfc3339(*f.last_updated)) : nlohmann::json();
      e["age_hours"] = f.age_hours ? nlohmann::json(*f.age_hours) : nlohmann::json();
      j["inputs"].push_back(std::move(e));
    }
    return j;
  }
};

/// Checks a processor's declared inputs before it runs (the seeds' `check_dependencies`):
/// each input must have at least `expected_count_min` rows for the date and be younger
/// than its age limits, measured on the injected clock.
///
/// Rules: a critical input with too few rows, or older than `max_age_hours_fail`, fails;
/// older than `max_age_hours_warn` warns. An optional input's problems only warn. An
/// input with rows but an unknown update time warns when it has an age limit.
///
/// **Thread safety:** `declare` on one thread during set-up; `check` may then be called
/// from several threads if the data source allows it.
/// **Performance:** two data-source calls per input; the report allocates its sentences.
/// **Errors:** `declare`: `kInvalidArgument` (empty table, warn limit above fail limit,
/// negative counts or ages), `kAlreadyExists` (processor declared twice); `check`:
/// `kNotFound` (undeclared processor) or the data source's error (other than `kNotFound`).
///
/// **Example:**
/// @code
///   pipeline::DependencyChecker deps(clock, warehouse);
///   pipeline::DependencySpec orders{"orders_raw", true, 200, std::nullopt, 24.0};
///   deps.declare("order_summary", {orders});
///   auto report = deps.check("order_summary", date);
///   if (report && !report->ok()) std::cerr << report->problems();
/// @endcode
class DependencyChecker {
 public:
  DependencyChecker(const Clock& clock, DependencyDataSource& source) : clock_(clock), source_(source) {}

  /// Declares `processor`'s inputs.
  Status declare(std::string_view processor, std::vector<DependencySpec> inputs) {
    if (specs_.count(processor))
      return fail(ErrorCode::kAlreadyExists, "dependencies of '{}' are already declared", processor);
    for (const auto& in : inputs) {
      if (in.table.empty()) return fail(ErrorCode::kInvalidArgument, "an input of '{}' has an empty table name", processor);
      if (in.expected_count_min < 0)
        return fail(ErrorCode::kInvalidArgument, "expected_count_min of {} for '{}' must be >= 0", in.table, processor);
      if ((in.max_age_hours_warn && *in.max_age_hours_warn < 0) || (in.max_age_hours_fail && *in.max_age_hours_fail < 0))
        return fail(ErrorCode::kInvalidArgument, "age limits of {} for '{}' must be >= 0", in.table, processor);
      if (in.max_age_hours_warn && in.max_age_hours_fail && *in.max_age_hours_warn > *in.max_age_hours_fail)
        return fail(ErrorCode::kInvalidArgument,
                    "max_age_hours_warn ({}) of {} for '{}' is above max_age_hours_fail ({})", *in.max_age_hours_warn,
                    in.table, processor, *in.max_age_hours_fail);
    }
    specs_.emplace(std::string(processor), std::move(inputs));
    return ok();
  }

  /// The declared inputs of `processor` (nullptr when undeclared).
  [[nodiscard]] const std::vector<DependencySpec>* inputs(std::string_view processor) const {
    auto it = specs_.find(processor);
    return it == specs_.end() ? nullptr : &it->second;
  }

  /// Checks every input of `processor` for `date`.
  Result<DependencyReport> check(std::string_view processor, CalendarDate date) {
    auto it = specs_.find(processor);
    if (it == specs_.end())
      return fail(ErrorCode::kNotFound, "no dependencies are declared for processor '{}'", processor);
    DependencyReport report;
    report.processor = std::string(processor);
    report.date = date;
    report.checked_at = clock_.now();
    for (const auto& spec : it->second) {
      auto finding = check_one(spec, date, report.checked_at);
      if (!finding) return fail(finding.error());
      if (finding->level > report.overall) report.overall = finding->level;
      report.inputs.push_back(std::move(*finding));
    }
    return report;
  }

 private:
  Result<DependencyFinding> check_one(const DependencySpec& spec, CalendarDate date, TimePoint now) {
    DependencyFinding f;
    f.table = spec.table;
    f.critical = spec.critical;
    const std::string_view kind = spec.critical ? "critical" : "optional";
    const DependencyLevel severe = spec.critical ? DependencyLevel::kFail : DependencyLevel::kWarn;

    auto count = source_.row_count(spec.table, date);
    if (!count && count.error().code != ErrorCode::kNotFound)
      return fail(count.error().with("table", spec.table));
    f.row_count = count ? *count : 0;
    if (f.row_count < spec.expected_count_min) {
      f.level = severe;
      f.sentence = count ? fmt::format("{} has {} rows for {} (expected at least {}); {}", spec.table, f.row_count, date,
                                       spec.expected_count_min, kind)
                         : fmt::format("{} does not exist (expected at least {} rows for {}); {}", spec.table,
                                       spec.expected_count_min, date, kind);
      return f;
    }

    auto updated = source_.last_updated(spec.table, date);
    if (!updated) return fail(updated.error().with("table", spec.table));
    f.last_updated = *updated;
    const bool has_limit = spec.max_age_hours_warn || spec.max_age_hours_fail;
    if (!f.last_updated) {
      if (has_limit) {
        f.level = DependencyLevel::kWarn;
        f.sentence = fmt::format("{} has {} rows for {} but no known update time (cannot check its age); {}",
                                 spec.table, f.row_count, date, kind);
      } else {
        f.sentence = fmt::format("{} has {} rows for {}; ok", spec.table, f.row_count, date);
      }
      return f;
    }
    const double age = std::chrono::duration<double, std::ratio<3600>>(now - *f.last_updated).count();
    f.age_hours = age;
    if (spec.max_age_hours_fail && age > *spec.max_age_hours_fail) {
      f.level = severe;
      f.sentence = fmt::format("{} was last updated {:.1f} hours ago (limit {:g} hours); {}", spec.table, age,
                               *spec.max_age_hours_fail, kind);
    } else if (spec.max_age_hours_warn && age > *spec.max_age_hours_warn) {
      f.level = DependencyLevel::kWarn;
      f.sentence = fmt::format("{} was last updated {:.1f} hours ago (warning after {:g} hours); {}", spec.table, age,
                               *spec.max_age_hours_warn, kind);
    } else {
      f.sentence = fmt::format("{} has {} rows for {}, updated {:.1f} hours ago; ok", spec.table, f.row_count, date, age);
    }
    return f;
  }

  const Clock& clock_;
  DependencyDataSource& source_;
  std::map<std::string, std::vector<DependencySpec>, std::less<>> specs_;
};

}  // namespace pipeline::inline v0
