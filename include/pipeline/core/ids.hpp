#pragma once
/// @file
/// Identifiers: random execution ids and deterministic stable ids.

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

#include "pipeline/core/config.hpp"

namespace pipeline::inline v0 {

namespace internal {
/// 64 random bits from a per-thread generator seeded once from `std::random_device`.
std::uint64_t random_u64();
/// Appends the low `nibbles` hex digits of `v` (lower case), most significant first.
void append_hex(std::string& out, std::uint64_t v, int nibbles);
}  // namespace internal

/// A fresh random id for one execution of a processor: a version-4 UUID string
/// ("3f1c…-…"). Thread-safe (per-thread generator); allocates the result; ~50 ns.
///
/// Execution ids name *attempts*; anything that must be the same across retries and
/// redeliveries uses `stable_id` instead.
std::string new_execution_id();

/// A deterministic id built from its parts, joined with '/': the same decision always
/// gets the same id ("phase3/2025-11-18/w0"), which is what consumers deduplicate on.
/// Parts must not contain '/' themselves if ids are to stay unambiguous.
std::string stable_id(std::initializer_list<std::string_view> parts);

}  // namespace pipeline::inline v0

#ifdef PIPELINE_HEADER_ONLY
#include "pipeline/core/ids-inl.hpp"
#endif
