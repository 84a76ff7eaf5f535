#pragma once
// Bodies of pipeline/change/fingerprint_change_detector.hpp (see pipeline/core/config.hpp).

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "pipeline/change/change_detector-inl.hpp"
#include "pipeline/change/fingerprint_change_detector.hpp"
#include "pipeline/change/fingerprint_rows.hpp"

namespace pipeline::inline v0 {

// ChangeDetector::create builds this class, so its bodies live here, where the class is
// complete whichever of the two headers was included first.
PIPELINE_INLINE Result<FingerprintChangeDetector> ChangeDetector::create(StateStore& store,
                                                                         FingerprintChangeDetectorOptions options) {
  return FingerprintChangeDetector::create(store, std::move(options));
}

PIPELINE_INLINE Result<FingerprintChangeDetector> FingerprintChangeDetector::create(
    StateStore& store, FingerprintChangeDetectorOptions options) {
  PIPELINE_TRY(internal::validate_entity_kind(options.entity_kind));
  if (options.key_prefix.empty() || options.key_prefix.size() > 256 || options.key_prefix.front() == '/' ||
      options.key_prefix.back() == '/')
    return fail(ErrorCode::kInvalidArgument, "key prefix '{}' must be 1 to 256 bytes without a leading or trailing '/'",
                options.key_prefix);
  PIPELINE_TRY(validate_key(options.key_prefix));
  if (options.threads == 0) {
    return fail(ErrorCode::kInvalidArgument, "change detector for '{}' needs at least 1 thread (1: the caller's only)",
                options.entity_kind);
  }
  return FingerprintChangeDetector(store, std::move(options));
}

PIPELINE_INLINE Result<FingerprintTable> FingerprintChangeDetector::load(CalendarDate date) const {
  const std::string base = date_prefix(date);
  const std::string manifest_key = base + "manifest";
  struct Stored {
    std::optional<std::string> manifest;
    std::vector<Row> rows;
  };
  auto stored = store_->read([&](Transaction& tx) -> Result<Stored> {
    auto m = tx.get(manifest_key);
    if (!m) return fail(m.error());
    auto r = tx.scan(base + "b/");
    if (!r) return fail(r.error());
    return Stored{std::move(*m), std::move(*r)};
  });
  if (!stored) return fail(stored.error());
  const auto& [manifest, rows] = *stored;
  FingerprintTable table;
  if (!manifest) {
    if (!rows.empty())
      return fail(ErrorCode::kDataLoss, "fingerprint rows under '{}b/' exist without their manifest", base);
    return table;
  }
  auto m = internal::decode_manifest(*manifest, manifest_key);
  if (!m) return fail(m.error());
  table.reserve(static_cast<std::size_t>(m->entities));
  for (const auto& row : rows) {
    auto bucket = parse_bucket_key(row.key, base, m->buckets);
    if (!bucket) return fail(bucket.error());
    PIPELINE_TRY(internal::decode_bucket(row.value, row.key, *bucket, m->buckets,
                                         [&](std::string_view id, std::uint64_t fp) { return table.insert(id, fp); }));
  }
  if (table.size() != m->entities)
    return fail(ErrorCode::kDataLoss, "fingerprint manifest '{}' counts {} entities but its rows hold {}",
                manifest_key, m->entities, table.size());
  return table;
}

PIPELINE_INLINE Result<std::vector<std::uint64_t>> FingerprintChangeDetector::fingerprint_all(std::span<const EntitySnapshot> snapshot) const {
  std::vector<std::uint64_t> out(snapshot.size());
  const auto plan = internal::parallel_plan(snapshot.size(), threads_);
  std::vector<Status> status(plan.chunks);
  internal::parallel_for(snapshot.size(), plan, [&](std::size_t, std::size_t part, std::size_t begin, std::size_t end) {
    std::string scratch;
    for (std::size_t i = begin; i < end; ++i) {
      if (!is_valid_entity_id(snapshot[i].id)) {
        status[part] = validate_entity_id(snapshot[i].id);
        return;
      }
      auto fp = fingerprinter_.fingerprint(snapshot[i], scratch);
      if (!fp) {
        status[part] = fail(fp.error());
        return;
      }
      out[i] = *fp;
    }
  });
  for (auto& st : status)
    if (!st) return fail(std::move(st).error());
  return out;
}

PIPELINE_INLINE ChangeSet FingerprintChangeDetector::diff(CalendarDate date, const FingerprintTable& stored,
                             std::span<const EntitySnapshot> snapshot) const {
  auto fps = fingerprint_all(snapshot);
  if (!fps) return fallback(date, fps.error(), FingerprintCommit::kKeepStored, snapshot, {});
  return diff_fingerprints(date, stored, snapshot, *fps);
}

PIPELINE_INLINE ChangeSet FingerprintChangeDetector::detect(CalendarDate date, std::span<const EntitySnapshot> snapshot) const {
  auto fps = fingerprint_all(snapshot);
  if (!fps) return fallback(date, fps.error(), FingerprintCommit::kKeepStored, snapshot, {});
  auto stored = load(date);
  if (!stored) return fallback(date, stored.error(), FingerprintCommit::kReplaceAll, snapshot, *fps);
  return diff_fingerprints(date, *stored, snapshot, *fps);
}

PIPELINE_INLINE Status FingerprintChangeDetector::commit(Transaction& tx, const ChangeSet& changes) const {
  if (changes.entity_kind != options_.entity_kind)
    return fail(ErrorCode::kInvalidArgument, "change set of kind '{}' given to the '{}' change detector",
                changes.entity_kind, options_.entity_kind);
  switch (changes.commit_mode) {
    case FingerprintCommit::kKeepStored: return ok();
    case FingerprintCommit::kReplaceAll: return replace_all(tx, changes.date, changes.updates);
    case FingerprintCommit::kApplyChanges: break;
  }
  return apply_changes(tx, changes);
}

PIPELINE_INLINE FingerprintChangeDetector::FingerprintChangeDetector(StateStore& store,
                                                                     FingerprintChangeDetectorOptions options)
      : store_(&store),
        options_(std::move(options)),
        fingerprinter_(options_.fields),
        metrics_(&metrics_or_null(options_.metrics)),
        log_(options_.log),
        threads_(options_.threads) {
  fallbacks_ = metrics_->counter("pipeline_change_fallbacks_total",
                                 "Change detections that fell back to processing every entity",
                                 {{"kind", options_.entity_kind}});
}

PIPELINE_INLINE std::string FingerprintChangeDetector::date_prefix(CalendarDate date) const {
  return fmt::format("{}/{}/{}/", options_.key_prefix, options_.entity_kind, date.to_string());
}

PIPELINE_INLINE std::string FingerprintChangeDetector::bucket_key(std::string_view base, std::uint32_t bucket) {
  return fmt::format("{}b/{:05x}", base, bucket);
}

PIPELINE_INLINE Result<std::uint32_t> FingerprintChangeDetector::parse_bucket_key(std::string_view key, std::string_view base, std::uint32_t buckets) {
  const std::string_view hex = key.substr(std::min(key.size(), base.size() + 2));
  std::uint32_t v = 0;
  bool good = hex.size() == 5;
  for (char c : hex) {
    const int d = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
    if (d < 0) good = false;
    v = v * 16 + static_cast<std::uint32_t>(d < 0 ? 0 : d);
  }
  if (!good || v >= buckets)
    return fail(ErrorCode::kDataLoss, "unexpected fingerprint row '{}' (not a bucket below {})", key, buckets);
  return v;
}

PIPELINE_INLINE ChangeSet FingerprintChangeDetector::diff_fingerprints(CalendarDate date, const FingerprintTable& stored,
                            std::span<const EntitySnapshot> snapshot, const std::vector<std::uint64_t>& fps) const {
  // The snapshot as the table reads it: ids in place, fingerprints computed above.
  struct Source {
    std::span<const EntitySnapshot> snapshot;
    const std::vector<std::uint64_t>& fps;
    [[nodiscard]] std::size_t size() const { return snapshot.size(); }
    [[nodiscard]] std::string_view id(std::size_t i) const { return snapshot[i].id; }
    [[nodiscard]] std::uint64_t fingerprint(std::size_t i) const { return fps[i]; }
  };
  auto d = stored.diff(Source{snapshot, fps}, threads_);
  if (d.duplicate)
    return fallback(date,
                    Error{ErrorCode::kInvalidArgument,
                          fmt::format("entity id '{}' appears more than once in the snapshot",
                                      d.duplicate->substr(0, 64)),
                          {}},
                    FingerprintCommit::kKeepStored, snapshot, {});
  ChangeSet cs;
  cs.entity_kind = options_.entity_kind;
  cs.date = date;
  cs.unchanged = d.unchanged;
  cs.updates.reserve(d.added.size() + d.changed.size());
  cs.added.reserve(d.added.size());
  for (auto i : d.added) {
    cs.added.push_back(snapshot[i].id);
    cs.updates.push_back({snapshot[i].id, fps[i]});
  }
  cs.changed.reserve(d.changed.size());
  for (auto i : d.changed) {
    cs.changed.push_back(snapshot[i].id);
    cs.updates.push_back({snapshot[i].id, fps[i]});
  }
  cs.removed.assign(d.removed.begin(), d.removed.end());
  std::sort(cs.added.begin(), cs.added.end());
  std::sort(cs.changed.begin(), cs.changed.end());
  std::sort(cs.removed.begin(), cs.removed.end());
  return cs;
}

PIPELINE_INLINE ChangeSet FingerprintChangeDetector::fallback(CalendarDate date, const Error& error, FingerprintCommit mode,
                   std::span<const EntitySnapshot> snapshot, const std::vector<std::uint64_t>& fps) const {
  ChangeSet cs;
  cs.entity_kind = options_.entity_kind;
  cs.date = date;
  cs.full_fallback = true;
  cs.fallback_reason = error.to_string();
  cs.commit_mode = mode;
  if (mode == FingerprintCommit::kReplaceAll) {
    cs.updates.reserve(snapshot.size());
    for (std::size_t i = 0; i < snapshot.size(); ++i) cs.updates.push_back({snapshot[i].id, fps[i]});
  }
  internal::report_change_fallback(*metrics_, *fallbacks_, log_, cs);
  return cs;
}

PIPELINE_INLINE Status FingerprintChangeDetector::replace_all(Transaction& tx, CalendarDate date, const std::vector<EntityFingerprint>& entries) const {
  const std::string base = date_prefix(date);
  auto old = tx.scan(base);
  if (!old) return fail(old.error());
  for (const auto& row : *old) PIPELINE_TRY(tx.erase(row.key));
  const std::uint32_t buckets = internal::buckets_for(entries.size());
  std::vector<internal::BucketEntries> by_bucket(buckets);
  for (const auto& e : entries)
    by_bucket[internal::bucket_of(internal::entity_id_hash(e.id), buckets)].emplace_back(e.id, e.fingerprint);
  std::uint64_t total = 0;
  for (std::uint32_t b = 0; b < buckets; ++b) {
    auto& v = by_bucket[b];
    std::sort(v.begin(), v.end());
    v.erase(std::unique(v.begin(), v.end(), [](const auto& x, const auto& y) { return x.first == y.first; }), v.end());
    total += v.size();
    if (!v.empty()) PIPELINE_TRY(tx.put(bucket_key(base, b), internal::encode_bucket(b, v)));
  }
  return tx.put(base + "manifest", internal::encode_manifest(buckets, total));
}

PIPELINE_INLINE Status FingerprintChangeDetector::apply_changes(Transaction& tx, const ChangeSet& changes) const {
  if (changes.updates.empty() && changes.removed.empty()) return ok();
  const std::string base = date_prefix(changes.date);
  const std::string manifest_key = base + "manifest";
  auto mrow = tx.get(manifest_key);
  if (!mrow) return fail(mrow.error());
  internal::Manifest m;
  if (*mrow) {
    auto decoded = internal::decode_manifest(**mrow, manifest_key);
    if (!decoded) return fail(decoded.error());
    m = *decoded;
  } else {
    m.buckets = internal::buckets_for(changes.updates.size());
  }
  // Group the edits by bucket: (bucket, is_removal, index).
  struct Edit {
    std::uint32_t bucket;
    bool remove;
    std::size_t index;
  };
  std::vector<Edit> edits;
  edits.reserve(changes.updates.size() + changes.removed.size());
  for (std::size_t i = 0; i < changes.updates.size(); ++i)
    edits.push_back({internal::bucket_of(internal::entity_id_hash(changes.updates[i].id), m.buckets), false, i});
  for (std::size_t i = 0; i < changes.removed.size(); ++i)
    edits.push_back({internal::bucket_of(internal::entity_id_hash(changes.removed[i]), m.buckets), true, i});
  std::stable_sort(edits.begin(), edits.end(), [](const Edit& a, const Edit& b) { return a.bucket < b.bucket; });
  std::int64_t delta = 0;
  for (std::size_t k = 0; k < edits.size();) {
    const std::uint32_t b = edits[k].bucket;
    const std::string key = bucket_key(base, b);
    auto row = tx.get(key);
    if (!row) return fail(row.error());
    internal::BucketEntries entries;
    if (*row) {
      PIPELINE_TRY(internal::decode_bucket(**row, key, b, m.buckets, [&](std::string_view id, std::uint64_t fp) {
        entries.emplace_back(std::string(id), fp);
        return true;
      }));
      std::sort(entries.begin(), entries.end());
    }
    for (; k < edits.size() && edits[k].bucket == b; ++k) {
      const std::string& id = edits[k].remove ? changes.removed[edits[k].index] : changes.updates[edits[k].index].id;
      auto it = std::lower_bound(entries.begin(), entries.end(), id,
                                 [](const auto& e, const std::string& x) { return e.first < x; });
      const bool present = it != entries.end() && it->first == id;
      if (edits[k].remove) {
        if (present) {
          entries.erase(it);
          --delta;
        }
      } else if (present) {
        it->second = changes.updates[edits[k].index].fingerprint;
      } else {
        entries.emplace(it, id, changes.updates[edits[k].index].fingerprint);
        ++delta;
      }
    }
    if (entries.empty()) {
      PIPELINE_TRY(tx.erase(key));
    } else {
      PIPELINE_TRY(tx.put(key, internal::encode_bucket(b, entries)));
    }
  }
  const auto total = static_cast<std::uint64_t>(static_cast<std::int64_t>(m.entities) + delta);
  if (m.buckets < internal::kMaxBuckets && total > 4 * internal::kTargetBucketEntries * m.buckets)
    return rebucket(tx, changes.date, m.buckets, total);
  return tx.put(manifest_key, internal::encode_manifest(m.buckets, total));
}

PIPELINE_INLINE Status FingerprintChangeDetector::rebucket(Transaction& tx, CalendarDate date, std::uint32_t buckets, std::uint64_t total) const {
  const std::string base = date_prefix(date);
  auto rows = tx.scan(base + "b/");
  if (!rows) return fail(rows.error());
  std::vector<EntityFingerprint> all;
  all.reserve(static_cast<std::size_t>(total));
  for (const auto& row : *rows) {
    auto b = parse_bucket_key(row.key, base, buckets);
    if (!b) return fail(b.error());
    PIPELINE_TRY(internal::decode_bucket(row.value, row.key, *b, buckets, [&](std::string_view id, std::uint64_t fp) {
      all.push_back({std::string(id), fp});
      return true;
    }));
  }
  return replace_all(tx, date, all);
}

}  // namespace pipeline::inline v0
