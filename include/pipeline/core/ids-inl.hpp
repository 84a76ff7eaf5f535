#pragma once
/// @file
/// Bodies of pipeline/core/ids.hpp (see pipeline/core/config.hpp).

#include "pipeline/core/ids.hpp"

#include <random>

namespace pipeline::inline v0 {

namespace internal {
/// The per-thread generator behind `random_u64`, seeded once from `std::random_device`.
PIPELINE_INLINE std::mt19937_64& id_rng() {
  thread_local std::mt19937_64 rng{(static_cast<std::uint64_t>(std::random_device{}()) << 32) ^ std::random_device{}()};
  return rng;
}

PIPELINE_INLINE std::uint64_t random_u64() { return id_rng()(); }

PIPELINE_INLINE void append_hex(std::string& out, std::uint64_t v, int nibbles) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (int i = nibbles - 1; i >= 0; --i) out.push_back(kHex[(v >> (i * 4)) & 0xF]);
}
}  // namespace internal

PIPELINE_INLINE std::string new_execution_id() {
  auto& rng = internal::id_rng();
  const std::uint64_t hi = (rng() & 0xFFFFFFFFFFFF0FFFull) | 0x0000000000004000ull;
  const std::uint64_t lo = (rng() & 0x3FFFFFFFFFFFFFFFull) | 0x8000000000000000ull;
  std::string out;
  out.reserve(36);
  internal::append_hex(out, hi >> 32, 8);
  out.push_back('-');
  internal::append_hex(out, (hi >> 16) & 0xFFFF, 4);
  out.push_back('-');
  internal::append_hex(out, hi & 0xFFFF, 4);
  out.push_back('-');
  internal::append_hex(out, lo >> 48, 4);
  out.push_back('-');
  internal::append_hex(out, lo & 0xFFFFFFFFFFFFull, 12);
  return out;
}

PIPELINE_INLINE std::string stable_id(std::initializer_list<std::string_view> parts) {
  std::size_t size = parts.size();
  for (auto p : parts) size += p.size();
  std::string out;
  out.reserve(size);  // one allocation
  for (auto p : parts) {
    if (!out.empty()) out.push_back('/');
    out.append(p);
  }
  return out;
}

}  // namespace pipeline::inline v0
