#pragma once

#include "pipeline/runtime/retention.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "pipeline/coordinate/batch_records.hpp"
#include "pipeline/orchestrate/dead_letter_recorder.hpp"
#include "pipeline/orchestrate/run_history.hpp"

namespace pipeline::inline v0 {

namespace internal {

PIPELINE_INLINE std::optional<CalendarDate> first_date_in(std::string_view text) {
  auto digit = [](char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; };
  for (std::size_t i = 0; i + 10 <= text.size(); ++i) {
    const std::string_view s = text.substr(i, 10);
    if (!(digit(s[0]) && digit(s[1]) && digit(s[2]) && digit(s[3]) && s[4] == '-' && digit(s[5]) && digit(s[6]) &&
          s[7] == '-' && digit(s[8]) && digit(s[9])))
      continue;
    if ((i > 0 && digit(text[i - 1])) || (i + 10 < text.size() && digit(text[i + 10]))) continue;
    if (auto d = CalendarDate::parse(s)) return *d;
  }
  return std::nullopt;
}

}  // namespace internal

PIPELINE_INLINE Status RetentionOptions::validate() const {
  if (older_than <= Duration::zero() || redelivery_horizon < Duration::zero() || dead_letters <= Duration::zero())
    return fail(ErrorCode::kInvalidArgument, "RetentionOptions: durations must be positive");
  if (older_than < redelivery_horizon)
    return fail(ErrorCode::kInvalidArgument,
                "RetentionOptions::older_than ({} h) is shorter than the redelivery horizon ({} h): a message "
                "still deliverable would find its dedup rows gone and run or decide again",
                std::chrono::duration_cast<std::chrono::hours>(older_than).count(),
                std::chrono::duration_cast<std::chrono::hours>(redelivery_horizon).count());
  for (const auto& p : batch_prefixes)
    if (p.empty() || p.find('/') != std::string::npos)
      return fail(ErrorCode::kInvalidArgument, "RetentionOptions::batch_prefixes: '{}' is not a key prefix", p);
  for (const auto& p : dated_prefixes)
    if (p.empty() || p.back() != '/')
      return fail(ErrorCode::kInvalidArgument, "RetentionOptions::dated_prefixes: '{}' must end in '/'", p);
  if (batch_size == 0) return fail(ErrorCode::kInvalidArgument, "RetentionOptions::batch_size must be at least 1");
  return ok();
}

PIPELINE_INLINE std::size_t RetentionReport::total() const {
  std::size_t n = outbox_deleted.value_or(0);
  for (const auto& [family, k] : deleted) n += k;
  return n;
}

PIPELINE_INLINE nlohmann::json RetentionReport::to_json() const {
  auto date = [](const std::optional<CalendarDate>& d) { return d ? nlohmann::json(d->to_string()) : nlohmann::json(); };
  return nlohmann::json{{"dry_run", dry_run},
                        {"newest", date(newest)},
                        {"oldest_kept", date(oldest_kept)},
                        {"deleted", deleted},
                        {"kept_live", kept_live},
                        {"outbox_deleted", outbox_deleted ? nlohmann::json(*outbox_deleted) : nlohmann::json()},
                        {"total", total()}};
}

PIPELINE_INLINE Result<std::unique_ptr<Retention>> Retention::create(Clock& clock, StateStore& store,
                                                                     RetentionOptions options) {
  PIPELINE_TRY(options.validate());
  return std::unique_ptr<Retention>(new Retention(clock, store, std::move(options)));
}

PIPELINE_INLINE Result<Duration> parse_retention_duration(std::string_view text) {
  auto bad = [&] {
    return fail(ErrorCode::kInvalidArgument, "'{}' is not a duration: use a whole number and d, h or m (3d, 72h)",
                text);
  };
  if (text.size() < 2) return bad();
  std::int64_t n = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size() - 1, n);
  if (ec != std::errc() || end != text.data() + text.size() - 1 || n <= 0 || n > 100'000) return bad();
  switch (text.back()) {
    case 'd': return Duration(std::chrono::hours(24 * n));
    case 'h': return Duration(std::chrono::hours(n));
    case 'm': return Duration(std::chrono::minutes(n));
    default: return bad();
  }
}

PIPELINE_INLINE Status Retention::erase(const std::vector<std::string>& keys) {
  for (std::size_t i = 0; i < keys.size(); i += options_.batch_size) {
    const std::size_t end = std::min(keys.size(), i + options_.batch_size);
    PIPELINE_TRY(store_.transact([&](Transaction& tx) -> Status {
      for (std::size_t k = i; k < end; ++k) {
        auto r = tx.erase(keys[k]);
        if (!r) return fail(r.error());
      }
      return ok();
    }));
  }
  return ok();
}

PIPELINE_INLINE Result<RetentionReport> Retention::run_once() {
  RetentionReport report;
  report.dry_run = options_.dry_run;

  // Every family's rows with the game date each belongs to.
  struct Dated {
    std::string key;
    CalendarDate date;
  };
  std::map<std::string, std::vector<Dated>> families;  // family -> rows
  std::optional<CalendarDate> newest;
  auto note = [&](CalendarDate d) {
    if (!newest || *newest < d) newest = d;
  };
  auto load = [&](const std::string& family, const std::string& prefix, bool counts_for_newest,
                  bool date_from_value) -> Status {
    auto rows = store_.scan(prefix);
    if (!rows) return fail(rows.error());
    auto& out = families[family];
    for (const auto& r : *rows) {
      auto d = internal::first_date_in(std::string_view(r.key).substr(prefix.size()));
      if (!d && date_from_value && r.value.size() < 512) d = internal::first_date_in(r.value);
      if (!d) continue;  // names no date: kept
      if (counts_for_newest) note(*d);
      out.push_back({r.key, *d});
    }
    return ok();
  };
  PIPELINE_TRY(load("tracker", "tracker/", true, false));
  PIPELINE_TRY(load("run_history", "run_history/", true, false));
  PIPELINE_TRY(load("process", "process/", true, false));
  PIPELINE_TRY(load("consumed", "consumed/", false, true));
  PIPELINE_TRY(load("change", "change/", false, false));
  PIPELINE_TRY(load("alert", "alert/", false, false));  // StoreAlertSink's rows
  for (const auto& p : options_.batch_prefixes) PIPELINE_TRY(load(p, p + "/", true, false));
  for (const auto& p : options_.dated_prefixes) PIPELINE_TRY(load(p.substr(0, p.size() - 1), p, false, false));
  if (!newest) return report;  // nothing dated: nothing to age

  const auto keep_days = static_cast<int>(
      (std::chrono::duration_cast<std::chrono::seconds>(options_.older_than).count() + 86'399) / 86'400);
  const CalendarDate oldest_kept = newest->plus_days(-keep_days);
  report.newest = newest;
  report.oldest_kept = oldest_kept;
  // Instants are measured from the end of the newest date, so an idle store keeps its rows.
  const TimePoint reference{newest->plus_days(1).sys_days()};

  // What is live among the old rows.
  std::set<std::pair<std::string, CalendarDate>> live_trackers;  // (tracker name, date)
  {
    std::map<std::pair<std::string, CalendarDate>, std::set<std::string>> firsts, decisions;  // waves
    for (const auto& row : families["tracker"]) {
      if (!(row.date < oldest_kept)) continue;
      const std::string_view rest = std::string_view(row.key).substr(8);  // after "tracker/"
      const auto slash = rest.find('/');
      if (slash == std::string_view::npos) continue;
      std::pair<std::string, CalendarDate> id{std::string(rest.substr(0, slash)), row.date};
      const std::string_view tail = rest.substr(slash + 1);
      if (tail.starts_with("open/")) {
        live_trackers.insert(id);  // a deadline or debounce is armed
      } else if (tail.ends_with("/first")) {
        const auto w = tail.rfind("/w");
        firsts[id].insert(std::string(tail.substr(w + 1, tail.size() - w - 7)));
      } else if (const auto d = tail.find("/decision/"); d != std::string_view::npos) {
        decisions[id].insert(std::string(tail.substr(d + 10)));
      }
    }
    for (const auto& [id, waves] : firsts)
      for (const auto& w : waves)
        if (!decisions[id].count(w)) live_trackers.insert(id);  // begun, not decided
  }
  std::set<std::string> live_runs;  // run-history keys under a lease that has not ended
  {
    auto history = RunHistory::create(clock_, store_);
    if (!history) return fail(history.error());
    std::set<CalendarDate> old_dates;
    for (const auto& row : families["run_history"])
      if (row.date < oldest_kept) old_dates.insert(row.date);
    const TimePoint now = clock_.now();
    for (const auto d : old_dates) {
      auto records = history->list(d);
      if (!records) return fail(records.error());
      for (const auto& r : *records)
        if (r.state == RunState::kRunning && r.lease_until > now) live_runs.insert(RunHistory::key_of(r.key));
    }
  }
  std::map<std::string, std::set<CalendarDate>> live_batches;  // batch prefix -> dates
  for (const auto& p : options_.batch_prefixes) {
    const std::string batch_rows = p + "/batch/";
    for (const auto& row : families[p]) {
      if (!(row.date < oldest_kept) || !row.key.starts_with(batch_rows)) continue;
      auto value = store_.get(row.key);
      if (!value) return fail(value.error());
      if (!*value) continue;
      auto rec = internal::BatchRecord::decode(**value);
      if (!rec || rec->state == BatchState::kWaiting || rec->state == BatchState::kRunning)
        live_batches[p].insert(row.date);  // an unreadable batch row is kept too
    }
  }

  for (auto& [family, rows] : families) {
    std::vector<std::string> doomed;
    std::size_t live = 0;
    for (const auto& row : rows) {
      if (!(row.date < oldest_kept)) continue;
      bool keep = false;
      if (family == "tracker") {
        const std::string_view rest = std::string_view(row.key).substr(8);
        keep = live_trackers.count({std::string(rest.substr(0, rest.find('/'))), row.date}) > 0;
      } else if (family == "run_history") {
        keep = live_runs.count(row.key) > 0;
      } else if (auto it = live_batches.find(family); it != live_batches.end()) {
        keep = it->second.count(row.date) > 0;
      }
      if (keep)
        ++live;
      else
        doomed.push_back(row.key);
    }
    if (live > 0) report.kept_live[family] = live;
    report.deleted[family] = doomed.size();
    if (!options_.dry_run) PIPELINE_TRY(erase(doomed));
  }

  // Dead letters, by when they were recorded.
  {
    auto rows = store_.scan("dlq/");
    if (!rows) return fail(rows.error());
    const TimePoint before = reference - std::max(options_.dead_letters, options_.older_than);
    std::vector<std::string> doomed;
    for (const auto& r : *rows) {
      auto rec = DeadLetterRecord::from_json(r.value);
      if (rec && rec->recorded_at < before) doomed.push_back(r.key);  // an unreadable row is kept
    }
    report.deleted["dlq"] = doomed.size();
    if (!options_.dry_run) PIPELINE_TRY(erase(doomed));
  }

  if (!options_.dry_run) {
    auto n = store_.prune_outbox(TimePoint(oldest_kept.sys_days()));
    if (!n) return fail(n.error());
    report.outbox_deleted = *n;
  }
  return report;
}

}  // namespace pipeline::inline v0
