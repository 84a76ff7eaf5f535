#pragma once
/// @file
/// `StructuredLogSink`: one JSON line per alert, to a `std::ostream` or a `FILE*`.

#include <cstdio>
#include <mutex>
#include <ostream>
#include <string>

#include <nlohmann/json.hpp>

#include "pipeline/alert/digest.hpp"
#include "pipeline/alert/sink_base.hpp"
#include "pipeline/core/alert_sink.hpp"
#include "pipeline/core/error.hpp"
#include "pipeline/core/result.hpp"
#include "pipeline/core/timestamp.hpp"

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
///   pipeline::AlertManager alerts(clock, {log});
/// @endcode
class StructuredLogSink final : public BasicAlertSink<std::mutex> {
 public:
  explicit StructuredLogSink(std::ostream& out) : stream_(&out) {}
  explicit StructuredLogSink(std::FILE* out) : file_(out) {}

  /// The JSON object written for `alert` (without the newline).
  static nlohmann::json to_json(const Alert& alert) {
    nlohmann::json j = {{"at", format_rfc3339(alert.at)},
                        {"severity", to_string(alert.severity)},
                        {"key", alert.key},
                        {"message", alert.message},
                        {"context", alert.context}};
    if (alert.suppressed_count > 0) {
      j["suppressed_count"] = alert.suppressed_count;
      j["suppressed_since"] = format_rfc3339(alert.suppressed_since);
      j["digest"] = digest_text(alert);
    }
    return j;
  }

 protected:
  Status send_locked(const Alert& alert) override {
    std::string line = to_json(alert).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    line += '\n';
    if (stream_ != nullptr) {
      if (!*stream_) return fail(ErrorCode::kUnavailable, "the alert log stream is in a failed state");
      stream_->write(line.data(), static_cast<std::streamsize>(line.size()));
      stream_->flush();
      if (!*stream_) return fail(ErrorCode::kUnavailable, "writing an alert to the log stream failed");
      return ok();
    }
    if (file_ == nullptr) return fail(ErrorCode::kUnavailable, "the alert log sink has no file");
    if (std::fwrite(line.data(), 1, line.size(), file_) != line.size() || std::fflush(file_) != 0)
      return fail(ErrorCode::kUnavailable, "writing an alert to the log file failed");
    return ok();
  }

 private:
  std::ostream* stream_ = nullptr;
  std::FILE* file_ = nullptr;
};

}  // namespace pipeline::inline v0
