#pragma once

#include "pipeline/coordinate/fired_jobs.hpp"

#include <fmt/format.h>

#include "pipeline/core/timestamp.hpp"

namespace pipeline::inline v0 {

PIPELINE_INLINE Result<FiredJobs> FiredJobs::create(StateStore& store, FiredJobsOptions options) {
  if (options.key_prefix.empty() || options.key_prefix.back() == '/')
    return fail(ErrorCode::kInvalidArgument, "FiredJobsOptions::key_prefix '{}' must be set and not end in '/'",
                options.key_prefix);
  return FiredJobs(store, std::move(options.key_prefix));
}

PIPELINE_INLINE std::string FiredJobs::date_prefix(CalendarDate date) const {
  return fmt::format("{}/{}/", prefix_, date);
}

PIPELINE_INLINE Result<std::vector<bool>> FiredJobs::claim(CalendarDate date, const std::vector<ScheduledRun>& runs,
                                                          std::string_view owner) {
  std::vector<bool> out;
  auto st = store_.transact([&](Transaction& tx) -> Status {
    out.assign(runs.size(), false);
    for (std::size_t i = 0; i < runs.size(); ++i) {
      auto inserted = tx.insert(date_prefix(date) + format_rfc3339(runs[i].at) + "/" + runs[i].job, owner);
      if (!inserted) return fail(inserted.error());
      out[i] = *inserted;
    }
    return ok();
  });
  if (!st) return fail(st.error());
  return out;
}

PIPELINE_INLINE Result<std::vector<FiredJob>> FiredJobs::list(CalendarDate date) {
  const std::string prefix = date_prefix(date);
  auto rows = store_.scan(prefix);
  if (!rows) return fail(rows.error());
  std::vector<FiredJob> out;
  for (const auto& row : *rows) {
    const std::string_view rest = std::string_view(row.key).substr(prefix.size());
    const auto slash = rest.find('/');
    const auto at = slash == std::string_view::npos ? Result<TimePoint>(fail(ErrorCode::kDataLoss, "no instant"))
                                                    : parse_rfc3339(rest.substr(0, slash));
    if (!at) return fail(ErrorCode::kDataLoss, "fired-job row '{}' does not name an instant", row.key);
    out.push_back({std::string(rest.substr(slash + 1)), *at, row.value});
  }
  return out;
}

PIPELINE_INLINE Result<std::size_t> FiredJobs::forget(CalendarDate date) {
  std::size_t n = 0;
  auto st = store_.transact([&](Transaction& tx) -> Status {
    n = 0;
    auto rows = tx.scan(date_prefix(date));
    if (!rows) return fail(rows.error());
    for (const auto& row : *rows) {
      auto erased = tx.erase(row.key);
      if (!erased) return fail(erased.error());
      n += *erased ? 1 : 0;
    }
    return ok();
  });
  if (!st) return fail(st.error());
  return n;
}

}  // namespace pipeline::inline v0
