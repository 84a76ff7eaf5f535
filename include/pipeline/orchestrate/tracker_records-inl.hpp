#pragma once
#include "pipeline/orchestrate/tracker_records.hpp"

#include <charconv>
#include <chrono>
#include <system_error>

#include <nlohmann/json.hpp>

#include "pipeline/core/json_writer.hpp"
#include "pipeline/core/message_codec.hpp"

namespace pipeline::inline v0::internal {
namespace tracker_codec {

inline char status_code(CompletionStatus s) {
  switch (s) {
    case CompletionStatus::kSuccess: return 's';
    case CompletionStatus::kPartial: return 'p';
    case CompletionStatus::kNoData: return 'n';
    case CompletionStatus::kFailed: return 'f';
  }
  return 'f';
}

inline void put_number(std::string& out, long long n) {
  char digits[24];
  auto [end, ec] = std::to_chars(digits, digits + sizeof digits, n);
  (void)ec;  // a long long always fits
  out.append(digits, end);
  out += ';';
}

inline void put_string(std::string& out, std::string_view v) {
  char digits[24];
  auto [end, ec] = std::to_chars(digits, digits + sizeof digits, v.size());
  (void)ec;
  out.append(digits, end);
  out += ':';
  out.append(v);
}

inline long long nanos(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}
inline TimePoint from_nanos(long long ns) {
  return TimePoint(std::chrono::duration_cast<Duration>(std::chrono::nanoseconds(ns)));
}
// Format 1 (before stored records carried a format) kept instants in microseconds.
inline TimePoint from_micros(long long us) {
  return TimePoint(std::chrono::duration_cast<Duration>(std::chrono::microseconds(us)));
}

// Reads what encode_record wrote.
class RecordReader {
 public:
  explicit RecordReader(std::string_view s) : s_(s) {}
  bool number(long long& n) {
    auto [p, ec] = std::from_chars(s_.data() + pos_, s_.data() + s_.size(), n);
    if (ec != std::errc() || p == s_.data() + s_.size() || *p != ';') return false;
    pos_ = static_cast<std::size_t>(p - s_.data()) + 1;
    return true;
  }
  bool count(std::size_t& n) {
    long long v = 0;
    if (!number(v) || v < 0 || static_cast<std::size_t>(v) > s_.size()) return false;
    n = static_cast<std::size_t>(v);
    return true;
  }
  bool string(std::string& out) {
    std::size_t len = 0;
    auto [p, ec] = std::from_chars(s_.data() + pos_, s_.data() + s_.size(), len);
    if (ec != std::errc() || p == s_.data() + s_.size() || *p != ':') return false;
    const std::size_t start = static_cast<std::size_t>(p - s_.data()) + 1;
    if (len > s_.size() - start) return false;
    out.assign(s_.substr(start, len));
    pos_ = start + len;
    return true;
  }
  bool byte(char& c) {
    if (pos_ >= s_.size()) return false;
    c = s_[pos_++];
    return true;
  }
  [[nodiscard]] bool at_end() const { return pos_ == s_.size(); }

