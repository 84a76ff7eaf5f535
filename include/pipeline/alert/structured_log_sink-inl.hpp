#pragma once
/// @file
/// Bodies of pipeline/alert/structured_log_sink.hpp (see pipeline/core/config.hpp).

#include "pipeline/alert/structured_log_sink.hpp"

#include <ostream>
#include <string>

#include <nlohmann/json.hpp>

#include "pipeline/alert/digest.hpp"
#include "pipeline/core/error.hpp"
#include "pipeline/core/timestamp.hpp"

namespace pipeline::inline v0 {

PIPELINE_INLINE Result<std::shared_ptr<StructuredLogSink>> StructuredLogSink::create(std::ostream& out) {
  return std::shared_ptr<StructuredLogSink>(new StructuredLogSink(out));
}

PIPELINE_INLINE Result<std::shared_ptr<StructuredLogSink>> StructuredLogSink::create(std::FILE* out) {
  if (out == nullptr) return fail(ErrorCode::kInvalidArgument, "StructuredLogSink needs a FILE* (got null)");
  return std::shared_ptr<StructuredLogSink>(new StructuredLogSink(out));
}

PIPELINE_INLINE nlohmann::json StructuredLogSink::to_json(const Alert& alert) {
  nlohmann::json j = {{"at", format_rfc3339(alert.at)},
                      {"severity", to_string(alert.severity)},
                      {"key", alert.key},
                      {"message", alert.message},
                      {"context", *alert.context}};
  if (alert.suppressed_count > 0) {
    j["suppressed_count"] = alert.suppressed_count;
    j["suppressed_since"] = format_rfc3339(alert.suppressed_since);
    j["digest"] = digest_text(alert);
  }
  return j;
}

PIPELINE_INLINE Status StructuredLogSink::send_locked(const Alert& alert) {
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

}  // namespace pipeline::inline v0
