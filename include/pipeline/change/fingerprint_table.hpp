#pragma once
/// @file
/// `FingerprintTable`: stored fingerprints in a flat open-addressing table, and the diff
/// of a current snapshot against them.

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "pipeline/change/fingerprint.hpp"

namespace pipeline {

/// The fingerprints stored after the last successful processing of one entity kind and
/// date, held in memory for diffing.
///
/// A flat open-addressing table (linear probing, load ≤ 0.5) keyed by the 64-bit hash of
/// the id; every slot also points at the id's bytes in one contiguous arena, so a hit is
/// confirmed by comparing the id itself (no trust in the hash alone). `diff` probes in
/// blocks and prefetches slots and id bytes ahead, so 1M lookups overlap their cache
/// misses instead of paying them one after another.
///
/// **Thread safety:** `find`, `diff`, `for_each` and `size` are const and may run
/// concurrently; `insert`/`reserve` need exclusive access.
/// **Performance:** 24 bytes per slot (2–4 slots per entity) + the id bytes; `diff` is
/// O(n + capacity) on one thread and allocates only its result and a 1-byte-per-slot
/// "seen" map. **Errors:** none; `insert` reports an id already present by returning false.
///
/// **Example:**
/// @code
///   pipeline::FingerprintTable t;
///   t.insert("lebron-james", 0x1234);
///   std::vector<std::string_view> ids{"lebron-james", "curry"};
///   std::vector<std::uint64_t> fps{0x9999, 0x5555};
///   auto d = t.diff(ids, fps);   // d.changed = {0}, d.added = {1}
/// @endcode
class FingerprintTable {
 public:
  /// The outcome of `diff`: positions in the current snapshot, and ids of the table.
  struct Diff {
    std::vector<std::uint32_t> added;     ///< Indices of current entities not in the table.
    std::vector<std::uint32_t> changed;   ///< Indices of current entities whose fingerprint differs.
    std::vector<std::string_view> removed;  ///< Table ids absent from the current snapshot (views into the table).
    std::size_t unchanged = 0;
    /// Index of a current entity whose id appeared earlier in the snapshot, if any.
    std::optional<std::uint32_t> duplicate;
  };

  FingerprintTable() = default;

  /// Makes room for `n` entries without rehashing.
  void reserve(std::size_t n) {
    std::size_t want = 16;
    while (want < 2 * n) want <<= 1;
    if (want > slots_.size()) rehash(want);
  }

  /// Adds `id` → `fingerprint`; returns false (and changes nothing) when `id` is present.
  bool insert(std::string_view id, std::uint64_t fingerprint) {
    if (2 * (size_ + 1) > slots_.size()) rehash(std::max<std::size_t>(16, slots_.size() * 2));
    const std::uint64_t h = internal::entity_id_hash(id);
    std::size_t i = h & mask_;
    while (slots_[i].hash != 0) {
      if (slots_[i].hash == h && id_at(slots_[i]) == id) return false;
      i = (i + 1) & mask_;
    }
    slots_[i] = Slot{h, fingerprint, static_cast<std::uint64_t>(arena_.size()), static_cast<std::uint32_t>(id.size())};
    arena_.append(id);
    ++size_;
    return true;
  }

  /// The fingerprint stored for `id`, if any.
  [[nodiscard]] std::optional<std::uint64_t> find(std::string_view id) const {
    if (size_ == 0) return std::nullopt;
    const std::uint64_t h = internal::entity_id_hash(id);
    for (std::size_t i = h & mask_; slots_[i].hash != 0; i = (i + 1) & mask_)
      if (slots_[i].hash == h && id_at(slots_[i]) == id) return slots_[i].fingerprint;
    return std::nullopt;
  }

  [[nodiscard]] std::size_t size() const { return size_; }
  [[nodiscard]] bool empty() const { return size_ == 0; }

  /// Calls `f(std::string_view id, std::uint64_t fingerprint)` for every entry, in no
  /// particular order.
  template <class F>
  void for_each(F&& f) const {
    for (const auto& s : slots_)
      if (s.hash != 0) f(id_at(s), s.fingerprint);
  }

