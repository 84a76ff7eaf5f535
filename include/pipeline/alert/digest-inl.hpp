#pragma once
/// @file
/// Bodies of pipeline/alert/digest.hpp (see pipeline/core/config.hpp).

#include "pipeline/alert/digest.hpp"

#include <chrono>

#include <fmt/format.h>

namespace pipeline::inline v0 {

PIPELINE_INLINE std::string digest_text(std::uint64_t count, TimePoint since) {
  if (count == 0) return {};
  using namespace std::chrono;
  const auto in_day = floor<minutes>(since) - floor<days>(since);
  const hh_mm_ss hms(in_day);
  return fmt::format("{} similar alert{} suppressed since {:02}:{:02} UTC", count, count == 1 ? "" : "s",
                     hms.hours().count(), hms.minutes().count());
}

PIPELINE_INLINE std::string digest_text(const Alert& alert) {
  return digest_text(alert.suppressed_count, alert.suppressed_since);
}

}  // namespace pipeline::inline v0
