#pragma once
/// @file
/// `StructuredLogSink`: one JSON line per alert, to a `std::ostream` or a `FILE*`.

#include <cstdio>
#include <iosfwd>
#include <memory>
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
/// @snippet alert_snippets_test.cpp structured_log_sink
class StructuredLogSink final : public BasicAlertSink<std::mutex> {
 public:
  /// A sink writing to `out`. **Errors:** none today (a failed stream is reported by
  /// each `send`); a `Result` like every component's `create`.
  [[nodiscard]] static Result<std::shared_ptr<StructuredLogSink>> create(std::ostream& out);
  /// A sink writing to `out` (`stderr`, say). **Errors:** `kInvalidArgument` when `out`
  /// is null.
  [[nodiscard]] static Result<std::shared_ptr<StructuredLogSink>> create(std::FILE* out);

  /// The JSON object written for `alert` (without the newline).
  static nlohmann::json to_json(const Alert& alert);

 protected:
  Status send_locked(const Alert& alert) override;

 private:
  explicit StructuredLogSink(std::ostream& out) : stream_(&out) {}
  explicit StructuredLogSink(std::FILE* out) : file_(out) {}

  std::ostream* stream_ = nullptr;
  std::FILE* file_ = nullptr;
};

}  // namespace pipeline::inline v0

#ifdef PIPELINE_HEADER_ONLY
#include "pipeline/alert/structured_log_sink-inl.hpp"
#endif
