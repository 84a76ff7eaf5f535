#pragma once
/// @file
/// `StoreAlertSink`: records every alert it receives as a row of the state store, so a
/// status page (or any tool) can show what was raised after the raising process ended.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "pipeline/alert/sink_base.hpp"
#include "pipeline/core/alert_sink.hpp"
#include "pipeline/core/calendar_date.hpp"
#include "pipeline/core/clock.hpp"
#include "pipeline/core/config.hpp"
#include "pipeline/core/result.hpp"
#include "pipeline/core/state_store.hpp"

namespace pipeline::inline v0 {

/// An alert as `StoreAlertSink::list` reads it back.
struct StoredAlert {
  CalendarDate date;  ///< The date the row is filed under (see `StoreAlertSink`).
  TimePoint at{};
  Severity severity = Severity::kWarning;
  std::string key;
  std::string message;
  std::uint64_t suppressed_count = 0;
};

/// Settings of `StoreAlertSink`.
struct StoreAlertSinkOptions {
  /// The most alert rows kept in the store; a send beyond it deletes the oldest rows.
  std::size_t max_alerts = 500;
};

/// Writes each alert to the row `alert/<date>/<at in ns, 20 digits>-<n, 10 digits>`,
/// whose value is the alert's `StructuredLogSink::to_json` object. `<date>` is the first
/// `YYYY-MM-DD` of the alert's key (the library's keys name the game date they are
/// about: "coverage/phase5/2025-11-18"), else the UTC date of `at`. The rows are bounded
/// (`max_alerts`, oldest deleted first, over every process writing to the store) and
/// aged with the rest of a date's state by `Retention` (the family "alert").
///
/// **Thread safety:** `send` may be called from any thread (serialized by the sink's
/// mutex; several processes may write to one store). `list` is a static read.
/// **Performance:** one transaction per alert: an insert, a count of the alert rows and,
/// past the bound, a scan and deletion of the excess. Alerts are rare (rate-limited).
/// **Errors:** `create`: `kInvalidArgument` for `max_alerts` 0. `send` returns the store's error (the manager counts a failed delivery);
/// `list` the store's, and skips rows it cannot read.
///
/// **Example:**
/// @snippet alert_snippets_test.cpp store_alert_sink
class StoreAlertSink final : public BasicAlertSink<std::mutex> {
 public:
  static constexpr std::string_view kPrefix = "alert/";

  /// `store` must outlive the sink. **Errors:** `kInvalidArgument` when `max_alerts` is 0.
  [[nodiscard]] static Result<std::shared_ptr<StoreAlertSink>> create(StateStore& store,
                                                                      StoreAlertSinkOptions options = {});

  /// The alerts filed under `date`, newest first, at most `limit`.
  static Result<std::vector<StoredAlert>> list(StateStore& store, CalendarDate date, std::size_t limit = 50);

 protected:
  Status send_locked(const Alert& alert) override;

 private:
  StoreAlertSink(StateStore& store, StoreAlertSinkOptions options) : store_(store), options_(options) {}

  StateStore& store_;
  StoreAlertSinkOptions options_;
  std::uint64_t sent_ = 0;  // tells apart two alerts of one nanosecond from this sink
};

}  // namespace pipeline::inline v0

#ifdef PIPELINE_HEADER_ONLY
#include "pipeline/alert/store_alert_sink-inl.hpp"
#endif
