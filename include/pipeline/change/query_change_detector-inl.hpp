#pragma once
// Bodies of pipeline/change/query_change_detector.hpp (see pipeline/core/config.hpp).

#include <algorithm>
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "pipeline/change/change_detector-inl.hpp"
#include "pipeline/change/query_change_detector.hpp"
#include "pipeline/core/entity_id.hpp"

namespace pipeline::inline v0 {
namespace internal {

// The name of a bound parameter: an SQL identifier, so every warehouse can spell it.
PIPELINE_INLINE bool is_query_param_name(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  const auto alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; };
  if (!alpha(name.front())) return false;
  return std::all_of(name.begin(), name.end(), [&](char c) { return alpha(c) || (c >= '0' && c <= '9'); });
}

}  // namespace internal

PIPELINE_INLINE Result<QueryChangeDetector> QueryChangeDetector::create(ChangeQueryRunner& runner,
                                                                       QueryChangeDetectorOptions options) {
  PIPELINE_TRY(internal::validate_entity_kind(options.entity_kind));
  if (options.sql.find_first_not_of(" \t\r\n") == std::string::npos)
    return fail(ErrorCode::kInvalidArgument, "the change query for '{}' is empty", options.entity_kind);
  std::vector<std::string_view> names;
  for (const auto& p : options.params) {
    if (!internal::is_query_param_name(p.name))
      return fail(ErrorCode::kInvalidArgument,
                  "query parameter name '{}' must be 1 to 64 characters of [A-Za-z0-9_], not starting with a digit "
                  "(written without its ':')",
                  p.name.substr(0, 64));
    if (p.name == "date")
      return fail(ErrorCode::kInvalidArgument,
                  "query parameter 'date' is reserved: the detector binds :date to the date it detects");
    names.push_back(p.name);
  }
  std::sort(names.begin(), names.end());
  if (auto dup = std::adjacent_find(names.begin(), names.end()); dup != names.end())
    return fail(ErrorCode::kInvalidArgument, "query parameter '{}' is given more than once", *dup);
  return QueryChangeDetector(runner, std::move(options));
}

PIPELINE_INLINE QueryChangeDetector::QueryChangeDetector(ChangeQueryRunner& runner, QueryChangeDetectorOptions options)
    : runner_(&runner),
      options_(std::move(options)),
      metrics_(&metrics_or_null(options_.metrics)),
      log_(options_.log) {
  fallbacks_ = metrics_->counter("pipeline_change_fallbacks_total",
                                 "Change detections that fell back to processing every entity",
                                 {{"kind", options_.entity_kind}});
}

PIPELINE_INLINE Result<ChangeSet> QueryChangeDetector::query(CalendarDate date) const {
  std::vector<QueryParam> params;
  params.reserve(options_.params.size() + 1);
  params.push_back({"date", date.to_string()});
  params.insert(params.end(), options_.params.begin(), options_.params.end());
  auto rows = runner_->changed_entities(options_.sql, params);
  if (!rows) return fail(rows.error().with("kind", options_.entity_kind));

  ChangeSet cs;
  cs.entity_kind = options_.entity_kind;
  cs.date = date;
  cs.commit_mode = FingerprintCommit::kKeepStored;
  for (std::size_t i = 0; i < rows->size(); ++i) {
    auto& row = (*rows)[i];
    if (!is_valid_entity_id(row.id)) {
      const auto why = validate_entity_id(row.id);
      return fail(ErrorCode::kInvalidArgument, "the change query for '{}' returned an invalid id in row {}: {}",
                  options_.entity_kind, i + 1, why.error().message);
    }
    std::vector<std::string>* list = &cs.changed;
    if (row.change) {
      if (*row.change == "added") {
        list = &cs.added;
      } else if (*row.change == "removed") {
        list = &cs.removed;
      } else if (*row.change != "changed") {
        return fail(ErrorCode::kInvalidArgument,
                    "the change query for '{}' returned change '{}' in row {}; expected added, changed or removed",
                    options_.entity_kind, std::string_view(*row.change).substr(0, 64), i + 1);
      }
    }
    list->push_back(std::move(row.id));
  }
  std::vector<std::string_view> all;
  all.reserve(rows->size());
  for (auto* list : {&cs.added, &cs.changed, &cs.removed}) {
    std::sort(list->begin(), list->end());
    all.insert(all.end(), list->begin(), list->end());
  }
  std::sort(all.begin(), all.end());
  // A repeated id means the statement is not keyed by entity (a join that fans out):
  // the whole answer is suspect, as a repeated id in a snapshot is to the fingerprint detector.
  if (auto dup = std::adjacent_find(all.begin(), all.end()); dup != all.end())
    return fail(ErrorCode::kInvalidArgument, "entity id '{}' appears more than once in the change query's result",
                dup->substr(0, 64));
  return cs;
}

PIPELINE_INLINE ChangeSet QueryChangeDetector::detect(CalendarDate date,
                                                      std::span<const EntitySnapshot> /*snapshot*/) const {
  auto cs = query(date);
  if (cs) return std::move(*cs);
  ChangeSet fallback;
  fallback.entity_kind = options_.entity_kind;
  fallback.date = date;
  fallback.full_fallback = true;
  fallback.fallback_reason = cs.error().to_string();
  fallback.commit_mode = FingerprintCommit::kKeepStored;
  internal::report_change_fallback(*metrics_, *fallbacks_, log_, fallback);
  return fallback;
}

}  // namespace pipeline::inline v0
