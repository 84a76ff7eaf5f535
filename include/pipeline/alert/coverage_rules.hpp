#pragma once
/// @file
/// `CoverageRules`: when missing entities or low coverage deserve an alert.

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>

#include "pipeline/alert/alert_manager.hpp"
#include "pipeline/core/alert_sink.hpp"
#include "pipeline/core/config.hpp"

namespace pipeline::inline v0 {

/// The two coverage checks of a phase and date: "missing entities exceed max(5% of
/// expected, 20)" (a percentage alone is noisy on small sets, a count alone on large
/// ones) and the morning status check "coverage below 90%". Both thresholds are
/// configurable; `expected == 0` never alerts (nothing was expected), and `done` above
/// `expected` counts as full coverage.
///
/// **Thread safety:** a plain value; the `alert_if_*` helpers are as thread-safe as
/// `AlertManager::raise`.
/// **Performance:** the predicates are a few arithmetic operations; the helpers format a
/// message only when they alert.
/// **Errors:** none.
///
/// **Example:**
/// @snippet alert_snippets_test.cpp coverage_rules
struct CoverageRules {
  double missing_fraction = 0.05;     ///< Share of expected that may be missing.
  std::uint64_t missing_min = 20;     ///< Missing count always tolerated.
  double status_min_coverage = 0.90;  ///< The status check alerts below this coverage.
  Severity missing_severity = Severity::kWarning;
  Severity status_severity = Severity::kError;

  /// Entities expected but not done.
  static std::uint64_t missing(std::uint64_t expected, std::uint64_t done) noexcept {
    return expected > done ? expected - done : 0;
  }

  /// done / expected, capped at 1; 1 when nothing is expected.
  static double coverage(std::uint64_t expected, std::uint64_t done) noexcept {
    if (expected == 0) return 1.0;
    return static_cast<double>(std::min(done, expected)) / static_cast<double>(expected);
  }

  /// The largest tolerated missing count: max(missing_fraction * expected, missing_min).
  [[nodiscard]] double missing_threshold(std::uint64_t expected) const noexcept {
    return std::max(missing_fraction * static_cast<double>(expected), static_cast<double>(missing_min));
  }

  /// True when more than `missing_threshold(expected)` entities are missing (21 of 400
  /// alerts, 20 does not; 51 of 1000 alerts, 50 does not).
  [[nodiscard]] bool missing_alert(std::uint64_t expected, std::uint64_t done) const noexcept {
    if (expected == 0) return false;
    // The tolerance keeps 0.05 * 1000 (not exactly 50 in binary) from moving the boundary.
    return static_cast<double>(missing(expected, done)) > missing_threshold(expected) + kTolerance;
  }

  /// True when coverage is below `status_min_coverage` (359 of 400 alerts, 360 does not).
  [[nodiscard]] bool status_alert(std::uint64_t expected, std::uint64_t done) const noexcept {
    if (expected == 0) return false;
    return coverage(expected, done) < status_min_coverage - kTolerance;
  }

  /// Raises "<scope>: 25 of 400 expected entities are missing (6.2%), more than the 20
  /// tolerated" on key "coverage/missing/<scope>" when `missing_alert` holds. Returns
  /// whether the rule fired (the alert may still be rate-limited).
  bool alert_if_missing(AlertManager& alerts, std::string_view scope, std::uint64_t expected,
                        std::uint64_t done) const;

  /// Raises "<scope>: coverage 85.0% (340 of 400) is below the required 90.0%" on key
  /// "coverage/status/<scope>" when `status_alert` holds. Returns whether the rule fired.
  bool alert_if_low_coverage(AlertManager& alerts, std::string_view scope, std::uint64_t expected,
                             std::uint64_t done) const;

 private:
  static constexpr double kTolerance = 1e-9;
};

}  // namespace pipeline::inline v0

#ifdef PIPELINE_HEADER_ONLY
#include "pipeline/alert/coverage_rules-inl.hpp"
#endif
