#pragma once
/// @file
/// The `AlertSink` port and the `Alert` it receives.

#include <cstdint>
#include <string>
#include <string_view>


#include "pipeline/core/clock.hpp"
#include "pipeline/core/enum_names.hpp"
#include "pipeline/core/json_object.hpp"
#include "pipeline/core/result.hpp"

namespace pipeline::inline v0 {

/// How urgent an alert is.
enum class Severity { kInfo, kWarning, kError, kCritical };

/// The names of `Severity` (see enum_names.hpp).
template <>
struct EnumNames<Severity> {
  static constexpr EnumName<Severity> kTable[] = {
      {Severity::kInfo, "info"},
      {Severity::kWarning, "warning"},
      {Severity::kError, "error"},
      {Severity::kCritical, "critical"},
  };
};

/// "info" | "warning" | "error" | "critical".
constexpr std::string_view to_string(Severity s) noexcept { return enum_name(s, "critical"); }

/// One alert as a sink receives it.
struct Alert {
  Severity severity = Severity::kWarning;
  /// Deduplication key: alerts with the same key share one rate limit
  /// ("coverage/phase5/2025-11-18").
  std::string key;
  std::string message;   ///< A sentence for a person.
  JsonObject context;    ///< Structured details (a JSON object).
  TimePoint at;          ///< When it was raised (the injected clock's time).
  /// Similar alerts (same key) suppressed by the rate limiter since `suppressed_since`
  /// and summarized by this one; 0 when none.
  std::uint64_t suppressed_count = 0;
  TimePoint suppressed_since{};
};

/// Where alerts go: a log, a webhook, a pager, a test's vector.
///
/// **Thread safety:** `AlertManager` calls `send` from the thread that raised the alert
/// (or that flushed digests), with no library lock held, possibly from several threads
/// at once; an implementation that is not thread-safe must lock (see the sink base in
/// the alert layer, which does it for you).
/// **Errors:** return an `Error` (usually `kUnavailable`) when delivery failed; the
/// manager counts it and goes on with the other sinks. A throw is caught and counted
/// the same way.
///
/// **Example:**
/// @snippet core_snippets_test.cpp alert_sink
class AlertSink {
 public:
  virtual ~AlertSink() = default;
  virtual Status send(const Alert& alert) = 0;
};

}  // namespace pipeline::inline v0
