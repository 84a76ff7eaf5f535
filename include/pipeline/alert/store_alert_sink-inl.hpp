#pragma once
/// @file
/// Bodies of pipeline/alert/store_alert_sink.hpp (see pipeline/core/config.hpp).

#include "pipeline/alert/store_alert_sink.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "pipeline/alert/structured_log_sink.hpp"
#include "pipeline/core/timestamp.hpp"

namespace pipeline::inline v0 {

namespace internal {
/// The first `YYYY-MM-DD` in `text` that is a calendar date.
inline std::optional<CalendarDate> alert_date_in(std::string_view text) {
  auto digit = [&](std::size_t i) { return std::isdigit(static_cast<unsigned char>(text[i])) != 0; };
  for (std::size_t i = 0; i + 10 <= text.size(); ++i) {
    if (!(digit(i) && digit(i + 1) && digit(i + 2) && digit(i + 3) && text[i + 4] == '-' && digit(i + 5) &&
          digit(i + 6) && text[i + 7] == '-' && digit(i + 8) && digit(i + 9)))
      continue;
    if (auto d = CalendarDate::parse(text.substr(i, 10))) return *d;
  }
  return std::nullopt;
}
}  // namespace internal

PIPELINE_INLINE Result<std::shared_ptr<StoreAlertSink>> StoreAlertSink::create(StateStore& store,
                                                                              StoreAlertSinkOptions options) {
  if (options.max_alerts == 0) return fail(ErrorCode::kInvalidArgument, "StoreAlertSink needs max_alerts of at least 1");
  return std::shared_ptr<StoreAlertSink>(new StoreAlertSink(store, options));
}

PIPELINE_INLINE Status StoreAlertSink::send_locked(const Alert& alert) {
  const auto date = internal::alert_date_in(alert.key).value_or(
      CalendarDate(std::chrono::floor<std::chrono::days>(alert.at)));
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(alert.at.time_since_epoch()).count();
  const std::string key =
      fmt::format("{}{}/{:020}-{:010}", kPrefix, date.to_string(), std::max<std::int64_t>(ns, 0), sent_++);
  const std::string value =
      StructuredLogSink::to_json(alert).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  const std::size_t max_alerts = options_.max_alerts;
  return store_.transact([&](Transaction& tx) -> Status {
    PIPELINE_TRY(tx.put(key, value));
    auto n = tx.count(kPrefix);
    if (!n) return fail(n.error());
    if (*n <= max_alerts) return ok();
    auto oldest = tx.scan(kPrefix, {.limit = *n - max_alerts, .start_after = {}});
    if (!oldest) return fail(oldest.error());
    for (const auto& row : *oldest) {
      auto erased = tx.erase(row.key);
      if (!erased) return fail(erased.error());
    }
    return ok();
  });
}

PIPELINE_INLINE Result<std::vector<StoredAlert>> StoreAlertSink::list(StateStore& store, CalendarDate date,
                                                                      std::size_t limit) {
  auto rows = store.scan(std::string(kPrefix) + date.to_string() + "/");
  if (!rows) return fail(rows.error());
  std::vector<StoredAlert> out;
  for (auto it = rows->rbegin(); it != rows->rend() && out.size() < limit; ++it) {
    auto j = nlohmann::json::parse(it->value, nullptr, false);
    if (!j.is_object()) continue;
    StoredAlert a;
    a.date = date;
    auto at = parse_rfc3339(j.value("at", std::string()));
    if (!at) continue;
    a.at = *at;
    const std::string severity = j.value("severity", std::string());
    a.severity = enum_from_name<Severity>(severity).value_or(Severity::kWarning);
    a.key = j.value("key", std::string());
    a.message = j.value("message", std::string());
    a.suppressed_count = j.value("suppressed_count", std::uint64_t{0});
    out.push_back(std::move(a));
  }
  return out;
}

}  // namespace pipeline::inline v0
