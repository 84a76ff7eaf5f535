#pragma once
/// @file
/// `RateLimiter`: per-key token buckets on injected time, with suppression bookkeeping
/// for digests.

#include <algorithm>
#include <bit>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "pipeline/core/config.hpp"
#include "pipeline/core/alert_sink.hpp"
#include "pipeline/core/clock.hpp"
#include "pipeline/core/result.hpp"

namespace pipeline::inline v0 {

/// One severity's limit: a bucket of `burst` tokens, one token regained every `interval`.
/// `interval == 0` means unlimited (every alert passes). A `burst` below 1 counts as 1.
struct RateLimit {
  Duration interval = std::chrono::minutes(5);
  std::uint32_t burst = 3;
};

/// The limit of each severity. A key's bucket is shared by all severities raised on it;
/// each decision applies the limit of the alert's own severity.
struct RateLimiterOptions {
  RateLimit info{std::chrono::minutes(15), 2};
  RateLimit warning{std::chrono::minutes(5), 3};
  RateLimit error{std::chrono::minutes(1), 5};
  RateLimit critical{std::chrono::minutes(1), 10};
  /// Independently locked key tables; rounded up to a power of two. At least 1.
  std::size_t shards = 16;

  [[nodiscard]] const RateLimit& of(Severity s) const noexcept {
    switch (s) {
      case Severity::kInfo: return info;
      case Severity::kWarning: return warning;
      case Severity::kError: return error;
      case Severity::kCritical: return critical;
    }
    return critical;
  }
};

/// The answer of `RateLimiter::decide`.
struct RateDecision {
  bool allowed = false;
  /// When allowed: the suppressions this alert summarizes (now cleared from the key).
  /// When denied: the suppressions pending on the key, this one included.
  std::uint64_t suppressed_count = 0;
  /// The first pending suppression (meaningful when `suppressed_count > 0`).
  TimePoint suppressed_since{};
};

/// Suppressions of a key that went quiet, taken by `RateLimiter::take_quiet_digests`.
struct PendingDigest {
  std::string key;
  Severity severity = Severity::kWarning;  ///< The highest severity suppressed.
  std::uint64_t suppressed_count = 0;
  TimePoint suppressed_since{};
};

/// Per-key token-bucket rate limiter on injected time (as GCRA: one timestamp per key,
/// equivalent to a bucket of `burst` tokens refilled one per `interval`). Denied
/// decisions are counted per key with the time of the first one, so the next allowed
/// alert, or a digest, can say "12 similar alerts suppressed since 06:02".
///
/// A key "went quiet" when its bucket would let an alert through now while suppressions
/// are pending: had alerts kept coming, one would have passed and carried the digest.
/// `take_quiet_digests` hands those out, spending a token for each.
///
/// Keys live in open-addressing tables (linear probing, stored hashes) split into shards,
/// each behind its own mutex. Keys whose bucket is full and that have nothing pending are
/// dropped when a shard grows, so memory follows the set of recently active keys.
///
/// **Thread safety:** every member may be called from any thread. Threads deciding for
/// keys in different shards rarely contend; the same key always serializes. No user code
/// runs here.
/// **Performance:** `decide` is a hash (XXH3, skipped with the precomputed-hash overload),
/// one uncontended lock and a probe of a small table: tens of nanoseconds; it allocates
/// only the first time a key is seen (or when a shard grows).
/// **Errors:** `create`: `kInvalidArgument` for a negative interval or zero shards.
/// Nothing else fails.
///
/// **Example:**
/// @snippet alert_snippets_test.cpp rate_limiter
class RateLimiter {
 public:
  /// **Errors:** `kInvalidArgument` for a negative interval or zero shards.
  [[nodiscard]] static Result<std::unique_ptr<RateLimiter>> create(RateLimiterOptions options = {});

  RateLimiter(const RateLimiter&) = delete;
  RateLimiter& operator=(const RateLimiter&) = delete;

  /// The hash `decide(key, hash, ...)` expects; compute it once for a hot key.
  [[nodiscard]] static std::uint64_t hash_key(std::string_view key) noexcept;
  /// Decides whether an alert of severity `s` on `key` passes at `now`.
  RateDecision decide(std::string_view key, Severity s, TimePoint now) { return decide(key, hash_key(key), s, now); }

  /// Same, with `hash == hash_key(key)` precomputed.
  RateDecision decide(std::string_view key, std::uint64_t hash, Severity s, TimePoint now) {
    const std::int64_t t = now.time_since_epoch().count();
    const Ticks& lim = ticks_[static_cast<int>(s)];
    Shard& shard = shard_of(hash);
    std::lock_guard lock(shard.mu);
    Slot& slot = shard.find_or_insert(key, hash, t);
    RateDecision d;
    if (conforms(slot.tat, t, lim)) {
      slot.tat = std::max(slot.tat, t) + lim.interval;
      d.allowed = true;
      d.suppressed_count = slot.suppressed;
      d.suppressed_since = TimePoint(Duration(slot.since));
      slot.suppressed = 0;
    } else {
      if (slot.suppressed++ == 0) {
        slot.since = t;
        slot.severity = static_cast<std::uint8_t>(s);
      } else {
        slot.severity = std::max(slot.severity, static_cast<std::uint8_t>(s));
      }
      d.suppressed_count = slot.suppressed;
      d.suppressed_since = TimePoint(Duration(slot.since));
    }
    return d;
  }

