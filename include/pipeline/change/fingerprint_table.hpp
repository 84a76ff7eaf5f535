#pragma once
/// @file
/// `FingerprintTable`: stored fingerprints in a flat open-addressing table, and the diff
/// of a current snapshot against them.

#include <algorithm>
#include <bit>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <limits>
#include <memory>
#include <new>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "pipeline/change/fingerprint.hpp"
#include "pipeline/core/config.hpp"

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace pipeline::inline v0 {

namespace internal {
/// A zeroed array of trivially copyable `T`. From 2 MiB up it is a fresh anonymous
/// mapping, 2 MiB-aligned and (on Linux) advised onto transparent huge pages: random
/// probes over a 64 MB table otherwise pay a TLB miss (a serial page walk) each, which
/// defeats prefetching. It must be a fresh mapping, not heap memory: pages the heap has
/// already faulted in stay 4 KiB pages whatever is advised afterwards.
template <class T>
class HugeArray {
 public:
  HugeArray() = default;
  explicit HugeArray(std::size_t n) : size_(n) {
    if (n == 0) return;
    const std::size_t bytes = n * sizeof(T);
#if defined(__linux__)
    constexpr std::size_t kHuge = std::size_t{2} << 20;
    if (bytes >= kHuge) {
      const std::size_t rounded = (bytes + kHuge - 1) / kHuge * kHuge;
      void* raw = mmap(nullptr, rounded + kHuge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (raw == MAP_FAILED) throw std::bad_alloc();
      // Trim the mapping to a 2 MiB-aligned `rounded` bytes.
      auto* base = static_cast<char*>(raw);
      const auto addr = reinterpret_cast<std::uintptr_t>(base);
      const std::size_t head = (kHuge - addr % kHuge) % kHuge;
      if (head > 0) munmap(base, head);
      if (kHuge - head > 0) munmap(base + head + rounded, kHuge - head);
#if defined(MADV_HUGEPAGE)
      (void)madvise(base + head, rounded, MADV_HUGEPAGE);
#endif
      std::memset(base + head, 0, rounded);  // fault the pages in now, not during the first probes
      data_ = std::unique_ptr<T, Free>(reinterpret_cast<T*>(base + head), Free{rounded});
      return;
    }
#endif
    constexpr std::size_t align = std::max(alignof(T), alignof(std::max_align_t));
    void* p = std::aligned_alloc(align, (bytes + align - 1) / align * align);
    if (p == nullptr) throw std::bad_alloc();
    std::memset(p, 0, bytes);
    data_ = std::unique_ptr<T, Free>(static_cast<T*>(p), Free{0});
  }
  T* data() const { return data_.get(); }
  T& operator[](std::size_t i) const { return data_.get()[i]; }
  [[nodiscard]] std::size_t size() const { return size_; }
  [[nodiscard]] bool empty() const { return size_ == 0; }
  T* begin() const { return data_.get(); }
  T* end() const { return data_.get() + size_; }

 private:
  struct Free {
    std::size_t mapped = 0;  ///< Bytes mapped with mmap; 0 = from aligned_alloc.
    void operator()(T* p) const {
#if defined(__linux__)
      if (mapped > 0) {
        munmap(p, mapped);
        return;
      }
#endif
      std::free(p);
    }
  };
  std::unique_ptr<T, Free> data_;
  std::size_t size_ = 0;
};

/// A hint to fetch the cache line at `p`; no effect where the compiler has no builtin.
inline void prefetch([[maybe_unused]] const void* p) {
#if defined(__GNUC__) || defined(__clang__)
  __builtin_prefetch(p);
#endif
}

/// How `parallel_for` shares `n` items: `threads` threads (the caller's included) take
/// `chunks` contiguous slices one at a time, so a thread that gets less CPU (a busy core)
/// takes fewer slices instead of holding the others up.
struct ParallelPlan {
  std::size_t threads = 1;
  std::size_t chunks = 1;
};

/// At most `threads` threads, none for fewer than 64k items each (a thread costs more than
/// it saves below that), and about 8 slices per thread.
ParallelPlan parallel_plan(std::size_t n, unsigned threads);

/// The work of one chunk: `(worker, chunk, begin, end)`.
using ChunkBody = std::function<void(std::size_t, std::size_t, std::size_t, std::size_t)>;

/// Runs `f(worker, chunk, begin, end)` for every chunk of `plan.chunks` contiguous slices
/// of [0, n): worker 0 is the calling thread, the others are threads started here and
/// joined before returning; each worker takes the next unclaimed chunk, so one worker sees
/// its chunks in increasing order. If a thread cannot be started, fewer workers share
/// the chunks. `f` is called from several threads at once.
void parallel_for(std::size_t n, ParallelPlan plan, const ChunkBody& f);
}  // namespace internal

/// A current snapshot as `FingerprintTable::diff` reads it: its size, and per position
/// the entity id and its fingerprint (which may be computed on demand).
template <class S>
concept DiffSource = requires(const S& s, std::size_t i) {
  { s.size() } -> std::convertible_to<std::size_t>;
  { s.id(i) } -> std::convertible_to<std::string_view>;
  { s.fingerprint(i) } -> std::convertible_to<std::uint64_t>;
};

/// The fingerprints stored after the last successful processing of one entity kind and
/// date, held in memory for diffing.
///
/// A flat open-addressing table (linear probing, load ≤ 0.5) keyed by the 64-bit hash of
/// the id; every slot also holds the id (or points at it in an arena), so a hit is
/// confirmed by comparing the id itself (no trust in the hash alone). `diff` probes in
/// blocks and prefetches slots and id bytes ahead, so 1M lookups overlap their cache
/// misses instead of paying them one after another.
///
/// **Thread safety:** `find`, `diff`, `for_each` and `size` are const and may run
/// concurrently; `insert`/`reserve` need exclusive access.
/// **Performance:** 32-byte slots (2–4 per entity; ids ≤ 15 bytes inline, longer ones
/// in an arena), on huge pages where the OS allows; `diff` is O(n + capacity / 64) on one
/// thread and allocates only its result and a 1-bit-per-slot "seen" map. **Errors:** none; `insert` reports an id already present by returning false.
///
/// **Example:**
/// @snippet change_snippets_test.cpp fingerprint_table
class FingerprintTable {
 public:
  /// The outcome of `diff`: positions in the current snapshot, and ids of the table.
  struct Diff {
    std::vector<std::uint32_t> added;     ///< Indices of current entities not in the table.
    std::vector<std::uint32_t> changed;   ///< Indices of current entities whose fingerprint differs.
    std::vector<std::string_view> removed;  ///< Table ids absent from the current snapshot (views into the table).
    std::size_t unchanged = 0;
    /// An id that appears more than once in the current snapshot, if any (when several
    /// repeat and `threads` > 1, which one is named is unspecified).
    std::optional<std::string_view> duplicate;
  };

  FingerprintTable() = default;

  /// Makes room for `n` entries without rehashing.
  void reserve(std::size_t n);

  /// Adds `id` → `fingerprint`; returns false (and changes nothing) when `id` is present.
  bool insert(std::string_view id, std::uint64_t fingerprint);

  /// The fingerprint stored for `id`, if any.
  [[nodiscard]] std::optional<std::uint64_t> find(std::string_view id) const;

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
  /// same length, below 2^32) with the table, splitting the snapshot over `threads`
  /// threads (the caller's thread included; 1 = no thread is started).
  [[nodiscard]] Diff diff(std::span<const std::string_view> ids, std::span<const std::uint64_t> fingerprints,
                          unsigned threads = 1) const;

  /// The same comparison over any `DiffSource` (`current.size()`, `current.id(i)`,
  /// `current.fingerprint(i)`), so a caller holding its entities in its own layout need
  /// not copy their ids out first. `fingerprint(i)` is called only for ids found in the
  /// table, and from `threads` threads at once.
  template <DiffSource Source>
  [[nodiscard]] Diff diff(const Source& current, unsigned threads = 1) const {
    Diff out;
    const std::size_t n = current.size();
    if (slots_.empty()) {
      out.added.resize(n);
      for (std::size_t i = 0; i < n; ++i) out.added[i] = static_cast<std::uint32_t>(i);
      find_duplicate_among_added(current, out);
      return out;
    }
    // Lists per chunk (merged in snapshot order), "seen" maps per worker (one bit per slot:
    // stays in L2); an id seen by two workers is a duplicate too.
    const auto plan = internal::parallel_plan(n, threads);
    std::vector<Diff> chunks(plan.chunks);
    std::vector<std::vector<std::uint64_t>> seen_by(plan.threads);
    internal::parallel_for(n, plan, [&](std::size_t worker, std::size_t chunk, std::size_t begin, std::size_t end) {
      if (seen_by[worker].empty()) seen_by[worker].assign(occupied_.size(), 0);
      probe(current, begin, end, chunks[chunk], seen_by[worker]);
    });
    std::vector<std::uint64_t> seen(occupied_.size(), 0);
    for (const auto& mine : seen_by) {
      if (mine.empty()) continue;
      for (std::size_t w = 0; w < seen.size(); ++w) {
        const std::uint64_t both = seen[w] & mine[w];
        if (both != 0 && !out.duplicate)
          out.duplicate = id_at(slots_[w * 64 + static_cast<std::size_t>(std::countr_zero(both))]);
        seen[w] |= mine[w];
      }
    }
    for (auto& d : chunks) {
      out.added.insert(out.added.end(), d.added.begin(), d.added.end());
      out.changed.insert(out.changed.end(), d.changed.begin(), d.changed.end());
      out.unchanged += d.unchanged;
      if (d.duplicate && !out.duplicate) out.duplicate = d.duplicate;
    }
    for (std::size_t w = 0; w < occupied_.size(); ++w)
      for (std::uint64_t bits = occupied_[w] & ~seen[w]; bits != 0; bits &= bits - 1)
        out.removed.push_back(id_at(slots_[w * 64 + static_cast<std::size_t>(std::countr_zero(bits))]));
    if (!out.duplicate) find_duplicate_among_added(current, out);
    return out;
  }

 private:
  // Probes current[begin, end) in blocks: hash the ids and prefetch their home slots,
  // find the first slot with the same hash (prefetching an out-of-line id), then confirm
  // by id and compare fingerprints.
  template <class Source>
  void probe(const Source& current, std::size_t begin, std::size_t end, Diff& out,
             std::vector<std::uint64_t>& seen) const {
    constexpr std::size_t kBlock = 32;
    std::uint64_t hashes[kBlock];
    std::size_t pos[kBlock];
    InlineKey keys[kBlock];
    for (std::size_t base = begin; base < end; base += kBlock) {
      const std::size_t m = std::min(kBlock, end - base);
      for (std::size_t j = 0; j < m; ++j) {
        const std::string_view id = current.id(base + j);
        hashes[j] = internal::entity_id_hash(id);
        internal::prefetch(&slots_[hashes[j] & mask_]);
        keys[j] = InlineKey::of(id);
      }
      for (std::size_t j = 0; j < m; ++j) {
        std::size_t i = hashes[j] & mask_;
        while (slots_[i].hash != 0 && slots_[i].hash != hashes[j]) i = (i + 1) & mask_;
        pos[j] = i;
        if (slots_[i].hash != 0 && slots_[i].tag == Slot::kInArena) internal::prefetch(id_at(slots_[i]).data());
      }
      for (std::size_t j = 0; j < m; ++j) {
        const auto idx = static_cast<std::uint32_t>(base + j);
        const std::string_view id = current.id(idx);
        std::size_t i = pos[j];
        while (slots_[i].hash != 0 && !(slots_[i].hash == hashes[j] && same_id(slots_[i], keys[j], id)))
          i = (i + 1) & mask_;
        if (slots_[i].hash == 0) {
          out.added.push_back(idx);
          continue;
        }
        const std::uint64_t bit = std::uint64_t{1} << (i & 63);
        if (seen[i >> 6] & bit) {
          if (!out.duplicate) out.duplicate = id;
          continue;
        }
        seen[i >> 6] |= bit;
        if (slots_[i].fingerprint == current.fingerprint(idx))
          ++out.unchanged;
        else
          out.changed.push_back(idx);
      }
    }
  }

  // 32 bytes, two per cache line. Ids up to 15 bytes live in the slot itself, so a hit is
  // confirmed without touching the arena; longer ones store (offset, size) there instead.
  struct alignas(32) Slot {
    static constexpr std::uint8_t kInline = 15;
    static constexpr std::uint8_t kInArena = 0xFF;
    std::uint64_t hash;  ///< 0 = empty.
    std::uint64_t fingerprint;
    char id[15];
    std::uint8_t tag;  ///< Id length when inline, else kInArena.
  };
  static_assert(sizeof(Slot) == 32 && offsetof(Slot, tag) == 31);

  // The last 16 bytes of a slot (inline id, zero-padded, then its length), built from a
  // probed id so a short id is confirmed with two integer compares instead of memcmp.
  struct InlineKey {
    std::uint64_t lo = 0, hi = 0;
    bool inline_id = false;
    static InlineKey of(std::string_view id) {
      InlineKey k;
      if (id.size() > Slot::kInline) return k;
      const auto packed = internal::pack_short(id);
      k.lo = packed.lo;
      k.hi = packed.hi | std::uint64_t{static_cast<std::uint8_t>(id.size())} << (std::endian::native == std::endian::little ? 56 : 0);
      k.inline_id = true;
      return k;
    }
  };
  [[nodiscard]] bool same_id(const Slot& s, const InlineKey& key, std::string_view id) const {
    if (!key.inline_id) return s.tag == Slot::kInArena && id_at(s) == id;
    std::uint64_t lo = 0, hi = 0;
    std::memcpy(&lo, s.id, 8);
    std::memcpy(&hi, s.id + 8, 8);  // id[8..15) and the tag
    return lo == key.lo && hi == key.hi;
  }

  [[nodiscard]] std::string_view id_at(const Slot& s) const {
    if (s.tag != Slot::kInArena) return {s.id, s.tag};
    std::uint64_t offset = 0;
    std::uint32_t size = 0;
    std::memcpy(&offset, s.id, sizeof offset);
    std::memcpy(&size, s.id + sizeof offset, sizeof size);
    return {arena_.data() + offset, size};
  }

  void rehash(std::size_t capacity);

  // Ids added within one snapshot are not in the table; sort their views to find repeats.
  template <class Source>
  static void find_duplicate_among_added(const Source& current, Diff& out) {
    if (out.added.size() < 2) return;
    std::vector<std::uint32_t> order = out.added;
    std::sort(order.begin(), order.end(),
              [&](std::uint32_t a, std::uint32_t b) { return current.id(a) < current.id(b); });
    for (std::size_t k = 1; k < order.size(); ++k)
      if (current.id(order[k]) == current.id(order[k - 1])) {
        out.duplicate = current.id(order[k]);
        return;
      }
  }

  internal::HugeArray<Slot> slots_;
  std::vector<std::uint64_t> occupied_;  ///< One bit per slot, for the removed scan.
  std::size_t mask_ = 0;
  std::size_t size_ = 0;
  std::string arena_;
};

}  // namespace pipeline::inline v0

#ifdef PIPELINE_HEADER_ONLY
#include "pipeline/change/fingerprint_table-inl.hpp"
#endif
