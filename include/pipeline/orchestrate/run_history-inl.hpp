#pragma once
/// @file
/// Bodies of pipeline/orchestrate/run_history.hpp (see pipeline/core/config.hpp).

#include "pipeline/orchestrate/run_history.hpp"

#include <exception>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "pipeline/core/timestamp.hpp"

namespace pipeline::inline v0 {

PIPELINE_INLINE Status RunHistoryOptions::validate() const {
  if (lease <= Duration::zero()) return fail(ErrorCode::kInvalidArgument, "RunHistoryOptions::lease must be positive");
  return ok();
}

PIPELINE_INLINE Result<RunHistory> RunHistory::create(Clock& clock, StateStore& store, RunHistoryOptions options) {
  PIPELINE_TRY(options.validate());
  return RunHistory(clock, store, options);
}

PIPELINE_INLINE std::string RunHistory::key_of(const RunKey& key) {
  return fmt::format("run_history/{}/{}/w{}", key.date.to_string(), key.processor, key.wave);
}

PIPELINE_INLINE Result<std::optional<RunRecord>> RunHistory::get(Transaction& tx, const RunKey& key) const {
  PIPELINE_TRY(check(key));
  auto raw = tx.get(key_of(key));
  if (!raw) return fail(raw.error());
  if (!raw->has_value()) return std::optional<RunRecord>();
  auto rec = decode(key, **raw);
  if (!rec) return fail(rec.error());
  return std::optional<RunRecord>(std::move(*rec));
}

PIPELINE_INLINE Result<std::optional<RunRecord>> RunHistory::get(const RunKey& key) {
  return store_.read([&](Transaction& tx) { return get(tx, key); });
}

PIPELINE_INLINE Result<std::vector<RunRecord>> RunHistory::list(CalendarDate date) {
  const std::string prefix = fmt::format("run_history/{}/", date.to_string());
  auto rows = store_.scan(prefix);
  if (!rows) return fail(rows.error());
  std::vector<RunRecord> out;
  for (const auto& row : *rows) {
    const std::string_view rest = std::string_view(row.key).substr(prefix.size());
    const auto slash = rest.rfind("/w");
    if (slash == std::string_view::npos) continue;
    RunKey key{std::string(rest.substr(0, slash)), date, 0};
    try {
      key.wave = std::stoi(std::string(rest.substr(slash + 2)));
    } catch (const std::exception&) {
      continue;
    }
    auto rec = decode(key, row.value);
    if (!rec) return fail(rec.error());
    out.push_back(std::move(*rec));
  }
  return out;
}

PIPELINE_INLINE Result<bool> RunHistory::should_run(const RunKey& key, Duration skip_if_success_within, bool force) {
  auto rec = get(key);
  if (!rec) return fail(rec.error());
  return decide(*rec, skip_if_success_within, force, clock_.now()) == StartDecision::kStarted;
}

PIPELINE_INLINE Result<StartOutcome> RunHistory::try_start(Transaction& tx, const RunKey& key, std::string_view owner,
                                                           Duration skip_if_success_within, bool force) {
  auto existing = get(tx, key);
  if (!existing) return fail(existing.error());
  const TimePoint now = clock_.now();
  const StartDecision decision = decide(*existing, skip_if_success_within, force, now);
  if (decision != StartDecision::kStarted) return StartOutcome{decision, std::move(**existing)};
  RunRecord rec;
  rec.key = key;
  rec.state = RunState::kRunning;
  rec.owner = std::string(owner);
  rec.started_at = now;
  rec.lease_until = now + options_.lease;
  rec.attempts = (*existing ? (*existing)->attempts : 0) + 1;
  rec.failures_in_a_row = *existing ? (*existing)->failures_in_a_row : 0;
  PIPELINE_TRY(tx.put(key_of(key), encode(rec)));
  return StartOutcome{StartDecision::kStarted, std::move(rec)};
}

PIPELINE_INLINE Result<StartOutcome> RunHistory::try_start(const RunKey& key, std::string_view owner,
                                                           Duration skip_if_success_within, bool force) {
  std::optional<StartOutcome> out;
  auto st = store_.transact([&](Transaction& tx) -> Status {
    auto r = try_start(tx, key, owner, skip_if_success_within, force);
    if (!r) return fail(r.error());
    out = std::move(*r);
    return ok();
  });
  if (!st) return fail(st.error());
  return std::move(*out);
}

PIPELINE_INLINE Status RunHistory::renew_lease(const RunKey& key, std::string_view owner) {
  return store_.transact([&](Transaction& tx) -> Status {
    auto rec = held(tx, key, owner);
    if (!rec) return fail(rec.error());
    rec->lease_until = clock_.now() + options_.lease;
    return tx.put(key_of(key), encode(*rec));
  });
}

PIPELINE_INLINE Status RunHistory::mark_success(Transaction& tx, const RunKey& key, std::string_view owner) {
  return finish(tx, key, owner, RunState::kSuccess, {});
}

PIPELINE_INLINE Status RunHistory::mark_failure(Transaction& tx, const RunKey& key, std::string_view owner,
                                                std::string_view error) {
  return finish(tx, key, owner, RunState::kFailed, error);
}

PIPELINE_INLINE Status RunHistory::record_success(const RunKey& key, std::string_view owner) {
  return store_.transact([&](Transaction& tx) { return mark_success(tx, key, owner); });
}

PIPELINE_INLINE Status RunHistory::record_failure(const RunKey& key, std::string_view owner, std::string_view error) {
  return store_.transact([&](Transaction& tx) { return mark_failure(tx, key, owner, error); });
}

PIPELINE_INLINE Result<int> RunHistory::abandon_running(CalendarDate date, std::string_view reason) {
  auto records = list(date);
  if (!records) return fail(records.error());
  int ended = 0;
  for (const auto& r : *records) {
    if (r.state != RunState::kRunning) continue;
    // Per record, and only if it is still that owner's run: a record that moved on since
    // the list was read is left alone.
    bool still_running = false;
    PIPELINE_TRY(store_.transact([&](Transaction& tx) -> Status {
      auto now = get(tx, r.key);
      if (!now) return fail(now.error());
      still_running = *now && (*now)->state == RunState::kRunning && (*now)->owner == r.owner;
      if (!still_running) return ok();
      return finish(tx, r.key, r.owner, RunState::kFailed, fmt::format("abandoned: {}", reason));
    }));
    ended += still_running;
  }
  return ended;
}

PIPELINE_INLINE Status RunHistory::check(const RunKey& key) {
  if (key.processor.empty() || key.processor.find('/') != std::string::npos)
    return fail(ErrorCode::kInvalidArgument, "run history processor name '{}' must be non-empty and without '/'",
                key.processor);
  return validate_key(key_of(key));
}

PIPELINE_INLINE StartDecision RunHistory::decide(const std::optional<RunRecord>& rec, Duration within, bool force,
                                                 TimePoint now) const {
  if (!rec) return StartDecision::kStarted;
  if (rec->state == RunState::kRunning && rec->lease_until > now) return StartDecision::kBusy;
  if (rec->state == RunState::kSuccess && !force && rec->finished_at && *rec->finished_at + within > now)
    return StartDecision::kSkipped;
  return StartDecision::kStarted;
}

PIPELINE_INLINE Result<RunRecord> RunHistory::held(Transaction& tx, const RunKey& key, std::string_view owner) const {
  auto rec = get(tx, key);
  if (!rec) return fail(rec.error());
  if (!*rec) return fail(ErrorCode::kFailedPrecondition, "no run recorded for {}", key_of(key));
  if ((*rec)->state != RunState::kRunning || (*rec)->owner != owner)
    return fail(ErrorCode::kFailedPrecondition, "{} is {} by '{}', not running by '{}' (lease lost?)", key_of(key),
                to_string((*rec)->state), (*rec)->owner, owner);
  return std::move(**rec);
}

PIPELINE_INLINE Status RunHistory::finish(Transaction& tx, const RunKey& key, std::string_view owner, RunState state,
                                          std::string_view error) {
  auto rec = held(tx, key, owner);
  if (!rec) return fail(rec.error());
  rec->state = state;
  rec->failures_in_a_row = state == RunState::kFailed ? rec->failures_in_a_row + 1 : 0;
  rec->finished_at = clock_.now();
  rec->error = std::string(error);
  return tx.put(key_of(key), encode(*rec));
}

PIPELINE_INLINE std::string RunHistory::encode(const RunRecord& r) {
  nlohmann::json j{{"state", to_string(r.state)},
                   {"owner", r.owner},
                   {"started_at", format_rfc3339(r.started_at)},
                   {"lease_until", format_rfc3339(r.lease_until)},
                   {"attempts", r.attempts},
                   {"error", r.error},
                   {"format", kRecordFormat}};
  if (r.finished_at) j["finished_at"] = format_rfc3339(*r.finished_at);
  if (r.failures_in_a_row > 0) j["failures_in_a_row"] = r.failures_in_a_row;
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

PIPELINE_INLINE Result<RunRecord> RunHistory::decode(const RunKey& key, const std::string& text) {
  auto bad = [&](std::string_view why) {
    return fail(ErrorCode::kDataLoss, "run history row {} is unreadable: {}", key_of(key), why);
  };
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return bad("not a JSON object");
  try {
    return decode_object(key, j);
  } catch (const nlohmann::json::exception& e) {
    return bad(e.what());
  }
}

PIPELINE_INLINE Result<RunRecord> RunHistory::decode_object(const RunKey& key, const nlohmann::json& j) {
  auto bad = [&](std::string_view why) {
    return fail(ErrorCode::kDataLoss, "run history row {} is unreadable: {}", key_of(key), why);
  };
  if (const auto f = j.find("format");
      f != j.end() && (!f->is_number_integer() || f->get<long long>() < 1 || f->get<long long>() > kRecordFormat))
    return bad(fmt::format("format {}, this code reads formats 1 to {}", f->dump(), kRecordFormat));
  RunRecord r;
  r.key = key;
  const std::string state = j.value("state", "");
  if (state == "running")
    r.state = RunState::kRunning;
  else if (state == "success")
    r.state = RunState::kSuccess;
  else if (state == "failed")
    r.state = RunState::kFailed;
  else
    return bad("unknown state");
  r.owner = j.value("owner", "");
  r.attempts = j.value("attempts", 0);
  r.failures_in_a_row = j.value("failures_in_a_row", 0);
  r.error = j.value("error", "");
  auto started = parse_rfc3339(j.value("started_at", ""));
  auto lease = parse_rfc3339(j.value("lease_until", ""));
  if (!started || !lease) return bad("bad timestamps");
  r.started_at = *started;
  r.lease_until = *lease;
  if (j.contains("finished_at")) {
    auto finished = parse_rfc3339(j.value("finished_at", ""));
    if (!finished) return bad("bad finished_at");
    r.finished_at = *finished;
  }
  return r;
}

}  // namespace pipeline::inline v0