 private:
  std::string_view s_;
  std::size_t pos_ = 0;
};

// A JSON row's "format" (absent: format 1); newer than this code reads is kDataLoss.
inline Status check_format(const nlohmann::json& j, std::string_view what) {
  const auto it = j.find("format");
  if (it == j.end()) return ok();
  if (!it->is_number_integer() || it->get<long long>() < 1 || it->get<long long>() > kTrackerRecordFormat)
    return fail(ErrorCode::kDataLoss, "{} has format {}, this code reads formats 1 to {}", what, it->dump(),
                kTrackerRecordFormat);
  return ok();
}

}  // namespace tracker_codec

// Instants are stored as "2;" and nanoseconds since the epoch (format 2): exact, the
// library's one stored time unit. Format 1 stored bare microseconds; both read.
PIPELINE_INLINE std::string encode_time(TimePoint t) {
  std::string out = "2;";
  out += std::to_string(tracker_codec::nanos(t));
  return out;
}

PIPELINE_INLINE Result<TimePoint> decode_time(std::string_view s) {
  const bool format2 = s.starts_with("2;");
  const std::string_view digits = format2 ? s.substr(2) : s;
  long long n = 0;
  auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  if (ec != std::errc() || p != digits.data() + digits.size() || digits.empty())
    return fail(ErrorCode::kDataLoss, "stored instant '{}' is not a tracker instant (\"2;\" and nanoseconds, or "
                "microseconds)", s.substr(0, 40));
  return format2 ? tracker_codec::from_nanos(n) : tracker_codec::from_micros(n);
}

PIPELINE_INLINE void put_record_head(std::string& out, CompletionStatus status, TimePoint first_at, TimePoint last_at,
                                     std::string_view traceparent, std::size_t executions) {
  using namespace tracker_codec;
  put_number(out, kTrackerRecordFormat);
  out += status_code(status);
  put_number(out, nanos(first_at));
  put_number(out, nanos(last_at));
  put_string(out, traceparent);
  put_number(out, static_cast<long long>(executions));
}

PIPELINE_INLINE void put_execution(std::string& out, std::string_view execution_id, std::string_view correlation_id) {
  tracker_codec::put_string(out, execution_id);
  tracker_codec::put_string(out, correlation_id);
}

PIPELINE_INLINE void put_changes(std::string& out, const ChangedEntities& changes) {
  using namespace tracker_codec;
  if (!changes) {
    out += 'F';
  } else {
    out += 'C';
    put_number(out, static_cast<long long>(changes->size()));
    for (const auto& [kind, ids] : *changes) {
      put_string(out, kind);
      put_number(out, static_cast<long long>(ids.size()));
      for (const auto& id : ids) put_string(out, id);
    }
  }
}

PIPELINE_INLINE std::string encode_record(const WaveRecord& r) {
  std::string out;
  out.reserve(96 + r.traceparent.size() + r.executions.size() * 80);
  put_record_head(out, r.status, r.first_at, r.last_at, r.traceparent, r.executions.size());
  for (const auto& e : r.executions) put_execution(out, e.execution_id, e.correlation_id);
  put_changes(out, r.changes);
  return out;
}

PIPELINE_INLINE Result<WaveRecord> decode_record(std::string_view text) {
  auto bad = [&] {
    return fail(ErrorCode::kDataLoss, "tracker row '{}' is not a completion record", text.substr(0, 80));
  };
  tracker_codec::RecordReader in(text);
  WaveRecord r;
  long long version = 0, first = 0, last = 0;
  char status = 0, kind_mark = 0;
  std::size_t n = 0;
  if (!in.number(version) || version < 1 || version > kTrackerRecordFormat || !in.byte(status) ||
      !in.number(first) || !in.number(last) ||
      !in.string(r.traceparent) || !in.count(n))
    return bad();
  switch (status) {
    case 's': r.status = CompletionStatus::kSuccess; break;
    case 'p': r.status = CompletionStatus::kPartial; break;
    case 'n': r.status = CompletionStatus::kNoData; break;
    case 'f': r.status = CompletionStatus::kFailed; break;
    default: return bad();
  }
  // Format 1 kept instants in microseconds, format 2 in nanoseconds.
  r.first_at = version == 1 ? tracker_codec::from_micros(first) : tracker_codec::from_nanos(first);
  r.last_at = version == 1 ? tracker_codec::from_micros(last) : tracker_codec::from_nanos(last);
  r.executions.resize(n);
  for (auto& e : r.executions)
    if (!in.string(e.execution_id) || !in.string(e.correlation_id)) return bad();
  if (!in.byte(kind_mark)) return bad();
  if (kind_mark == 'C') {
    EntityChanges changes;
    std::size_t kinds = 0;
    if (!in.count(kinds)) return bad();
    for (std::size_t k = 0; k < kinds; ++k) {
      std::string kind;
      std::size_t ids = 0;
      if (!in.string(kind) || !in.count(ids)) return bad();
      EntityIds list(ids);
      for (auto& id : list)
        if (!in.string(id)) return bad();
      changes.emplace(std::move(kind), std::move(list));
    }
    r.changes = std::move(changes);
  } else if (kind_mark != 'F') {
    return bad();
  }
  if (!in.at_end()) return bad();
  return r;
}

PIPELINE_INLINE std::string encode_decision(TimePoint decided_at, bool partial_readiness,
                                            const std::vector<std::string>& processors, std::string_view reason,
                                            const std::vector<std::string>& run_processors,
                                            CompletionStatus status, std::string_view trigger_id) {
  std::string decision;
  decision.reserve(160 + 32 * (processors.size() + run_processors.size()));
  JsonWriter w(decision);
  w.begin_object()
      .plain_key("decided_at").plain_string(encode_time(decided_at))
      .plain_key("format").integer(kTrackerRecordFormat)
      .plain_key("partial_readiness").boolean(partial_readiness)
      .plain_key("processors").string_array(processors)
      .plain_key("reason").string(reason)
      .plain_key("run_processors").string_array(run_processors)
      .plain_key("status").plain_string(to_string(status))
      .plain_key("trigger_id").string(trigger_id)
      .end_object();
  return decision;
}

PIPELINE_INLINE Result<DecisionRecord> decode_decision(std::string_view text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return fail(ErrorCode::kDataLoss, "decision row '{}' is not valid JSON", text.substr(0, 80));
  if (auto st = tracker_codec::check_format(j, "decision row"); !st) return fail(st.error());
  DecisionRecord d;
  d.trigger_id = j.value("trigger_id", "");
  d.partial_readiness = j.value("partial_readiness", false);
  d.reason = j.value("reason", "");
  d.status = j.value("status", "");
  if (auto t = decode_time(j.value("decided_at", ""))) d.decided_at = *t;
  for (const char* field : {"processors", "run_processors"}) {
    auto& out = std::string_view(field) == "processors" ? d.processors : d.run_processors;
    if (j.contains(field) && j[field].is_array())
      for (const auto& p : j[field])
        if (p.is_string()) out.push_back(p.get<std::string>());
  }
  return d;
}

PIPELINE_INLINE std::string encode_description(const TrackerDescription& d) {
  nlohmann::json desc{{"name", d.name},
                      {"upstream_phase", d.upstream_phase},
                      {"downstream_phase", d.downstream_phase},
                      {"trigger_topic", d.trigger_topic},
                      {"expected", d.expected},
                      {"format", kTrackerRecordFormat}};
  return desc.dump();
}

PIPELINE_INLINE Result<TrackerDescription> decode_description(std::string_view text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return fail(ErrorCode::kDataLoss, "tracker description '{}' is not valid JSON", text.substr(0, 80));
  if (auto st = tracker_codec::check_format(j, "tracker description"); !st) return fail(st.error());
  try {
    TrackerDescription d;
    d.name = j.at("name").get<std::string>();
    d.upstream_phase = j.value("upstream_phase", "");
    d.downstream_phase = j.value("downstream_phase", "");
    d.trigger_topic = j.value("trigger_topic", "");
    d.expected = j.at("expected").get<std::vector<std::string>>();
    return d;
  } catch (const nlohmann::json::exception& e) {
    return fail(ErrorCode::kDataLoss, "tracker description is malformed: {}", e.what());
  }
}

}  // namespace pipeline::inline v0::internal
