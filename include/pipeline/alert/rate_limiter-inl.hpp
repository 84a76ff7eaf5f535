#pragma once
/// @file
/// Bodies of pipeline/alert/rate_limiter.hpp.

#include "pipeline/alert/rate_limiter.hpp"

#include <xxhash.h>

namespace pipeline::inline v0 {

PIPELINE_INLINE Status RateLimiter::validate(const RateLimiterOptions& options) {
  for (int s = 0; s <= static_cast<int>(Severity::kCritical); ++s) {
    const auto severity = static_cast<Severity>(s);
    if (options.of(severity).interval < Duration::zero()) {
      return fail(ErrorCode::kInvalidArgument, "rate limit interval of severity '{}' is negative",
                  to_string(severity));
    }
  }
  if (options.shards == 0) return fail(ErrorCode::kInvalidArgument, "rate limiter needs at least 1 shard");
  return {};
}

PIPELINE_INLINE Result<std::unique_ptr<RateLimiter>> RateLimiter::create(RateLimiterOptions options) {
  PIPELINE_TRY(validate(options));
  return std::unique_ptr<RateLimiter>(new RateLimiter(options));
}

PIPELINE_INLINE std::uint64_t RateLimiter::hash_key(std::string_view key) noexcept {
  return XXH3_64bits(key.data(), key.size());
}

PIPELINE_INLINE std::vector<PendingDigest> RateLimiter::take_quiet_digests(TimePoint now) {
  const std::int64_t t = now.time_since_epoch().count();
  std::vector<PendingDigest> out;
  for (Shard& shard : shards_) {
    std::lock_guard lock(shard.mu);
    for (Slot& slot : shard.slots) {
      if (!slot.used || slot.suppressed == 0) continue;
      const Ticks& lim = ticks_[slot.severity];
      if (!conforms(slot.tat, t, lim)) continue;
      slot.tat = std::max(slot.tat, t) + lim.interval;
      out.push_back({slot.key, static_cast<Severity>(slot.severity), slot.suppressed,
                     TimePoint(Duration(slot.since))});
      slot.suppressed = 0;
    }
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.key < b.key; });
  return out;
}

PIPELINE_INLINE std::uint64_t RateLimiter::pending(std::string_view key) const {
  const std::uint64_t hash = hash_key(key);
  const Shard& shard = shard_of(hash);
  std::lock_guard lock(shard.mu);
  const Slot* slot = shard.find(key, hash);
  return slot ? slot->suppressed : 0;
}

PIPELINE_INLINE std::size_t RateLimiter::tracked_keys() const {
  std::size_t n = 0;
  for (const Shard& shard : shards_) {
    std::lock_guard lock(shard.mu);
    n += shard.count;
  }
  return n;
}

PIPELINE_INLINE const RateLimiterOptions& RateLimiter::options() const noexcept { return options_; }

PIPELINE_INLINE bool RateLimiter::conforms(std::int64_t tat, std::int64_t now, const Ticks& lim) noexcept {
  return lim.interval == 0 || std::max(tat, now) - now <= lim.window;
}

PIPELINE_INLINE RateLimiter::Shard& RateLimiter::shard_of(std::uint64_t hash) noexcept { return shards_[shard_index(hash)]; }

PIPELINE_INLINE const RateLimiter::Shard& RateLimiter::shard_of(std::uint64_t hash) const noexcept { return shards_[shard_index(hash)]; }

PIPELINE_INLINE std::size_t RateLimiter::shard_index(std::uint64_t hash) const noexcept {
  return shards_.size() == 1 ? 0 : static_cast<std::size_t>(hash >> shard_shift_);
}

}  // namespace pipeline::inline v0
