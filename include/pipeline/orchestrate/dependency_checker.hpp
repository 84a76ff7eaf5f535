#pragma once
/// @file
/// `DependencyChecker`: are a processor's input tables there, big enough and fresh for a date?

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "pipeline/core/calendar_date.hpp"
#include "pipeline/core/clock.hpp"
#include "pipeline/core/config.hpp"
#include "pipeline/core/result.hpp"

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
  /// How many rows `table` is known to need for `date` at most, when the source knows the
  /// date is lighter than usual: 0 for a date with nothing to process (no games, a
  /// holiday), so an empty input is not a missing one. nullopt (the default): the
  /// declared `expected_count_min` applies.
  virtual Result<std::optional<std::int64_t>> expected_rows(std::string_view /*table*/, CalendarDate /*date*/) {
    return std::optional<std::int64_t>{};
  }
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
  [[nodiscard]] std::string problems() const;

  [[nodiscard]] nlohmann::json to_json() const;
};

/// Checks a processor's declared inputs before it runs (the seeds' `check_dependencies`):
/// each input must have at least `expected_count_min` rows for the date and be younger
/// than its age limits, measured on the injected clock.
///
/// Rules: a critical input with too few rows (fewer than `expected_count_min`, lowered to
/// the source's `expected_rows` for the date when it knows one), or older than `max_age_hours_fail`, fails;
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
/// @snippet orchestrate_snippets_test.cpp dependency_checker
class DependencyChecker {
 public:
  /// A checker with no declarations; `clock` and `source` must outlive it. **Errors:**
  /// none today; a `Result` like every component's `create`, so that options can be added
  /// without breaking callers.
  [[nodiscard]] static Result<DependencyChecker> create(const Clock& clock, DependencyDataSource& source);

  /// Declares `processor`'s inputs.
  Status declare(std::string_view processor, std::vector<DependencySpec> inputs);

  /// The declared inputs of `processor` (nullptr when undeclared).
  [[nodiscard]] const std::vector<DependencySpec>* inputs(std::string_view processor) const;

  /// Checks every input of `processor` for `date`.
  Result<DependencyReport> check(std::string_view processor, CalendarDate date);

 private:
  DependencyChecker(const Clock& clock, DependencyDataSource& source) : clock_(clock), source_(source) {}

  Result<DependencyFinding> check_one(const DependencySpec& spec, CalendarDate date, TimePoint now);

  const Clock& clock_;
  DependencyDataSource& source_;
  std::map<std::string, std::vector<DependencySpec>, std::less<>> specs_;
};

}  // namespace pipeline::inline v0

#ifdef PIPELINE_HEADER_ONLY
#include "pipeline/orchestrate/dependency_checker-inl.hpp"
#endif
