#pragma once
/// @file
/// `CalendarDate`: a validated calendar day, the partition key of the pipeline.

#include <chrono>
#include <compare>
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
/// **Errors:** `parse` returns `kInvalidArgument` for anything but a real day written
/// `YYYY-MM-DD` (years 1900–9999).
///
/// **Example:**
/// @code
///   auto d = pipeline::CalendarDate::parse("2025-11-18");
///   if (d) std::cout << d->plus_days(1).to_string();   // 2025-11-19
///   auto bad = pipeline::CalendarDate::parse("2025-02-30");  // error: not a calendar date
/// @endcode
class CalendarDate {
 public:
  /// 1970-01-01.
  constexpr CalendarDate() = default;

  /// From a valid `year_month_day` (the caller vouches for `ymd.ok()`).
  constexpr explicit CalendarDate(std::chrono::year_month_day ymd) : days_(std::chrono::sys_days(ymd)) {}
  constexpr explicit CalendarDate(std::chrono::sys_days days) : days_(days) {}

  /// Parses exactly `YYYY-MM-DD`.
  static Result<CalendarDate> parse(std::string_view text);

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

  /// `YYYY-MM-DD`.
  [[nodiscard]] std::string to_string() const;

  friend constexpr auto operator<=>(const CalendarDate&, const CalendarDate&) = default;

 private:
  std::chrono::sys_days days_{};
};

}  // namespace pipeline::inline v0

template <>
struct fmt::formatter<pipeline::CalendarDate> : fmt::formatter<std::string_view> {
  template <class Ctx>
  auto format(const pipeline::CalendarDate& d, Ctx& ctx) const {
    return fmt::formatter<std::string_view>::format(d.to_string(), ctx);
  }
};

#ifdef PIPELINE_HEADER_ONLY
#include "pipeline/core/calendar_date-inl.hpp"
#endif