  /// Compares a current snapshot (`ids[i]` has fingerprint `fingerprints[i]`; both the
  /// same length, below 2^32) with the table.
  [[nodiscard]] Diff diff(std::span<const std::string_view> ids, std::span<const std::uint64_t> fingerprints) const {
    Diff out;
    const std::size_t n = std::min(ids.size(), fingerprints.size());
    if (slots_.empty()) {
      out.added.resize(n);
      for (std::size_t i = 0; i < n; ++i) out.added[i] = static_cast<std::uint32_t>(i);
      find_duplicate_among_added(ids, out);
      return out;
    }
    std::vector<std::uint8_t> seen(slots_.size(), 0);
    constexpr std::size_t kBlock = 32;
    std::uint64_t hashes[kBlock];
    std::size_t pos[kBlock];
    for (std::size_t base = 0; base < n; base += kBlock) {
      const std::size_t m = std::min(kBlock, n - base);
      // Stage 1: hash and prefetch the home slots.
      for (std::size_t j = 0; j < m; ++j) {
        hashes[j] = internal::entity_id_hash(ids[base + j]);
        prefetch(&slots_[hashes[j] & mask_]);
      }
      // Stage 2: find the first slot with the same hash (or an empty one); prefetch its id.
      for (std::size_t j = 0; j < m; ++j) {
        std::size_t i = hashes[j] & mask_;
        while (slots_[i].hash != 0 && slots_[i].hash != hashes[j]) i = (i + 1) & mask_;
        pos[j] = i;
        if (slots_[i].hash != 0) prefetch(arena_.data() + slots_[i].id_offset);
      }
      // Stage 3: confirm by id and classify.
      for (std::size_t j = 0; j < m; ++j) {
        const auto idx = static_cast<std::uint32_t>(base + j);
        const std::string_view id = ids[idx];
        std::size_t i = pos[j];
        while (slots_[i].hash != 0 && !(slots_[i].hash == hashes[j] && id_at(slots_[i]) == id)) i = (i + 1) & mask_;
        if (slots_[i].hash == 0) {
          out.added.push_back(idx);
          continue;
        }
        if (seen[i]) {
          if (!out.duplicate) out.duplicate = idx;
          continue;
        }
        seen[i] = 1;
        if (slots_[i].fingerprint == fingerprints[idx])
          ++out.unchanged;
        else
          out.changed.push_back(idx);
      }
    }
    for (std::size_t i = 0; i < slots_.size(); ++i)
      if (slots_[i].hash != 0 && !seen[i]) out.removed.push_back(id_at(slots_[i]));
    if (!out.duplicate) find_duplicate_among_added(ids, out);
    return out;
  }

 private:
  struct Slot {
    std::uint64_t hash = 0;  ///< 0 = empty.
    std::uint64_t fingerprint = 0;
    std::uint64_t id_offset : 40 = 0;
    std::uint64_t id_size : 24 = 0;
  };
  static_assert(sizeof(Slot) == 24);

  [[nodiscard]] std::string_view id_at(const Slot& s) const {
    return {arena_.data() + s.id_offset, static_cast<std::size_t>(s.id_size)};
  }

  static void prefetch([[maybe_unused]] const void* p) {
#if defined(__GNUC__) || defined(__clang__)
    __builtin_prefetch(p);
#endif
  }

  void rehash(std::size_t capacity) {
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(capacity, Slot{});
    mask_ = capacity - 1;
    for (const auto& s : old) {
      if (s.hash == 0) continue;
      std::size_t i = s.hash & mask_;
      while (slots_[i].hash != 0) i = (i + 1) & mask_;
      slots_[i] = s;
    }
  }

  // Ids added within one snapshot are not in the table; sort their views to find repeats.
  static void find_duplicate_among_added(std::span<const std::string_view> ids, Diff& out) {
    if (out.added.size() < 2) return;
    std::vector<std::uint32_t> order = out.added;
    std::sort(order.begin(), order.end(), [&](std::uint32_t a, std::uint32_t b) { return ids[a] < ids[b]; });
    for (std::size_t k = 1; k < order.size(); ++k)
      if (ids[order[k]] == ids[order[k - 1]]) {
        out.duplicate = std::max(order[k], order[k - 1]);
        return;
      }
  }

  std::vector<Slot> slots_;
  std::size_t mask_ = 0;
  std::size_t size_ = 0;
  std::string arena_;
};

}  // namespace pipeline
