#pragma once
/// @file
/// Entity snapshots and their fingerprints: xxHash (XXH3-64) over a canonical encoding.

#include <bit>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "pipeline/core/config.hpp"
#include "pipeline/core/entity_id.hpp"
#include "pipeline/core/result.hpp"

namespace pipeline::inline v0 {

namespace internal {
/// Up to 16 bytes as two little-endian words, zero-padded: short ids and field names are
/// compared as two integer compares. Built from overlapping loads rather than a byte
/// copy into a buffer read back as words (that round trip defeats store forwarding).
struct PackedBytes {
  std::uint64_t lo = 0, hi = 0;
  friend bool operator==(const PackedBytes&, const PackedBytes&) = default;
};

template <class U>
inline U load_unaligned(const char* p) noexcept {
  U v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

/// Packs `s` (at most 16 bytes).
inline PackedBytes pack_short(std::string_view s) noexcept {
  PackedBytes k;
  const std::size_t n = s.size();
  const char* p = s.data();
  if constexpr (std::endian::native == std::endian::little) {
    if (n >= 8) {
      k.lo = load_unaligned<std::uint64_t>(p);
      k.hi = n == 8 ? 0 : load_unaligned<std::uint64_t>(p + n - 8) >> (8 * (16 - n));
    } else if (n >= 4) {
      k.lo = load_unaligned<std::uint32_t>(p) | std::uint64_t{load_unaligned<std::uint32_t>(p + n - 4)} << (8 * (n - 4));
    } else if (n > 0) {
      k.lo = std::uint64_t{static_cast<unsigned char>(p[0])} |
             std::uint64_t{static_cast<unsigned char>(p[n / 2])} << (8 * (n / 2)) |
             std::uint64_t{static_cast<unsigned char>(p[n - 1])} << (8 * (n - 1));
    }
  } else {
    unsigned char bytes[16] = {};
    std::memcpy(bytes, p, n);
    k.lo = load_unaligned<std::uint64_t>(reinterpret_cast<const char*>(bytes));
    k.hi = load_unaligned<std::uint64_t>(reinterpret_cast<const char*>(bytes) + 8);
  }
  return k;
}
}  // namespace internal

/// A field value of an entity snapshot: null, bool, integer, double or string.
/// The type is part of the fingerprint: `int64_t{1}` and `1.0` differ.
using FieldValue = std::variant<std::monostate, bool, std::int64_t, double, std::string>;

/// One named field of an entity snapshot.
struct EntityField {
  std::string name;
  FieldValue value;
  friend bool operator==(const EntityField&, const EntityField&) = default;
};

/// The current state of one entity (a player, a team, ...) for a date: its id and the
/// fields that describe it, in any order.
struct EntitySnapshot {
  std::string id;
  std::vector<EntityField> fields;
  friend bool operator==(const EntitySnapshot&, const EntitySnapshot&) = default;
};

/// An entity id with the fingerprint of its chosen fields.
struct EntityFingerprint {
  std::string id;
  std::uint64_t fingerprint = 0;
  friend bool operator==(const EntityFingerprint&, const EntityFingerprint&) = default;
};

/// Computes the fingerprint of an entity over a chosen set of fields.
///
/// The canonical encoding (version 1) is: the byte `0x01`, then for every chosen field
/// in ascending byte order of its name: `u32 name length`, the name, a type tag
/// (0 absent, 1 null, 2 false, 3 true, 4 int64, 5 double, 6 string) and the value —
/// int64 as 8 bytes little-endian, double as the 8 bytes of its IEEE-754 bits
/// little-endian with -0.0 written as 0.0 and every NaN as the one quiet NaN, strings as
/// `u32 length` + bytes. Lengths make ("ab","c") differ from ("a","bc"); the sort makes
/// field order irrelevant; fixed byte order makes it the same on every machine. The
/// fingerprint is `XXH3_64bits` of that encoding. Fields not chosen are ignored; an
/// empty choice means every field of the entity. A chosen field missing from the entity
/// encodes as "absent", which differs from null.
///
/// **Thread safety:** immutable after construction; `fingerprint`/`encode` may be
/// called from any number of threads (each passes its own scratch buffer).
/// **Performance:** O(fields × log chosen) per entity, no allocation once `scratch`
/// has grown; ~tens of ns for a handful of short fields.
/// **Errors:** `kInvalidArgument` when the entity names a chosen field twice (which
/// value counts would depend on order).
///
/// **Example:**
/// @snippet change_snippets_test.cpp fingerprint
class Fingerprinter {
 public:
  static constexpr std::uint8_t kEncodingVersion = 1;

  /// `fields`: the names that matter (duplicates ignored); empty = every field.
  explicit Fingerprinter(std::vector<std::string> fields = {});

  /// The chosen field names, sorted; empty = every field.
  [[nodiscard]] const std::vector<std::string>& fields() const { return fields_; }

  /// Appends the canonical encoding of `entity`'s chosen fields to `out` (cleared first).
  Status encode(const EntitySnapshot& entity, std::string& out) const;

  /// The fingerprint of `entity`; `scratch` is a reusable buffer (keep one per thread).
  Result<std::uint64_t> fingerprint(const EntitySnapshot& entity, std::string& scratch) const;

  /// Convenience overload that allocates its own buffer.
  [[nodiscard]] Result<std::uint64_t> fingerprint(const EntitySnapshot& entity) const;

 private:
  // The encoding into `out`; on a repeated chosen field returns its name (no Status on
  // this path: a void Result zero-fills its Error storage on every success).
  const std::string* encode_into(const EntitySnapshot& entity, std::string& out) const;

  // Position of `name` among the chosen fields, or npos; a linear scan for the usual
  // handful of fields (cheaper than a binary search of strings), comparing names of up
  // to 16 bytes as two words.
  [[nodiscard]] std::size_t chosen_index(std::string_view name) const;

  static constexpr char kAbsent = 0, kNull = 1, kFalse = 2, kTrue = 3, kInt = 4, kDouble = 5, kString = 6;

  static Error duplicate(const EntitySnapshot& entity, std::string_view name);

  static void append_name(std::string_view name, std::string& out);
  static void append_value(const FieldValue& value, std::string& out);

  static std::size_t value_size(const FieldValue& value);
  static char* write_u32(std::uint32_t v, char* w);
  static char* write_u64(std::uint64_t v, char* w);
  // Writes the encoding of `value`: value_size(value) bytes at `w`.
  static char* write_value(const FieldValue& value, char* w);
  static std::uint64_t double_bits(double d);

  static const std::string* encode_all(const EntitySnapshot& entity, std::string& out);

  std::vector<std::string> fields_;
  std::vector<std::string> encoded_names_;  ///< u32 length + name, per chosen field.
  std::vector<internal::PackedBytes> packed_names_;  ///< Names of up to 16 bytes packed, per chosen field.
};

namespace internal {
/// The 64-bit hash of an entity id used by the fingerprint table and the row buckets;
/// never 0 (0 marks an empty slot).
std::uint64_t entity_id_hash(std::string_view id) noexcept;
}  // namespace internal

}  // namespace pipeline::inline v0

#ifdef PIPELINE_HEADER_ONLY
#include "pipeline/change/fingerprint-inl.hpp"
#endif
