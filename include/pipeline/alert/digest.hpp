#pragma once
/// @file
/// The sentence that summarizes suppressed alerts ("12 similar alerts suppressed since 06:02 UTC").

#include <chrono>
#include <cstdint>
#include <string>

#include <fmt/format.h>

#include "pipeline/core/alert_sink.hpp"

namespace pipeline::inline v0 {

/// "12 similar alerts suppressed since 06:02 UTC" ("1 similar alert ..."); empty when
/// `count` is 0. The time is UTC (hours and minutes; the full instant is in the alert's
/// `suppressed_since`). Thread-safe; allocates the result.
inline std::string digest_text(std::uint64_t count, TimePoint since) {
  if (count == 0) return {};
  using namespace std::chrono;
  const auto in_day = floor<minutes>(since) - floor<days>(since);
  const hh_mm_ss hms(in_day);
  return fmt::format("{} similar alert{} suppressed since {:02}:{:02} UTC", count, count == 1 ? "" : "s",
                     hms.hours().count(), hms.minutes().count());
}

/// The digest sentence of `alert` (empty when it summarizes nothing).
inline std::string digest_text(const Alert& alert) {
  return digest_text(alert.suppressed_count, alert.suppressed_since);
}

}  // namespace pipeline::inline v0
