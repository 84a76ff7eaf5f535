#pragma once
// The coordinator's reads: status, the 07:00 check, health, and the typed batch queries.

#include "pipeline/coordinate/batch_coordinator.hpp"

#include <set>

#include <fmt/format.h>

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

PIPELINE_INLINE Result<BatchReport> BatchCoordinator::status(CalendarDate date) {
  BatchReport r;
  r.date = date;
  auto latest = latest_batch(date);
  if (!latest) return fail(latest.error());
  auto expected = ledger_.expected(date);
  if (!expected) return fail(expected.error());
  auto predicted = ledger_.predicted(date);
  if (!predicted) return fail(predicted.error());
  std::set<std::string> exp(expected->begin(), expected->end());
  r.expected = exp.size();
  for (const auto& e : exp) {
    if (predicted->count(e))
      ++r.done;
    else
      r.missing.push_back(e);
  }
  r.fully_complete = r.expected > 0 && r.missing.empty();
  r.partially_complete = r.done > 0 && !r.missing.empty();
  r.completion_rate = r.expected == 0 ? 0.0 : static_cast<double>(r.done) / static_cast<double>(r.expected);
  auto phase4 = phase4_completed_at(date);
  if (!phase4) return fail(phase4.error());
  r.phase4_completed_at = *phase4;
  if (*latest) {
    const auto& rec = (*latest)->second;
    r.batch_id = rec.batch_id;
    r.batch_number = rec.number;
    r.state = rec.state;
    r.triggered_by = rec.triggered_by;
    r.attempts = rec.attempts;
    r.version = rec.version;
    r.message = rec.message;
    if (rec.started_ns) r.started_at = internal::from_ns(rec.started_ns);
    if (rec.completed_ns) r.completed_at = internal::from_ns(rec.completed_ns);
    if (r.completed_at && r.phase4_completed_at)
      r.phase4_to_phase5_latency = *r.completed_at - *r.phase4_completed_at;
    auto incs = store_.scan(fmt::format("{}/incremental/{}/", options_.key_prefix, date));
    if (!incs) return fail(incs.error());
    r.incremental_count = incs->size();
  }
  if (r.message.empty())
    r.message = fmt::format("{}: {} of {} predicted ({:.1f}%)", date, r.done, r.expected, 100.0 * r.completion_rate);
  return r;
}

PIPELINE_INLINE Result<StatusCheckResult> BatchCoordinator::status_check(CalendarDate date) {
  auto report = status(date);
  if (!report) return fail(report.error());
  StatusCheckResult out{std::move(*report), false, false};
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
