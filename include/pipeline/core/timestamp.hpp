#pragma once
/// @file
/// Instants as text and as numbers: RFC 3339 (UTC with `Z`, as every JSON output uses),
/// and nanoseconds since the Unix epoch, the one unit of instants in stored records.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "pipeline/core/clock.hpp"
#include "pipeline/core/config.hpp"
#include "pipeline/core/result.hpp"

namespace pipeline::inline v0 {

/// Formats `t` as RFC 3339 UTC: `2025-11-18T06:00:00Z`, with `.ffffff` only when the
/// instant has a sub-second part. Thread-safe, allocates the result.
std::string format_rfc3339(TimePoint t);

/// Parses RFC 3339 (`YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`; `t`/`z` and a space
/// separator accepted) into an instant.
/// **Errors:** `kInvalidArgument` naming what is wrong.
Result<TimePoint> parse_rfc3339(std::string_view s);

/// Nanoseconds since 1970-01-01T00:00:00Z: the one unit of instants in stored records
/// (every row, key and record format that keeps an instant keeps this number). Exact for
/// every `TimePoint` (which counts nanoseconds in 64 bits).
constexpr std::int64_t to_unix_nanos(TimePoint t) noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

/// The instant `nanos` nanoseconds after the Unix epoch (negative: before it); the
/// inverse of `to_unix_nanos`.
constexpr TimePoint from_unix_nanos(std::int64_t nanos) noexcept {
  return TimePoint(std::chrono::duration_cast<Duration>(std::chrono::nanoseconds(nanos)));
}

}  // namespace pipeline::inline v0

#ifdef PIPELINE_HEADER_ONLY
#include "pipeline/core/timestamp-inl.hpp"
#endif
