#pragma once
/// @file
/// Bodies of pipeline/change/selective_filter.hpp (see pipeline/core/config.hpp).

#include "pipeline/change/selective_filter.hpp"

#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "pipeline/core/entity_id.hpp"

namespace pipeline::inline v0 {

PIPELINE_INLINE Result<SqlFilter> sql_entity_filter(const ChangeSet& changes, std::string_view column,
                                                    const SqlEntityFilterOptions& options) {
  auto ident_start = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; };
  auto ident_char = [&](char c) { return ident_start(c) || (c >= '0' && c <= '9'); };
  bool good = !column.empty() && column.size() <= 128;
  for (std::size_t i = 0; good && i < column.size(); ++i) {
    const bool part_start = i == 0 || column[i - 1] == '.';
    if (column[i] == '.')
      good = !part_start && i + 1 < column.size();
    else
      good = part_start ? ident_start(column[i]) : ident_char(column[i]);
  }
  if (!good)
    return fail(ErrorCode::kInvalidArgument, "column '{}' is not a plain SQL identifier", column.substr(0, 64));

  SqlFilter out;
  if (changes.full_fallback) {
    out.predicate = "1 = 1";
    out.matches_everything = true;
    return out;
  }
  out.parameters = changes.ids_to_process(options.include_removed);
  for (const auto& id : out.parameters) PIPELINE_TRY(validate_entity_id(id));
  if (out.parameters.empty()) {
    out.predicate = "1 = 0";
    return out;
  }
  if (out.parameters.size() <= options.max_inline_ids) {
    out.predicate.reserve(column.size() + 6 + 3 * out.parameters.size());
    out.predicate.append(column).append(" IN (");
    for (std::size_t i = 0; i < out.parameters.size(); ++i) out.predicate.append(i == 0 ? "?" : ", ?");
    out.predicate.append(")");
    return out;
  }
  // Ids are validated above; invalid UTF-8 is replaced rather than thrown on.
  const nlohmann::json array(out.parameters);
  std::string json = array.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  out.predicate = fmt::format("{} IN (SELECT value FROM json_each(?))", column);
  out.parameters.assign(1, std::move(json));
  return out;
}

PIPELINE_INLINE EntityFilter EntityFilter::from(const ChangeSet& changes, bool include_removed) {
  EntityFilter f;
  f.everything_ = changes.full_fallback;
  if (!f.everything_) f.ids_ = changes.ids_to_process(include_removed);
  return f;
}

}  // namespace pipeline::inline v0
