#pragma once
#include "pipeline/orchestrate/completion_tracker.hpp"
#include "pipeline/orchestrate/outbox_relay.hpp"

#include <algorithm>
#include <condition_variable>
#include <iterator>
#include <map>
#include <mutex>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "pipeline/core/message_codec.hpp"
#include "pipeline/core/topics.hpp"
#include "pipeline/core/trace_context.hpp"
#include "pipeline/orchestrate/registry_store.hpp"

namespace pipeline::inline v0 {

// Shared with the timer callbacks, so a callback that starts while the tracker is being
// destroyed finds `closing` instead of a dangling tracker.
struct CompletionTracker::TimerGuard {
  std::mutex mu;
  std::condition_variable idle;
  bool closing = false;
  int running = 0;
  std::map<std::pair<CalendarDate, int>, TimerId> armed;
};

PIPELINE_INLINE CompletionTracker::CompletionTracker(Clock& clock, StateStore& store, CompletionTrackerOptions options)
    : store_(store),
      clock_(clock),
      options_(std::move(options)),
      keys_(options_.name),
      guard_(std::make_shared<TimerGuard>()) {
  expected_sorted_ = options_.expected;
  std::sort(expected_sorted_.begin(), expected_sorted_.end());
  full_run_ = options_.registry.targets_of(options_.expected);
}

PIPELINE_INLINE CompletionTracker::~CompletionTracker() {
  std::unique_lock lock(guard_->mu);
  guard_->closing = true;
  for (const auto& [key, id] : guard_->armed) clock_.cancel(id);
  guard_->armed.clear();
  guard_->idle.wait(lock, [&] { return guard_->running == 0; });
}

PIPELINE_INLINE Result<std::unique_ptr<CompletionTracker>> CompletionTracker::create(Clock& clock, StateStore& store,
                                                                                    CompletionTrackerOptions options) {
  PIPELINE_TRY(validate_options(options));
  std::unique_ptr<CompletionTracker> t(new CompletionTracker(clock, store, std::move(options)));
  const TrackerDescription desc{t->options_.name, t->options_.upstream_phase, t->options_.downstream_phase,
                                t->options_.trigger_topic, t->options_.expected};
  const std::string key = TrackerKeys::description_key(t->options_.name), value = internal::encode_description(desc);
  // The registry goes with the description, so a tool reading the store draws the graph.
  PIPELINE_TRY(store.transact([&](Transaction& tx) -> Status {
    auto cur = tx.get(key);
    if (!cur) return fail(cur.error());
    if (*cur != value) PIPELINE_TRY(tx.put(key, value));
    if (auto st = save_registry(tx, t->options_.name, t->options_.registry); !st)
      return fail(st.error().with("field", "registry"));
    return ok();
  }));
  return t;
}

PIPELINE_INLINE Result<TrackerStatus> CompletionTracker::status(CalendarDate date) const {
  return load_tracker_status(store_, options_.name, date);
}

PIPELINE_INLINE Result<std::vector<TrackerDescription>> CompletionTracker::list_trackers(StateStore& store) {
  return pipeline::list_trackers(store);
}

PIPELINE_INLINE Result<TrackerStatus> CompletionTracker::load_status(StateStore& store, std::string_view name,
                                                                     CalendarDate date) {
  return load_tracker_status(store, name, date);
}

PIPELINE_INLINE std::string CompletionTracker::trigger_id(CalendarDate date, int wave) const {
  return fmt::format("{}/{}/w{}", options_.name, date, wave);
}

PIPELINE_INLINE Result<int> CompletionTracker::decided_waves(Transaction& tx, const std::string& base) {
  auto n = tx.count(base + "decision/");
  if (!n) return fail(n.error());
  return static_cast<int>(*n);
}

PIPELINE_INLINE Status CompletionTracker::validate_options(const CompletionTrackerOptions& c) {
  if (auto st = TriggerRegistry::validate_name(c.name); !st)
    return fail(st.error().with("field", "name"));
  if (c.expected.empty())
    return fail(ErrorCode::kInvalidArgument, "tracker '{}' expects no upstream processor (expected is empty)", c.name);
  std::set<std::string_view> seen;
  for (const auto& p : c.expected) {
    if (auto st = TriggerRegistry::validate_name(p); !st) return fail(st.error().with("field", "expected"));
    if (!seen.insert(p).second)
      return fail(ErrorCode::kInvalidArgument, "tracker '{}' lists '{}' twice in expected", c.name, p);
  }
  if (auto st = TopicNaming::validate_topic_name(c.trigger_topic); !st)
    return fail(st.error().with("field", "trigger_topic"));
  if (!(c.partial_threshold > 0.0 && c.partial_threshold <= 1.0))
    return fail(ErrorCode::kInvalidArgument, "partial_threshold of tracker '{}' must be in (0, 1], got {}", c.name,
                c.partial_threshold);
  if (c.deadline && *c.deadline <= Duration::zero())
    return fail(ErrorCode::kInvalidArgument, "deadline of tracker '{}' must be positive (or unset)", c.name);
  if (c.debounce < Duration::zero())
    return fail(ErrorCode::kInvalidArgument, "debounce of tracker '{}' must not be negative", c.name);
  if (auto st = c.registry.validate(); !st) return fail(st.error().with("field", "registry"));
  if (auto stored = internal::encode_registry(c.registry); !stored) return fail(stored.error().with("field", "registry"));
  for (const auto& p : c.expected)
    if (!c.registry.contains(p))
      return fail(ErrorCode::kInvalidArgument, "expected processor '{}' of tracker '{}' is unknown to its registry", p,
                  c.name);
  if (c.registry.targets_of(c.expected).empty())
    return fail(ErrorCode::kInvalidArgument,
                "the registry of tracker '{}' maps none of its expected processors to a downstream processor", c.name);
  return ok();
}

PIPELINE_INLINE Result<RecordOutcome> CompletionTracker::record_completion(const Message& m) {
  RecordOutcome outcome;
  PIPELINE_TRY(store_.transact([&](Transaction& tx) -> Status {
    auto r = record_completion(tx, m);
    if (!r) return fail(r.error());
    outcome = std::move(*r);
    return ok();
  }));
  after_commit(outcome);
  return outcome;
}

PIPELINE_INLINE Result<RecordOutcome> CompletionTracker::record_completion(Transaction& tx, const Message& m) {
  RecordOutcome out;
  // The same checks a decoded message passed, so a message built in code cannot be
  // counted with an unset date or unsorted ids.
  PIPELINE_TRY(validate_message(m));
  PIPELINE_TRY(TriggerRegistry::validate_name(m.processor_name));
  const TimePoint now = clock_.now();
  const std::string base = keys_.date_prefix(m.partition_date);

  auto fresh = tx.insert(base + "exec/" + m.execution_id, m.processor_name);
  if (!fresh) return fail(fresh.error());
  if (!*fresh) {
    out.kind = RecordKind::kDuplicate;
    return out;
  }
  auto decided = decided_waves(tx, base);
  if (!decided) return fail(decided.error());
  const int wave = *decided;
  out.wave = wave;
  const bool expected = std::binary_search(expected_sorted_.begin(), expected_sorted_.end(), m.processor_name);
  const ChangedEntities changes = effective_changes(m);
  const std::string wbase = TrackerKeys::wave_prefix(base, wave);

  if (!expected) {
    out.kind = RecordKind::kUnexpected;
    PIPELINE_TRY(merge_record(tx, wbase + "unexpected/" + m.processor_name, m, changes, now));
    return out;
  }
  const bool has_changes = !changes || !changes->empty();
  if (wave > 0 && !has_changes) {
    out.kind = RecordKind::kNoChange;
    PIPELINE_TRY(merge_record(tx, base + "late/" + m.processor_name, m, changes, now));
    return out;
  }

  out.kind = RecordKind::kCounted;
  auto fresh_done = merge_record(tx, wbase + "done/" + m.processor_name, m, changes, now);
  if (!fresh_done) return fail(fresh_done.error());
  // Wave 0 counts its done rows anyway; counted first, they also say whether the wave's
  // `first` row can be missing (it is written with the wave's first done row, in the same
  // transaction), which saves a statement on every completion but the first.
  std::size_t done = 0;
  bool may_be_first = true;
  if (wave == 0) {
    auto n = tx.count(wbase + "done/");
    if (!n) return fail(n.error());
    done = *n;
    may_be_first = done == 1 && *fresh_done;
  }
  std::optional<TimePoint> first_at;
  bool first = false;
  if (may_be_first) {
    auto inserted = tx.insert(wbase + "first", internal::encode_time(now));
    if (!inserted) return fail(inserted.error());
    first = *inserted;
  }
  if (first) {
    first_at = now;
    const Duration wait = wave == 0 ? options_.deadline.value_or(Duration::zero()) : options_.debounce;
    if (wave > 0 || options_.deadline) {
      const TimePoint due = now + wait;
      if (wait > Duration::zero()) {
        PIPELINE_TRY(tx.put(keys_.open_key(m.partition_date, wave), internal::encode_time(due)));
        out.effects.timers.emplace_back(m.partition_date, wave, due);
      }
    }
  }
  auto read_first = [&]() -> Result<TimePoint> {
    if (first_at) return *first_at;
    auto v = tx.get(wbase + "first");
    if (!v) return fail(v.error());
    if (!*v) return fail(ErrorCode::kDataLoss, "row {}first vanished", wbase);
    return internal::decode_time(**v);
  };

  if (wave == 0) {
    // Counted (above), not scanned: most completions only need to know how many are
    // done, and copying every done row on each one would make a date O(expected^2).
    if (done >= options_.expected.size()) {
      PIPELINE_TRY(decide(tx, m.partition_date, 0, "complete", now, {}, out));
    } else if (options_.deadline && reaches_threshold(done)) {
      auto f = read_first();
      if (!f) return fail(f.error());
      if (now >= *f + *options_.deadline) PIPELINE_TRY(decide(tx, m.partition_date, 0, "deadline", now, {}, out));
    }
  } else {
    auto f = read_first();
    if (!f) return fail(f.error());
    if (now >= *f + options_.debounce) PIPELINE_TRY(decide(tx, m.partition_date, wave, "debounce", now, {}, out));
  }
  return out;
}

PIPELINE_INLINE void CompletionTracker::after_commit(const RecordOutcome& outcome) {
  if (options_.relay != nullptr && !outcome.triggered.empty()) options_.relay->notify();
  for (const auto& [date, wave, due] : outcome.effects.timers) arm(date, wave, due);
  if (options_.alerts)
    for (const auto& [severity, key, message, context] : outcome.effects.alerts)
      options_.alerts->raise(severity, key, message, context);
}

PIPELINE_INLINE Result<RecordOutcome> CompletionTracker::check_wave(CalendarDate date, int wave) {
  RecordOutcome outcome;
  outcome.wave = wave;
  PIPELINE_TRY(store_.transact([&](Transaction& tx) -> Status {
    outcome = RecordOutcome{};
    outcome.wave = wave;
    return check_wave(tx, date, wave, outcome);
  }));
  after_commit(outcome);
  return outcome;
}

PIPELINE_INLINE Result<std::vector<std::string>> CompletionTracker::check_deadlines() {
  auto rows = store_.scan(keys_.open_prefix());
  if (!rows) return fail(rows.error());
  std::vector<std::string> decided;
  const TimePoint now = clock_.now();
  for (const auto& row : *rows) {
    auto parsed = keys_.parse_open_key(row.key);
    auto due = internal::decode_time(row.value);
    if (!parsed || !due) continue;  // foreign or damaged row: ignore, never crash
    const auto [date, wave] = *parsed;
    if (*due > now) {
      arm(date, wave, *due);
      continue;
    }
    auto r = check_wave(date, wave);
    if (!r) return fail(r.error());
    decided.insert(decided.end(), r->triggered.begin(), r->triggered.end());
  }
  return decided;
}

PIPELINE_INLINE ChangedEntities CompletionTracker::effective_changes(const Message& m) {
  if (m.status == CompletionStatus::kFailed || m.status == CompletionStatus::kNoData) return EntityChanges{};
  if (!m.entities_changed) return std::nullopt;
  return m.entities_changed;  // validate_message has checked they are normalized
}

PIPELINE_INLINE bool CompletionTracker::reaches_threshold(std::size_t done) const {
  return static_cast<double>(done) >= options_.partial_threshold * static_cast<double>(options_.expected.size()) - 1e-9;
}

PIPELINE_INLINE Result<bool> CompletionTracker::merge_record(Transaction& tx, const std::string& key, const Message& m, const ChangedEntities& changes,
                           TimePoint now) {
  // The common case is encoded straight from the message (no intermediate record).
  const std::string& correlation = m.correlation_id.empty() ? m.execution_id : m.correlation_id;
  std::string fresh;
  fresh.reserve(128 + m.traceparent.size() + m.execution_id.size() + correlation.size());
  internal::put_record_head(fresh, m.status, now, now, m.traceparent, 1);
  internal::put_execution(fresh, m.execution_id, correlation);
  internal::put_changes(fresh, changes);
  auto inserted = tx.insert(key, fresh);
  if (!inserted) return fail(inserted.error());
  if (*inserted) return true;

  const TraceLink execution{m.execution_id, correlation};

  auto cur = tx.get(key);
  if (!cur) return fail(cur.error());
  if (!*cur) return fail(ErrorCode::kInternal, "row {} vanished inside a transaction", key);
  auto old = internal::decode_record(**cur);
  if (!old) return fail(old.error().with("key", key));
  internal::WaveRecord merged = std::move(*old);
  merged.status = m.status;  // the latest run of the processor decides its state
  if (std::find(merged.executions.begin(), merged.executions.end(), execution) == merged.executions.end())
    merged.executions.push_back(execution);
  if (merged.traceparent.empty()) merged.traceparent = m.traceparent;
  merge_into(merged.changes, changes);
  merged.last_at = now;
  PIPELINE_TRY(tx.put(key, internal::encode_record(merged)));
  return false;
}

PIPELINE_INLINE Status CompletionTracker::check_wave(Transaction& tx, CalendarDate date, int wave, RecordOutcome& out) {
  const std::string base = keys_.date_prefix(date);
  auto decided = decided_waves(tx, base);
  if (!decided) return fail(decided.error());
  if (*decided > wave) return tx.erase(keys_.open_key(date, wave)).map([](bool) {});
  if (*decided < wave) return ok();  // cannot happen: waves open in order
  const std::string wbase = TrackerKeys::wave_prefix(base, wave);
  auto first = tx.get(wbase + "first");
  if (!first) return fail(first.error());
  if (!*first) return ok();
  auto f = internal::decode_time(**first);
  if (!f) return fail(f.error());
  const TimePoint now = clock_.now();
  if (wave > 0) {
    if (now >= *f + options_.debounce) return decide(tx, date, wave, "debounce", now, {}, out);
    out.effects.timers.emplace_back(date, wave, *f + options_.debounce);
    return ok();
  }
  if (!options_.deadline) return ok();
  if (now < *f + *options_.deadline) {
    out.effects.timers.emplace_back(date, wave, *f + *options_.deadline);
    return ok();
  }
  auto done = tx.scan(wbase + "done/");
  if (!done) return fail(done.error());
  const std::size_t n = done->size();
  if (n >= options_.expected.size()) return decide(tx, date, 0, "complete", now, std::move(*done), out);
  if (reaches_threshold(n)) return decide(tx, date, 0, "deadline", now, std::move(*done), out);
  auto alerted = tx.insert(wbase + "alerted", internal::encode_time(now));
  if (!alerted) return fail(alerted.error());
  if (*alerted) {
    std::vector<std::string> have, missing;
    for (const auto& row : *done) have.push_back(row.key.substr(wbase.size() + 5));
    std::set_difference(expected_sorted_.begin(), expected_sorted_.end(), have.begin(), have.end(),
                        std::back_inserter(missing));
    out.effects.alerts.emplace_back(
        Severity::kError, fmt::format("tracker/{}/{}/below_threshold", options_.name, date),
        fmt::format("{} for {}: only {} of {} upstream processors done at the deadline (threshold {:.0f}%); "
                    "not triggered; missing: {}",
                    options_.name, date, n, options_.expected.size(), options_.partial_threshold * 100,
                    fmt::join(missing, ", ")),
        nlohmann::json{{"tracker", options_.name}, {"date", date.to_string()}, {"done", n},
                       {"expected", options_.expected.size()}, {"missing", missing}});
  }
  return ok();
}

PIPELINE_INLINE Status CompletionTracker::decide(Transaction& tx, CalendarDate date, int wave, std::string_view reason, TimePoint now,
              std::optional<std::vector<Row>> done_rows, RecordOutcome& out) {
  const std::string base = keys_.date_prefix(date), wbase = TrackerKeys::wave_prefix(base, wave);
  const std::string id = trigger_id(date, wave);
  if (!done_rows) {
    auto scanned = tx.scan(wbase + "done/");
    if (!scanned) return fail(scanned.error());
    done_rows = std::move(*scanned);
  }

  std::vector<std::pair<std::string, internal::WaveRecord>> records;
  for (const auto& row : *done_rows) {
    auto r = internal::decode_record(row.value);
    if (!r) return fail(r.error().with("key", row.key));
    records.emplace_back(row.key.substr(wbase.size() + 5), std::move(*r));
  }
  std::vector<std::string> succeeded, partial, no_data, failed, processors, missing;
  ChangedEntities changes = EntityChanges{};
  std::vector<TraceLink> links;
  const internal::WaveRecord* earliest = nullptr;
  const internal::WaveRecord* traced = nullptr;
  for (auto& [p, r] : records) {
    processors.push_back(p);
    switch (r.status) {
      case CompletionStatus::kSuccess: succeeded.push_back(p); break;
      case CompletionStatus::kPartial: partial.push_back(p); break;
      case CompletionStatus::kNoData: no_data.push_back(p); break;
      case CompletionStatus::kFailed: failed.push_back(p); break;
    }
    // The union of changes: gathered here, sorted and deduplicated once below
    // (merging record by record would copy the growing union each time).
    if (changes && !r.changes)
      changes.reset();
    else if (changes)
      for (auto& [kind, ids] : *r.changes) {
        auto& dst = (*changes)[kind];
        dst.insert(dst.end(), std::make_move_iterator(ids.begin()), std::make_move_iterator(ids.end()));
      }
    links.insert(links.end(), r.executions.begin(), r.executions.end());
    if (!earliest || r.first_at < earliest->first_at) earliest = &r;
    if (!r.traceparent.empty() && (!traced || r.first_at < traced->first_at) && TraceContext::parse(r.traceparent))
      traced = &r;  // parsed only when it would win
  }
  if (wave == 0)
    std::set_difference(expected_sorted_.begin(), expected_sorted_.end(), processors.begin(), processors.end(),
                        std::back_inserter(missing));
  if (changes) normalize(*changes);
  std::sort(links.begin(), links.end());
  links.erase(std::unique(links.begin(), links.end()), links.end());
  const std::vector<std::string> run = wave == 0 ? full_run_ : options_.registry.targets_of(processors);
  const bool partial_readiness = wave == 0 && !missing.empty();
  const bool degraded = !missing.empty() || !failed.empty() || !partial.empty();
  // When every upstream run found nothing to do (a date without games), the downstream
  // has nothing to do either, and is told so.
  const CompletionStatus status = degraded ? CompletionStatus::kPartial
                                  : succeeded.empty() && !no_data.empty() ? CompletionStatus::kNoData
                                  : CompletionStatus::kSuccess;

  const std::string decision = internal::encode_decision(now, partial_readiness, processors, reason, run, status, id);
  const std::string decision_key = TrackerKeys::decision_key(base, wave);
  auto inserted = tx.insert(decision_key, decision);
  if (!inserted) return fail(inserted.error());
  if (!*inserted) return ok();

  Message t;
  t.processor_name = options_.name;
  t.phase = options_.downstream_phase.empty() ? options_.name : options_.downstream_phase;
  t.execution_id = id;
  t.correlation_id = earliest && !earliest->executions.empty() ? earliest->executions.front().correlation_id : id;
  t.trace_links = std::move(links);
  if (traced) {
    t.traceparent = TraceContext::parse(traced->traceparent)->child().to_string();
  } else {
    t.traceparent = TraceContext::create().to_string();
  }
  t.partition_date = date;
  t.status = status;
  t.record_count = static_cast<std::int64_t>(processors.size());
  t.is_incremental = changes.has_value();
  t.entities_changed = std::move(changes);
  t.metadata = nlohmann::json{{"tracker", options_.name},
                              {"upstream_phase", options_.upstream_phase},
                              {"wave", wave},
                              {"trigger_id", id},
                              {"reason", reason},
                              {"run_processors", run},
                              {"succeeded", succeeded},
                              {"partial", partial},
                              {"no_data", no_data},
                              {"failed", failed},
                              {"missing", missing},
                              {"partial_readiness", partial_readiness}};
  OutboxMessage entry{options_.trigger_topic, OutgoingMessage{id, encode_message(t), {}}};
  entry.message.attributes.emplace(std::string(attributes::kTraceparent), t.traceparent);
  auto enq = tx.enqueue(std::move(entry));
  if (!enq) return fail(enq.error());
  auto erased = tx.erase(keys_.open_key(date, wave));
  if (!erased) return fail(erased.error());
  out.triggered.push_back(id);

  if (partial_readiness || !failed.empty()) {
    out.effects.alerts.emplace_back(
        Severity::kWarning, fmt::format("tracker/{}/{}/partial", options_.name, date),
        partial_readiness
            ? fmt::format("{} for {} triggered with partial readiness at the deadline: {} of {} done; missing: {}{}",
                          options_.name, date, processors.size(), options_.expected.size(), fmt::join(missing, ", "),
                          failed.empty() ? std::string() : fmt::format("; failed: {}", fmt::join(failed, ", ")))
            : fmt::format("{} for {} triggered with failed upstream processors: {}", options_.name, date,
                          fmt::join(failed, ", ")),
        nlohmann::json{{"tracker", options_.name}, {"date", date.to_string()}, {"trigger_id", id},
                       {"missing", missing}, {"failed", failed}});
  }
  return ok();
}

PIPELINE_INLINE void CompletionTracker::arm(CalendarDate date, int wave, TimePoint due) {
  std::lock_guard lock(guard_->mu);
  if (guard_->closing || guard_->armed.count({date, wave})) return;
  std::weak_ptr<TimerGuard> weak = guard_;
  const TimerId id = clock_.schedule_at(due, [this, weak, date, wave] {
    auto g = weak.lock();
    if (!g) return;
    {
      std::lock_guard l(g->mu);
      if (g->closing) return;
      g->armed.erase({date, wave});
      ++g->running;
    }
    // Errors (store down) leave the open row; check_deadlines() finds it later.
    discard_result(check_wave(date, wave));
    {
      std::lock_guard l(g->mu);
      --g->running;
    }
    g->idle.notify_all();
  });
  guard_->armed[{date, wave}] = id;
}

}  // namespace pipeline::inline v0
