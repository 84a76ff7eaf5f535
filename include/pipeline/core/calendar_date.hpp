#pragma once
/// @file
/// `CalendarDate`: a validated calendar day, the partition key of the pipeline.

#include <chrono>
#include <compare>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "pipeline/core/config.hpp"
#include "pipeline/core/result.hpp"

namespace pipeline::inline v0 {

/// A proleptic Gregorian calendar day with no time zone attached ("the date partition").
///
/// The pipeline partitions its work by date. Which zone's day it is belongs to the
/// caller (usually the business's own time zone); `CalendarDate` never guesses one.
///
/// **Thread safety:** a plain value. **Performance:** 4 bytes; parse/format allocate
/// only the returned string.
/// **Errors:** `parse` and `from_ymd` return `kInvalidArgument` for anything but a real
/// day (years 1900–9999): 2024-02-30 is refused, never rolled over to March.
///
/// A default-made date is **unset**: it compares before every real date, prints as
/// `unset`, and `validate_message` refuses a message that carries one, so a date that
/// was never assigned cannot pass as 1970-01-01.
///
/// **Example:**
/// @snippet core_snippets_test.cpp calendar_date
class CalendarDate {
 public:
  /// The unset date (see above); `is_set()` is false.
  constexpr CalendarDate() = default;

  /// The day `days` counts from 1970-01-01 (every count is a real day; `validate_message`
  /// still requires years 1900–9999).
  constexpr explicit CalendarDate(std::chrono::sys_days days) : days_(days) {}

  /// Parses exactly `YYYY-MM-DD`.
  static Result<CalendarDate> parse(std::string_view text);
  /// The day `year`-`month`-`day`, checked as `parse` checks it.
  static Result<CalendarDate> from_ymd(int year, unsigned month, unsigned day);

  /// False only for a default-made date.
  [[nodiscard]] constexpr bool is_set() const { return days_ != kUnset; }

  [[nodiscard]] constexpr std::chrono::year_month_day ymd() const { return std::chrono::year_month_day(days_); }
  [[nodiscard]] constexpr std::chrono::sys_days sys_days() const { return days_; }
  [[nodiscard]] constexpr int year() const { return static_cast<int>(ymd().year()); }
  [[nodiscard]] constexpr unsigned month() const { return static_cast<unsigned>(ymd().month()); }
  [[nodiscard]] constexpr unsigned day() const { return static_cast<unsigned>(ymd().day()); }

  [[nodiscard]] constexpr CalendarDate plus_days(int n) const { return CalendarDate(days_ + std::chrono::days(n)); }

  /// Whole days from `this` to `other` (negative when `other` is earlier).
  [[nodiscard]] constexpr int days_until(CalendarDate other) const {
    return static_cast<int>((other.days_ - days_).count());
  }

  /// `YYYY-MM-DD`; `unset` for the unset date.
  [[nodiscard]] std::string to_string() const;

  friend constexpr auto operator<=>(const CalendarDate&, const CalendarDate&) = default;

 private:
  // Far outside any year a date can be parsed or checked into.
  static constexpr std::chrono::sys_days kUnset{std::chrono::days(std::numeric_limits<std::int32_t>::min())};
  std::chrono::sys_days days_ = kUnset;
};

}  // namespace pipeline::inline v0

// fmt's customisation point, kept out of the API documentation (Doxygen cannot scope it).
/// @cond
template <>
struct fmt::formatter<pipeline::CalendarDate> : fmt::formatter<std::string_view> {
  template <class Ctx>
  auto format(const pipeline::CalendarDate& d, Ctx& ctx) const {
    return fmt::formatter<std::string_view>::format(d.to_string(), ctx);
  }
};
/// @endcond

#ifdef PIPELINE_HEADER_ONLY
#include "pipeline/core/calendar_date-inl.hpp"
#endif
