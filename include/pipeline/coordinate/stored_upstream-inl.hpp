#pragma once

#include "pipeline/coordinate/stored_upstream.hpp"

#include <algorithm>
#include <charconv>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "pipeline/coordinate/batch_records.hpp"
#include "pipeline/orchestrate/idempotent_consumer.hpp"

namespace pipeline::inline v0 {

PIPELINE_INLINE Result<StoredUpstream> StoredUpstream::create(StateStore& store, StoredUpstreamOptions options) {
  if (options.key_prefix.empty() || options.key_prefix.find('/') != std::string::npos)
    return fail(ErrorCode::kInvalidArgument, "StoredUpstreamOptions::key_prefix '{}' must be set and contain no '/'",
                options.key_prefix);
  if (options.worker_name.empty())
    return fail(ErrorCode::kInvalidArgument, "StoredUpstreamOptions::worker_name must not be empty");
  return StoredUpstream(store, std::move(options));
}

PIPELINE_INLINE std::optional<UpstreamSummary> UpstreamSummary::from_message(const Message& m,
                                                                             const std::string& entity_kind) {
  UpstreamSummary s;
  s.counts = ReadinessGate::counts_from_message(m);
  if (!m.is_incremental && m.entities_changed) {
    if (auto it = m.entities_changed->find(entity_kind); it != m.entities_changed->end()) {
      std::vector<std::string> ids = it->second;
      std::sort(ids.begin(), ids.end());
      ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
      s.entities = std::move(ids);
    }
  }
  if (!s.counts && !s.entities) return std::nullopt;
  s.execution_id = m.execution_id;
  return s;
}

PIPELINE_INLINE std::string UpstreamSummary::encode() const {
  nlohmann::json j{{"execution_id", execution_id}};
  if (counts) j["counts"] = {{"ready", counts->ready}, {"total", counts->total}};
  if (entities) j["entities"] = *entities;
  return j.dump();
}

PIPELINE_INLINE Result<UpstreamSummary> UpstreamSummary::decode(std::string_view text) {
  const auto j = nlohmann::json::parse(text, nullptr, false);
  auto bad = [&](std::string_view why) {
    return fail(ErrorCode::kDataLoss, "upstream summary row: {}", why);
  };
  if (j.is_discarded() || !j.is_object()) return bad("not a JSON object");
  UpstreamSummary s;
  try {
    s.execution_id = j.value("execution_id", "");
    if (j.contains("counts"))
      s.counts = ReadinessCounts{j.at("counts").at("ready").get<std::size_t>(), j.at("counts").at("total").get<std::size_t>()};
    if (j.contains("entities")) s.entities = j.at("entities").get<std::vector<std::string>>();
  } catch (const nlohmann::json::exception& e) {
    return bad(e.what());
  }
  return s;
}

PIPELINE_INLINE std::string StoredUpstream::summary_key(std::string_view key_prefix, CalendarDate date) {
  return fmt::format("{}/upstream/{}", key_prefix, date);
}

PIPELINE_INLINE Result<std::optional<UpstreamSummary>> StoredUpstream::summary(CalendarDate date) {
  auto row = store_.get(summary_key(options_.key_prefix, date));
  if (!row) return fail(row.error());
  if (!*row) return std::optional<UpstreamSummary>();
  auto s = UpstreamSummary::decode(**row);
  if (!s) return fail(s.error().with("date", date.to_string()));
  return std::optional<UpstreamSummary>(std::move(*s));
}

PIPELINE_INLINE Result<ReadinessCounts> StoredUpstream::counts(CalendarDate date) {
  auto s = summary(date);
  if (!s) return fail(s.error());
  if (!*s) return ReadinessCounts{};
  if ((*s)->counts) return *(*s)->counts;
  // A completion that listed its entities but no counts: all it listed are ready.
  const std::size_t n = (*s)->entities ? (*s)->entities->size() : 0;
  return ReadinessCounts{n, n};
}

PIPELINE_INLINE Result<std::vector<std::string>> StoredUpstream::expected(CalendarDate date) {
  auto s = summary(date);
  if (!s) return fail(s.error());
  if (!*s || !(*s)->entities)
    return fail(ErrorCode::kFailedPrecondition,
                "no upstream completion for {} listed its entities (entities_changed of the full completion)", date);
  return *(*s)->entities;
}

PIPELINE_INLINE Result<std::map<std::string, std::int64_t>> StoredUpstream::predicted(CalendarDate date) {
  auto batches = store_.scan(fmt::format("{}/batch/{}/", options_.key_prefix, date));
  if (!batches) return fail(batches.error());
  std::map<std::string, std::int64_t> out;
  for (const auto& b : *batches) {
    auto rec = internal::BatchRecord::decode(b.value);
    if (!rec) return fail(rec.error().with("key", b.key));
    if (rec->batch_id.empty()) continue;
    // Work ids: `<batch>/a<attempt>/<entity>` (at the batch's version) and
    // `<batch>/v<version>/<entity>` (an incremental re-prediction).
    const std::string prefix = IdempotentConsumer::marker_key(options_.worker_name, rec->batch_id + "/");
    auto markers = store_.scan(prefix);
    if (!markers) return fail(markers.error());
    for (const auto& m : *markers) {
      const std::string_view rest = std::string_view(m.key).substr(prefix.size());
      const auto slash = rest.find('/');
      if (slash == std::string_view::npos || slash < 2) continue;
      std::int64_t version = rec->version;
      if (rest[0] == 'v') {
        const auto [end, ec] = std::from_chars(rest.data() + 1, rest.data() + slash, version);
        if (ec != std::errc() || end != rest.data() + slash) continue;
      } else if (rest[0] != 'a') {
        continue;
      }
      auto& v = out[std::string(rest.substr(slash + 1))];
      v = std::max(v, version);
    }
  }
  return out;
}

}  // namespace pipeline::inline v0