  /// Takes the pending suppressions of every key that went quiet by `now` (see the class
  /// comment), spending one token of each such key. Ordered by key.
  std::vector<PendingDigest> take_quiet_digests(TimePoint now);

  /// Suppressions pending on `key` (0 for an unknown key).
  [[nodiscard]] std::uint64_t pending(std::string_view key) const;

  /// How many keys are tracked (idle keys are dropped lazily, so this is an upper bound
  /// of the active set).
  [[nodiscard]] std::size_t tracked_keys() const;

  [[nodiscard]] const RateLimiterOptions& options() const noexcept;
 private:
  friend class AlertManager;  // holds its limiter by value, options validated by its own create()

  /// The checks of `create`.
  static Status validate(const RateLimiterOptions& options);

  explicit RateLimiter(const RateLimiterOptions& options)
      : options_(options), shards_(std::bit_ceil(std::max<std::size_t>(options.shards, 1))) {
    shard_shift_ = 64 - std::countr_zero(shards_.size());
    for (int s = 0; s <= static_cast<int>(Severity::kCritical); ++s) {
      const RateLimit& l = options_.of(static_cast<Severity>(s));
      const std::int64_t interval = std::max<std::int64_t>(l.interval.count(), 0);
      const std::int64_t burst = std::max<std::uint32_t>(l.burst, 1);
      ticks_[s].interval = interval;
      ticks_[s].window = (interval != 0 && burst - 1 > std::numeric_limits<std::int64_t>::max() / interval)
                             ? std::numeric_limits<std::int64_t>::max()
                             : (burst - 1) * interval;
    }
  }

  struct Ticks {
    std::int64_t interval = 0;  // 0: unlimited
    std::int64_t window = 0;    // (burst - 1) * interval
  };

  static bool conforms(std::int64_t tat, std::int64_t now, const Ticks& lim) noexcept;

  struct Slot {
    std::uint64_t hash = 0;
    std::int64_t tat = 0;         // GCRA theoretical arrival time, in Duration ticks
    std::uint64_t suppressed = 0;
    std::int64_t since = 0;
    std::uint8_t severity = 0;    // highest severity suppressed
    bool used = false;
    std::string key;
  };

  struct alignas(64) Shard {
    mutable std::mutex mu;
    std::vector<Slot> slots = std::vector<Slot>(16);
    std::size_t count = 0;

    [[nodiscard]] const Slot* find(std::string_view key, std::uint64_t hash) const {
      const std::size_t mask = slots.size() - 1;
      for (std::size_t i = hash & mask;; i = (i + 1) & mask) {
        const Slot& s = slots[i];
        if (!s.used) return nullptr;
        if (s.hash == hash && s.key == key) return &s;
      }
    }

    Slot& find_or_insert(std::string_view key, std::uint64_t hash, std::int64_t now) {
      std::size_t mask = slots.size() - 1;
      for (std::size_t i = hash & mask;; i = (i + 1) & mask) {
        Slot& s = slots[i];
        if (s.used) {
          if (s.hash == hash && s.key == key) return s;
          continue;
        }
        if ((count + 1) * 4 > slots.size() * 3) {  // keep the load factor below 3/4
          rebuild(now);
          return find_or_insert(key, hash, now);
        }
        s.used = true;
        s.hash = hash;
        s.key.assign(key);
        s.tat = now;
        ++count;
        return s;
      }
    }

    // Drops idle keys (full bucket, nothing pending: the same as an unseen key) and
    // doubles the table when more than half of it is still live.
    void rebuild(std::int64_t now) {
      std::vector<Slot> old;
      old.swap(slots);
      std::size_t live = 0;
      for (const Slot& s : old) live += (s.used && (s.suppressed != 0 || s.tat > now)) ? 1 : 0;
      std::size_t capacity = old.size();
      while (live * 2 >= capacity) capacity *= 2;
      slots = std::vector<Slot>(capacity);
      count = 0;
      const std::size_t mask = capacity - 1;
      for (Slot& s : old) {
        if (!s.used || (s.suppressed == 0 && s.tat <= now)) continue;
        std::size_t i = s.hash & mask;
        while (slots[i].used) i = (i + 1) & mask;
        slots[i] = std::move(s);
        ++count;
      }
    }
  };

  Shard& shard_of(std::uint64_t hash) noexcept;
  const Shard& shard_of(std::uint64_t hash) const noexcept;
  [[nodiscard]] std::size_t shard_index(std::uint64_t hash) const noexcept;

  RateLimiterOptions options_;
  Ticks ticks_[4];
  std::vector<Shard> shards_;
  int shard_shift_ = 64;
};

}  // namespace pipeline::inline v0

#ifdef PIPELINE_HEADER_ONLY
#include "pipeline/alert/rate_limiter-inl.hpp"
#endif
