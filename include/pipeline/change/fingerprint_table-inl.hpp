#pragma once
/// @file
/// Bodies of pipeline/change/fingerprint_table.hpp (see pipeline/core/config.hpp).

#include "pipeline/change/fingerprint_table.hpp"

#include <algorithm>
#include <atomic>
#include <thread>

namespace pipeline::inline v0 {

namespace internal {
PIPELINE_INLINE ParallelPlan parallel_plan(std::size_t n, unsigned threads) {
  constexpr std::size_t kMinPart = 1u << 16;
  const std::size_t by_size = std::max<std::size_t>(1, n / kMinPart);
  const std::size_t t = std::clamp<std::size_t>(threads, 1, std::min<std::size_t>(by_size, 64));
  return {t, t == 1 ? 1 : std::min(by_size, t * 8)};
}

PIPELINE_INLINE void parallel_for(std::size_t n, ParallelPlan plan, const ChunkBody& f) {
  const std::size_t chunks = std::max<std::size_t>(1, plan.chunks);
  std::atomic<std::size_t> next{0};
  auto work = [&](std::size_t worker) {
    for (std::size_t c = next.fetch_add(1); c < chunks; c = next.fetch_add(1))
      f(worker, c, n * c / chunks, n * (c + 1) / chunks);
  };
  std::vector<std::thread> workers;
  for (std::size_t w = 1; w < plan.threads; ++w) {
    try {
      workers.emplace_back(work, w);
    } catch (...) {
      break;  // the started workers and the caller take every chunk
    }
  }
  work(0);
  for (auto& t : workers) t.join();
}
}  // namespace internal

PIPELINE_INLINE void FingerprintTable::reserve(std::size_t n) {
  std::size_t want = 16;
  while (want < 2 * n) want <<= 1;
  if (want > slots_.size()) rehash(want);
}

PIPELINE_INLINE bool FingerprintTable::insert(std::string_view id, std::uint64_t fingerprint) {
  if (2 * (size_ + 1) > slots_.size()) rehash(std::max<std::size_t>(16, slots_.size() * 2));
  const std::uint64_t h = internal::entity_id_hash(id);
  std::size_t i = h & mask_;
  while (slots_[i].hash != 0) {
    if (slots_[i].hash == h && id_at(slots_[i]) == id) return false;
    i = (i + 1) & mask_;
  }
  Slot& s = slots_[i];
  s.hash = h;
  s.fingerprint = fingerprint;
  if (id.size() <= Slot::kInline) {
    std::memset(s.id, 0, sizeof s.id);  // same_id compares the zero padding too
    std::memcpy(s.id, id.data(), id.size());
    s.tag = static_cast<std::uint8_t>(id.size());
  } else {
    const std::uint64_t offset = arena_.size();
    const auto size = static_cast<std::uint32_t>(id.size());
    std::memcpy(s.id, &offset, sizeof offset);
    std::memcpy(s.id + sizeof offset, &size, sizeof size);
    s.tag = Slot::kInArena;
    arena_.append(id);
  }
  occupied_[i >> 6] |= std::uint64_t{1} << (i & 63);
  ++size_;
  return true;
}

PIPELINE_INLINE std::optional<std::uint64_t> FingerprintTable::find(std::string_view id) const {
  if (size_ == 0) return std::nullopt;
  const std::uint64_t h = internal::entity_id_hash(id);
  for (std::size_t i = h & mask_; slots_[i].hash != 0; i = (i + 1) & mask_)
    if (slots_[i].hash == h && id_at(slots_[i]) == id) return slots_[i].fingerprint;
  return std::nullopt;
}

PIPELINE_INLINE FingerprintTable::Diff FingerprintTable::diff(std::span<const std::string_view> ids,
                                                              std::span<const std::uint64_t> fingerprints,
                                                              unsigned threads) const {
  struct Spans {
    std::span<const std::string_view> ids;
    std::span<const std::uint64_t> fingerprints;
    [[nodiscard]] std::size_t size() const { return std::min(ids.size(), fingerprints.size()); }
    [[nodiscard]] std::string_view id(std::size_t i) const { return ids[i]; }
    [[nodiscard]] std::uint64_t fingerprint(std::size_t i) const { return fingerprints[i]; }
  };
  return diff(Spans{ids, fingerprints}, threads);
}

PIPELINE_INLINE void FingerprintTable::rehash(std::size_t capacity) {
  internal::HugeArray<Slot> old = std::move(slots_);
  slots_ = internal::HugeArray<Slot>(capacity);
  occupied_.assign((capacity + 63) / 64, 0);
  mask_ = capacity - 1;
  for (const auto& s : old) {
    if (s.hash == 0) continue;
    std::size_t i = s.hash & mask_;
    while (slots_[i].hash != 0) i = (i + 1) & mask_;
    slots_[i] = s;
    occupied_[i >> 6] |= std::uint64_t{1} << (i & 63);
  }
}

}  // namespace pipeline::inline v0
