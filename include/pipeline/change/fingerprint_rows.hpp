#pragma once
/// @file
/// Internal: the stored layout of `FingerprintChangeDetector`'s rows (manifest and hash
/// buckets), their encoding and their checked decoding. Not part of the API.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <xxhash.h>

#include "pipeline/change/fingerprint.hpp"
#include "pipeline/core/result.hpp"

namespace pipeline::inline v0 {

namespace internal {

// Stored layout, version 1. Per (kind, date):
//   <prefix>/<kind>/<date>/manifest  "PFM1" u32 buckets, u64 entities, u64 xxh3 of the preceding bytes
//   <prefix>/<kind>/<date>/b/<5 hex> "PFB1" u32 bucket, u32 count, count × (u64 fp, u16 id length, id),
//                                    u64 xxh3 of the preceding bytes
// An entity lives in bucket (id_hash >> 32) & (buckets - 1); buckets is a power of two
// chosen so a bucket holds ~kTargetBucketEntries, so one changed entity rewrites one
// ~50 KB row and 1M entities load as ~500 rows, not 1M.
inline constexpr std::size_t kTargetBucketEntries = 2048;
inline constexpr std::uint32_t kMaxBuckets = 1u << 16;

inline void put_u16(std::string& o, std::uint16_t v) {
  o.push_back(static_cast<char>(v & 0xFF));
  o.push_back(static_cast<char>(v >> 8));
}
inline void put_u32(std::string& o, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) o.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}
inline void put_u64(std::string& o, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) o.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}
inline std::uint64_t get_le(const char* p, int bytes) {
  std::uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v |= static_cast<std::uint64_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  return v;
}
inline void seal(std::string& o) { put_u64(o, XXH3_64bits(o.data(), o.size())); }
inline bool sealed(std::string_view v) {
  return v.size() >= 8 && get_le(v.data() + v.size() - 8, 8) == XXH3_64bits(v.data(), v.size() - 8);
}

inline std::uint32_t bucket_of(std::uint64_t id_hash, std::uint32_t buckets) {
  return static_cast<std::uint32_t>(id_hash >> 32) & (buckets - 1);
}
inline std::uint32_t buckets_for(std::size_t entities) {
  std::uint32_t b = 1;
  while (b < kMaxBuckets && static_cast<std::size_t>(b) * kTargetBucketEntries < entities) b <<= 1;
  return b;
}

inline std::string encode_manifest(std::uint32_t buckets, std::uint64_t entities) {
  std::string o = "PFM1";
  put_u32(o, buckets);
  put_u64(o, entities);
  seal(o);
  return o;
}

struct Manifest {
  std::uint32_t buckets = 0;
  std::uint64_t entities = 0;
};

inline Result<Manifest> decode_manifest(std::string_view v, std::string_view key) {
  if (v.size() != 24 || v.substr(0, 4) != "PFM1" || !sealed(v))
    return fail(ErrorCode::kDataLoss, "fingerprint manifest '{}' is corrupt", key);
  Manifest m{static_cast<std::uint32_t>(get_le(v.data() + 4, 4)), get_le(v.data() + 8, 8)};
  if (m.buckets == 0 || m.buckets > kMaxBuckets || (m.buckets & (m.buckets - 1)) != 0)
    return fail(ErrorCode::kDataLoss, "fingerprint manifest '{}' has an invalid bucket count {}", key, m.buckets);
  return m;
}

/// Entries of one bucket, sorted by id.
using BucketEntries = std::vector<std::pair<std::string, std::uint64_t>>;

inline std::string encode_bucket(std::uint32_t bucket, const BucketEntries& entries) {
  std::string o = "PFB1";
  std::size_t bytes = 20;
  for (const auto& e : entries) bytes += 10 + e.first.size();
  o.reserve(bytes);
  put_u32(o, bucket);
  put_u32(o, static_cast<std::uint32_t>(entries.size()));
  for (const auto& [id, fp] : entries) {
    put_u64(o, fp);
    put_u16(o, static_cast<std::uint16_t>(id.size()));
    o.append(id);
  }
  seal(o);
  return o;
}

/// Decodes a bucket row, calling `f(std::string_view id, std::uint64_t fp)` per entry.
template <class F>
Status decode_bucket(std::string_view v, std::string_view key, std::uint32_t expected_bucket, std::uint32_t buckets,
                     F&& f) {
  auto corrupt = [&](std::string_view why) {
    return fail(Error{ErrorCode::kDataLoss, fmt::format("fingerprint row '{}' is corrupt ({})", key, why),
                      {{"key", std::string(key)}}});
  };
  if (v.size() < 20 || v.substr(0, 4) != "PFB1") return corrupt("bad header");
  if (!sealed(v)) return corrupt("checksum mismatch");
  if (get_le(v.data() + 4, 4) != expected_bucket) return corrupt("bucket number does not match its key");
  const std::uint64_t count = get_le(v.data() + 8, 4);
  std::size_t p = 12;
  const std::size_t end = v.size() - 8;
  for (std::uint64_t k = 0; k < count; ++k) {
    if (end - p < 10) return corrupt("truncated entry");
    const std::uint64_t fp = get_le(v.data() + p, 8);
    const auto len = static_cast<std::size_t>(get_le(v.data() + p + 8, 2));
    p += 10;
    if (end - p < len) return corrupt("truncated id");
    const std::string_view id = v.substr(p, len);
    p += len;
    if (!validate_entity_id(id)) return corrupt("invalid entity id");
    if (bucket_of(entity_id_hash(id), buckets) != expected_bucket) return corrupt("entity stored in the wrong bucket");
    if (!f(id, fp)) return corrupt("entity id repeated");
  }
  if (p != end) return corrupt("trailing bytes");
  return ok();
}

}  // namespace internal

}  // namespace pipeline::inline v0
