#pragma once
/// @file
/// Bodies of pipeline/core/timestamp.hpp.

#include "pipeline/core/timestamp.hpp"

#include <fmt/format.h>

namespace pipeline::inline v0 {

PIPELINE_INLINE std::string format_rfc3339(TimePoint t) {
  using namespace std::chrono;
  const auto us = time_point_cast<microseconds>(t);
  const auto day = floor<days>(us);
  const year_month_day ymd(day);
  const hh_mm_ss hms(us - day);
  std::string out = fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}", static_cast<int>(ymd.year()),
                                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                                hms.hours().count(), hms.minutes().count(), hms.seconds().count());
  if (const auto frac = hms.subseconds().count(); frac != 0) out += fmt::format(".{:06}", frac);
  out += 'Z';
  return out;
}

PIPELINE_INLINE Result<TimePoint> parse_rfc3339(std::string_view s) {
  using namespace std::chrono;
  auto bad = [&](std::string_view why) {
    return fail(ErrorCode::kInvalidArgument, "'{}' is not an RFC 3339 timestamp ({})", s, why);
  };
  auto digits = [&](std::size_t pos, std::size_t n, int& out) {
    if (pos + n > s.size()) return false;
    out = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const char c = s[pos + i];
      if (c < '0' || c > '9') return false;
      out = out * 10 + (c - '0');
    }
    return true;
  };
  int y, mo, d, h, mi, sec;
  if (!digits(0, 4, y) || s.size() < 20 || s[4] != '-' || !digits(5, 2, mo) || s[7] != '-' || !digits(8, 2, d))
    return bad("expected YYYY-MM-DDTHH:MM:SSZ");
  if (s[10] != 'T' && s[10] != 't' && s[10] != ' ') return bad("expected 'T' between date and time");
  if (!digits(11, 2, h) || s[13] != ':' || !digits(14, 2, mi) || s[16] != ':' || !digits(17, 2, sec))
    return bad("expected HH:MM:SS");
  const year_month_day ymd{year(y), month(static_cast<unsigned>(mo)), day(static_cast<unsigned>(d))};
  if (!ymd.ok()) return bad("no such day");
  // TimePoint counts nanoseconds in 64 bits: it spans 1677-09-21..2262-04-11 only.
  if (y < 1678 || y > 2261) return bad("year outside 1678..2261");
  if (h > 23 || mi > 59 || sec > 60) return bad("time of day out of range");
  std::size_t pos = 19;
  microseconds frac{0};
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    const std::size_t start = pos;
    long long scale = 100000, us = 0;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      us += (s[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
    if (pos == start) return bad("empty fraction");
    frac = microseconds(us);
  }
  minutes offset{0};
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int oh, om;
    if (!digits(pos + 1, 2, oh) || pos + 3 >= s.size() || s[pos + 3] != ':' || !digits(pos + 4, 2, om) || oh > 23 ||
        om > 59)
      return bad("bad UTC offset");
    offset = minutes((oh * 60 + om) * (s[pos] == '-' ? -1 : 1));
    pos += 6;
  } else {
    return bad("missing time zone ('Z' or ±HH:MM)");
  }
  if (pos != s.size()) return bad("trailing characters");
  const auto local = sys_days(ymd) + hours(h) + minutes(mi) + seconds(sec) + frac;
  return time_point_cast<Duration>(local - offset);
}

}  // namespace pipeline::inline v0
