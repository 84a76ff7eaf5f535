#pragma once
/// @file
/// Bodies of pipeline/core/calendar_date.hpp (see pipeline/core/config.hpp).

#include "pipeline/core/calendar_date.hpp"

#include <fmt/format.h>

namespace pipeline::inline v0 {

PIPELINE_INLINE Result<CalendarDate> CalendarDate::parse(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return fail(ErrorCode::kInvalidArgument, "'{}' is not a calendar date ({})", text, why);
  };
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return bad("expected YYYY-MM-DD");
  int parts[3] = {0, 0, 0};
  const std::size_t starts[3] = {0, 5, 8};
  const std::size_t lens[3] = {4, 2, 2};
  for (int p = 0; p < 3; ++p) {
    for (std::size_t i = 0; i < lens[p]; ++i) {
      const char c = text[starts[p] + i];
      if (c < '0' || c > '9') return bad("expected YYYY-MM-DD");
      parts[p] = parts[p] * 10 + (c - '0');
    }
  }
  auto date = from_ymd(parts[0], static_cast<unsigned>(parts[1]), static_cast<unsigned>(parts[2]));
  if (!date) return bad(parts[0] < 1900 ? "year before 1900" : "no such day");
  return date;
}

PIPELINE_INLINE Result<CalendarDate> CalendarDate::from_ymd(int year, unsigned month, unsigned day) {
  if (year < 1900 || year > 9999)
    return fail(ErrorCode::kInvalidArgument, "{}-{:02}-{:02} is not a calendar date (years 1900..9999)", year, month,
                day);
  const std::chrono::year_month_day ymd{std::chrono::year(year), std::chrono::month(month), std::chrono::day(day)};
  if (!ymd.ok())
    return fail(ErrorCode::kInvalidArgument, "{}-{:02}-{:02} is not a calendar date (no such day)", year, month, day);
  return CalendarDate(std::chrono::sys_days(ymd));
}

PIPELINE_INLINE std::string CalendarDate::to_string() const {
  // Written digit by digit: this is on every hot path that builds a key or an id, and
  // a format call costs ~20x more. Years are 0..9999 here (parse accepts 1900..9999).
  if (!is_set()) return "unset";
  const auto ymd = this->ymd();
  const int y = static_cast<int>(ymd.year());
  const unsigned m = static_cast<unsigned>(ymd.month()), d = static_cast<unsigned>(ymd.day());
  if (y < 0 || y > 9999) return fmt::format("{:04}-{:02}-{:02}", y, m, d);
  std::string out(10, '-');
  out[0] = static_cast<char>('0' + y / 1000);
  out[1] = static_cast<char>('0' + y / 100 % 10);
  out[2] = static_cast<char>('0' + y / 10 % 10);
  out[3] = static_cast<char>('0' + y % 10);
  out[5] = static_cast<char>('0' + m / 10);
  out[6] = static_cast<char>('0' + m % 10);
  out[8] = static_cast<char>('0' + d / 10);
  out[9] = static_cast<char>('0' + d % 10);
  return out;
}

}  // namespace pipeline::inline v0
