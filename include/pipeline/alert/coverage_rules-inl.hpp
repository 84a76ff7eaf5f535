#pragma once
/// @file
/// Bodies of pipeline/alert/coverage_rules.hpp (see pipeline/core/config.hpp).

#include "pipeline/alert/coverage_rules.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace pipeline::inline v0 {

PIPELINE_INLINE bool CoverageRules::alert_if_missing(AlertManager& alerts, std::string_view scope,
                                                     std::uint64_t expected, std::uint64_t done) const {
  if (!missing_alert(expected, done)) return false;
  const std::uint64_t m = missing(expected, done);
  const double threshold = missing_threshold(expected);
  alerts.raise(missing_severity, fmt::format("coverage/missing/{}", scope),
               fmt::format("{}: {} of {} expected entities are missing ({:.1f}%), more than the {:g} tolerated", scope,
                           m, expected, 100.0 * static_cast<double>(m) / static_cast<double>(expected), threshold),
               nlohmann::json{{"scope", scope},
                {"expected", expected},
                {"done", done},
                {"missing", m},
                {"threshold", threshold},
                {"missing_fraction", missing_fraction},
                {"missing_min", missing_min}});
  return true;
}

PIPELINE_INLINE bool CoverageRules::alert_if_low_coverage(AlertManager& alerts, std::string_view scope,
                                                          std::uint64_t expected, std::uint64_t done) const {
  if (!status_alert(expected, done)) return false;
  const double c = coverage(expected, done);
  alerts.raise(status_severity, fmt::format("coverage/status/{}", scope),
               fmt::format("{}: coverage {:.1f}% ({} of {}) is below the required {:.1f}%", scope, 100.0 * c,
                           std::min(done, expected), expected, 100.0 * status_min_coverage),
               nlohmann::json{{"scope", scope},
                {"expected", expected},
                {"done", done},
                {"coverage", c},
                {"min_coverage", status_min_coverage}});
  return true;
}

}  // namespace pipeline::inline v0
