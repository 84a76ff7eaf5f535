#pragma once
/// @file
/// Bodies of pipeline/orchestrate/dependency_checker.hpp (see pipeline/core/config.hpp).

#include "pipeline/orchestrate/dependency_checker.hpp"

#include <chrono>
#include <ratio>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "pipeline/core/timestamp.hpp"

namespace pipeline::inline v0 {

PIPELINE_INLINE Result<DependencyChecker> DependencyChecker::create(const Clock& clock, DependencyDataSource& source) {
  return DependencyChecker(clock, source);
}

PIPELINE_INLINE std::string DependencyReport::problems() const {
  std::string out;
  for (const auto& f : inputs) {
    if (f.level == DependencyLevel::kOk) continue;
    if (!out.empty()) out += " | ";
    out += f.sentence;
  }
  return out;
}

PIPELINE_INLINE nlohmann::json DependencyReport::to_json() const {
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

PIPELINE_INLINE Status DependencyChecker::declare(std::string_view processor, std::vector<DependencySpec> inputs) {
  if (specs_.count(processor))
    return fail(ErrorCode::kAlreadyExists, "dependencies of '{}' are already declared", processor);
  for (const auto& in : inputs) {
    if (in.table.empty())
      return fail(ErrorCode::kInvalidArgument, "an input of '{}' has an empty table name", processor);
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

PIPELINE_INLINE const std::vector<DependencySpec>* DependencyChecker::inputs(std::string_view processor) const {
  auto it = specs_.find(processor);
  return it == specs_.end() ? nullptr : &it->second;
}

PIPELINE_INLINE Result<DependencyReport> DependencyChecker::check(std::string_view processor, CalendarDate date) {
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

PIPELINE_INLINE Result<DependencyFinding> DependencyChecker::check_one(const DependencySpec& spec, CalendarDate date,
                                                                       TimePoint now) {
  DependencyFinding f;
  f.table = spec.table;
  f.critical = spec.critical;
  const std::string_view kind = spec.critical ? "critical" : "optional";
  const DependencyLevel severe = spec.critical ? DependencyLevel::kFail : DependencyLevel::kWarn;

  auto count = source_.row_count(spec.table, date);
  if (!count && count.error().code != ErrorCode::kNotFound) return fail(count.error().with("table", spec.table));
  f.row_count = count ? *count : 0;
  auto expected = source_.expected_rows(spec.table, date);
  if (!expected) return fail(expected.error().with("table", spec.table));
  if (*expected && f.row_count < spec.expected_count_min && f.row_count >= **expected) {
    f.sentence = fmt::format("{} has {} rows for {}, as expected for that date; ok", spec.table, f.row_count, date);
    return f;
  }
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
      f.sentence = fmt::format("{} has {} rows for {} but no known update time (cannot check its age); {}", spec.table,
                               f.row_count, date, kind);
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

}  // namespace pipeline::inline v0
