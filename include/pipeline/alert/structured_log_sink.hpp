#pragma once
/// @file
/// `StructuredLogSink`: one JSON line per alert, to a `std::ostream` or a `FILE*`.

#include <cstdio>
#include <iosfwd>
#include <mutex>

#include <nlohmann/json_fwd.hpp>

#include "pipeline/alert/sink_base.hpp"
#include "pipeline/core/alert_sink.hpp"
#include "pipeline/core/config.hpp"
#include "pipeline/core/result.hpp"

namespace pipeline::inline v0 {

/// Writes each alert as one JSON object on its own line (JSON Lines), for log shippers:
/// `{"at":"2025-11-18T06:10:00Z","severity":"warning","key":"...","message":"...",
/// "context":{...}}`, plus `"suppressed_count"`, `"suppressed_since"` and `"digest"`
/// (the sentence) when the alert summarizes suppressed ones. Instants are RFC 3339 UTC.
/// Invalid UTF-8 in strings is replaced, never an error.
///
/// **Thread safety:** `send` may be called from any thread; lines never interleave. The
/// stream or `FILE*` must outlive the sink and must not be written by others meanwhile
/// (or lines may interleave with theirs).
/// **Performance:** builds and serializes one JSON object per alert and flushes the
/// stream, so each line is visible at once; the sink's mutex is held while writing.
/// **Errors:** `kUnavailable` when the stream is in a failed state or the write fails.
///
/// **Example:**
/// @code
///   auto log = std::make_shared<pipeline::StructuredLogSink>(std::cerr);
///   auto alerts = pipeline::AlertManager::create(clock, {log});
/// @endcode
class StructuredLogSink final : public BasicAlertSink<std::mutex> {
 public:
  explicit StructuredLogSink(std::ostream& out) : stream_(&out) {}
  explicit StructuredLogSink(std::FILE* out) : file_(out) {}

  /// The JSON object written for `alert` (without the newline).
  static nlohmann::json to_json(const Alert& alert);

 protected:
  Status send_locked(const Alert& alert) override;

 private:
  std::ostream* stream_ = nullptr;
  std::FILE* file_ = nullptr;
};

}  // namespace pipeline::inline v0

#ifdef PIPELINE_HEADER_ONLY
#include "pipeline/alert/structured_log_sink-inl.hpp"
#endif
