#pragma once
/// @file
/// Identifiers: random execution ids and deterministic stable ids.

#include <array>
#include <cstdint>
#include <initializer_list>
#include <random>
#include <string>
#include <string_view>

namespace pipeline::inline v0 {

namespace internal {
/// A per-thread generator seeded once from `std::random_device`.
inline std::mt19937_64& id_rng() {
  thread_local std::mt19937_64 rng{(static_cast<std::uint64_t>(std::random_device{}()) << 32) ^ std::random_device{}()};
  return rng;
}
inline void append_hex(std::string& out, std::uint64_t v, int nibbles) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (int i = nibbles - 1; i >= 0; --i) out.push_back(kHex[(v >> (i * 4)) & 0xF]);
}
}  // namespace internal

/// A fresh random id for one execution of a processor: a version-4 UUID string
/// ("3f1c…-…"). Thread-safe (per-thread generator); allocates the result; ~50 ns.
///
/// Execution ids name *attempts*; anything that must be the same across retries and
/// redeliveries uses `stable_id` instead.
inline std::string new_execution_id() {
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

/// A deterministic id built from its parts, joined with '/': the same decision always
/// gets the same id ("phase3/2025-11-18/w0"), which is what consumers deduplicate on.
/// Parts must not contain '/' themselves if ids are to stay unambiguous.
inline std::string stable_id(std::initializer_list<std::string_view> parts) {
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
