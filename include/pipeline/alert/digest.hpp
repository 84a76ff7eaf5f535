#pragma once
/// @file
/// The sentence that summarizes suppressed alerts ("12 similar alerts suppressed since 06:02 UTC").

#include <cstdint>
#include <string>

#include "pipeline/core/alert_sink.hpp"
#include "pipeline/core/clock.hpp"
#include "pipeline/core/config.hpp"

namespace pipeline::inline v0 {

/// "12 similar alerts suppressed since 06:02 UTC" ("1 similar alert ..."); empty when
/// `count` is 0. The time is UTC (hours and minutes; the full instant is in the alert's
/// `suppressed_since`). Thread-safe; allocates the result.
std::string digest_text(std::uint64_t count, TimePoint since);

/// The digest sentence of `alert` (empty when it summarizes nothing).
std::string digest_text(const Alert& alert);

}  // namespace pipeline::inline v0

#ifdef PIPELINE_HEADER_ONLY
#include "pipeline/alert/digest-inl.hpp"
#endif
