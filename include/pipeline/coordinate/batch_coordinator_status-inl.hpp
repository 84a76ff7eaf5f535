#pragma once
// The coordinator's reads: status, the 07:00 check, health, and the typed batch queries.

#include "pipeline/coordinate/batch_coordinator.hpp"

#include <charconv>
#include <set>
#include <string_view>
#include <system_error>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "pipeline/core/timestamp.hpp"

namespace pipeline::inline v0 {

PIPELINE_INLINE Result<std::vector<BatchInfo>> BatchCoordinator::batches(CalendarDate date) {
  auto rows = store_.scan(batch_prefix(date));
  if (!rows) return fail(rows.error());
  std::vector<BatchInfo> out;
  out.reserve(rows->size());
  for (const auto& row : *rows) {
    auto rec = internal::BatchRecord::decode(row.value);
    if (!rec) return fail(rec.error().with("key", row.key));
    BatchInfo b;
    b.batch_id = std::move(rec->batch_id);
    b.number = rec->number;
    b.state = rec->state;
    b.triggered_by = rec->triggered_by;
    b.attempts = rec->attempts;
    b.version = rec->version;
    b.expected = rec->expected;
    b.created_at = internal::from_ns(rec->created_ns);
    if (rec->started_ns) b.started_at = internal::from_ns(rec->started_ns);
    if (rec->completed_ns) b.completed_at = internal::from_ns(rec->completed_ns);
    b.message = std::move(rec->message);
    out.push_back(std::move(b));
  }
  return out;
}

PIPELINE_INLINE Result<std::vector<IncrementalInfo>> BatchCoordinator::incrementals(CalendarDate date) {
  auto rows = store_.scan(fmt::format("{}/incremental/{}/", options_.key_prefix, date));
  if (!rows) return fail(rows.error());
  std::vector<IncrementalInfo> out;
  out.reserve(rows->size());
  for (const auto& row : *rows) {
    auto rec = internal::IncrementalRecord::decode(row.value);
    if (!rec) return fail(rec.error().with("key", row.key));
    out.push_back({std::move(rec->batch_id), rec->number, rec->version, std::move(rec->entities), rec->state,
                   rec->triggered_by});
  }
  return out;
}

namespace internal {

/// The rates and the default message from `expected`, `done` and `missing`.
inline void finish_report(BatchReport& r) {
  r.fully_complete = r.expected > 0 && r.done == r.expected;
  r.partially_complete = r.done > 0 && r.done < r.expected;
  r.completion_rate = r.expected == 0 ? 0.0 : static_cast<double>(r.done) / static_cast<double>(r.expected);
  if (r.message.empty())
    r.message = fmt::format("{}: {} of {} predicted ({:.1f}%)", r.date, r.done, r.expected, 100.0 * r.completion_rate);
}

}  // namespace internal

PIPELINE_INLINE Result<BatchReport> BatchCoordinator::load_report(StateStore& store, std::string_view key_prefix,
                                                                  CalendarDate date) {
  auto r = read_rows(store, key_prefix, date);
  if (!r) return fail(r.error());
  internal::finish_report(*r);
  return r;
}

PIPELINE_INLINE Result<BatchReport> BatchCoordinator::read_rows(StateStore& store, std::string_view key_prefix,
                                                               CalendarDate date) {
  BatchReport r;
  r.date = date;
  r.counted_from = "batch";
  auto latest = store.read([&](Transaction& tx) { return latest_in(tx, fmt::format("{}/batch/{}/", key_prefix, date)); });
  if (!latest) return fail(latest.error());
  auto phase4 = store.get(fmt::format("{}/phase4/{}", key_prefix, date));
  if (!phase4) return fail(phase4.error());
  if (*phase4) {
    std::int64_t ns = 0;
    const auto [end, ec] = std::from_chars((*phase4)->data(), (*phase4)->data() + (*phase4)->size(), ns);
    if (ec != std::errc() || end != (*phase4)->data() + (*phase4)->size())
      return fail(ErrorCode::kDataLoss, "phase4 completion row for {} is not a number", date);
    r.phase4_completed_at = internal::from_ns(ns);
  }
  if (*latest) {
    const auto& rec = (*latest)->second;
    r.batch_id = rec.batch_id;
    r.batch_number = rec.number;
    r.state = rec.state;
    r.triggered_by = rec.triggered_by;
    r.attempts = rec.attempts;
    r.version = rec.version;
    r.message = rec.message;
    r.expected = rec.expected;
    if (rec.state == BatchState::kComplete) r.done = rec.expected;
    if (rec.started_ns) r.started_at = internal::from_ns(rec.started_ns);
    if (rec.completed_ns) r.completed_at = internal::from_ns(rec.completed_ns);
    if (r.completed_at && r.phase4_completed_at)
      r.phase4_to_phase5_latency = *r.completed_at - *r.phase4_completed_at;
    auto incs = store.read([&](Transaction& tx) { return tx.count(fmt::format("{}/incremental/{}/", key_prefix, date)); });
    if (!incs) return fail(incs.error());
    r.incremental_count = *incs;
  }
  // The last 07:00 check counted against the ledger; a complete batch counts as all done.
  auto check = store.get(fmt::format("{}/coverage/{}", key_prefix, date));
  if (!check) return fail(check.error());
  if (*check && r.state != BatchState::kComplete) {
    const auto j = nlohmann::json::parse(**check, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("expected") || !j.contains("done"))
      return fail(ErrorCode::kDataLoss, "status check row for {} is not a status check", date);
    try {
      r.expected = j.at("expected").get<std::size_t>();
      r.done = j.at("done").get<std::size_t>();
      r.missing = j.value("missing", std::vector<std::string>{});
      if (auto at = parse_rfc3339(j.value("checked_at", ""))) r.counted_at = *at;
    } catch (const nlohmann::json::exception& e) {
      return fail(ErrorCode::kDataLoss, "status check row for {}: {}", date, e.what());
    }
    r.counted_from = "status_check";
  }
  return r;
}

PIPELINE_INLINE Result<BatchReport> BatchCoordinator::status(CalendarDate date) {
  auto r = read_rows(store_, options_.key_prefix, date);
  if (!r) return fail(r.error());
  auto expected = ledger_.expected(date);
  if (!expected) return fail(expected.error());
  auto predicted = ledger_.predicted(date);
  if (!predicted) return fail(predicted.error());
  std::set<std::string> exp(expected->begin(), expected->end());
  r->counted_from = "ledger";
  r->counted_at.reset();
  r->expected = exp.size();
  r->done = 0;
  r->missing.clear();
  for (const auto& e : exp) {
    if (predicted->count(e))
      ++r->done;
    else
      r->missing.push_back(e);
  }
  internal::finish_report(*r);
  return r;
}

PIPELINE_INLINE Result<StatusCheckResult> BatchCoordinator::status_check(CalendarDate date) {
  auto report = status(date);
  if (!report) return fail(report.error());
  StatusCheckResult out{std::move(*report), false, false};
  // Kept for tools that read the store alone (`load_report`).
  const nlohmann::json row{{"checked_at", format_rfc3339(clock_.now())},
                           {"expected", out.report.expected},
                           {"done", out.report.done},
                           {"missing", out.report.missing}};
  PIPELINE_TRY(store_.transact([&](Transaction& tx) {
    return tx.put(fmt::format("{}/coverage/{}", options_.key_prefix, date), row.dump());
  }));
  // No expected entity (a date without games) is nothing missing, not zero coverage.
  record_coverage(out.report.expected == 0 ? 1.0 : out.report.completion_rate);
  const std::string scope = fmt::format("{}/{}", options_.key_prefix, date);
  out.missing_alerted = options_.coverage.alert_if_missing(alerts_, scope, out.report.expected, out.report.done);
  out.alerted = options_.coverage.alert_if_low_coverage(alerts_, scope, out.report.expected, out.report.done);
  return out;
}

PIPELINE_INLINE Result<CoordinatorHealth> BatchCoordinator::health() {
  CoordinatorHealth h;
  auto rows = store_.scan(options_.key_prefix + "/batch/");
  if (!rows) return fail(rows.error());
  for (const auto& row : *rows) {
    auto rec = internal::BatchRecord::decode(row.value);
    if (!rec) continue;
    if (rec->state == BatchState::kWaiting) ++h.batches_waiting;
    if (rec->state == BatchState::kRunning) ++h.batches_running;
  }
  auto pending = store_.pending_outbox();
  if (!pending) return fail(pending.error());
  h.outbox_pending = *pending;
  std::lock_guard lock(mu_);
  h.last_error = last_error_;
  return h;
}

}  // namespace pipeline::inline v0
