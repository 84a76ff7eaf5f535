#pragma once
/// @file
/// Entity snapshots and their fingerprints: xxHash (XXH3-64) over a canonical encoding.

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#ifndef XXH_INLINE_ALL
#define XXH_INLINE_ALL
#endif
#include <xxhash.h>

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
/// @code
///   pipeline::Fingerprinter fp({"injury_status", "minutes"});
///   pipeline::EntitySnapshot p{"lebron-james", {{"minutes", std::int64_t{34}}, {"injury_status", std::string("out")}}};
///   std::string scratch;
///   auto h = fp.fingerprint(p, scratch);   // same value on every machine, for any field order
/// @endcode
class Fingerprinter {
 public:
  static constexpr std::uint8_t kEncodingVersion = 1;

  /// `fields`: the names that matter (duplicates ignored); empty = every field.
  explicit Fingerprinter(std::vector<std::string> fields = {}) : fields_(std::move(fields)) {
    std::sort(fields_.begin(), fields_.end());
    fields_.erase(std::unique(fields_.begin(), fields_.end()), fields_.end());
    for (const auto& f : fields_) {
      encoded_names_.emplace_back();
      append_name(f, encoded_names_.back());
      packed_names_.push_back(f.size() <= 16 ? internal::pack_short(f) : internal::PackedBytes{});
    }
  }

  /// The chosen field names, sorted; empty = every field.
  [[nodiscard]] const std::vector<std::string>& fields() const { return fields_; }

  /// Appends the canonical encoding of `entity`'s chosen fields to `out` (cleared first).
  Status encode(const EntitySnapshot& entity, std::string& out) const {
    if (const std::string* repeated = encode_into(entity, out)) return fail(duplicate(entity, *repeated));
    return ok();
  }

  /// The fingerprint of `entity`; `scratch` is a reusable buffer (keep one per thread).
  Result<std::uint64_t> fingerprint(const EntitySnapshot& entity, std::string& scratch) const {
    if (const std::string* repeated = encode_into(entity, scratch)) return fail(duplicate(entity, *repeated));
    return static_cast<std::uint64_t>(XXH3_64bits(scratch.data(), scratch.size()));
  }

  /// Convenience overload that allocates its own buffer.
  [[nodiscard]] Result<std::uint64_t> fingerprint(const EntitySnapshot& entity) const {
    std::string scratch;
    return fingerprint(entity, scratch);
  }

 private:
  // The encoding into `out`; on a repeated chosen field returns its name (no Status on
  // this path: a void Result zero-fills its Error storage on every success).
  const std::string* encode_into(const EntitySnapshot& entity, std::string& out) const {
    out.clear();
    out.push_back(static_cast<char>(kEncodingVersion));
    if (fields_.empty()) return encode_all(entity, out);
    // Slot per chosen field; found[i] indexes into entity.fields (or npos when absent).
    constexpr std::size_t kNone = std::numeric_limits<std::size_t>::max();
    std::size_t small[16];
    std::vector<std::size_t> large;
    std::size_t* found = small;
    if (fields_.size() > 16) {
      large.assign(fields_.size(), kNone);
      found = large.data();
    } else {
      std::fill(std::begin(small), std::end(small), kNone);  // a fixed-size fill: inline stores, no memset call
    }
    for (std::size_t i = 0; i < entity.fields.size(); ++i) {
      const std::size_t f = chosen_index(entity.fields[i].name);
      if (f == kNone) continue;
      if (found[f] != kNone) return &fields_[f];
      found[f] = i;
    }
    // Size the output once, then write it with plain stores (no per-piece growth checks).
    std::size_t size = 1;
    for (std::size_t f = 0; f < fields_.size(); ++f)
      size += encoded_names_[f].size() + (found[f] == kNone ? 1 : value_size(entity.fields[found[f]].value));
    out.resize(size);
    char* w = out.data() + 1;
    for (std::size_t f = 0; f < fields_.size(); ++f) {
      std::memcpy(w, encoded_names_[f].data(), encoded_names_[f].size());
      w += encoded_names_[f].size();
      if (found[f] == kNone)
        *w++ = kAbsent;
      else
        w = write_value(entity.fields[found[f]].value, w);
    }
    return nullptr;
  }

  // Position of `name` among the chosen fields, or npos; a linear scan for the usual
  // handful of fields (cheaper than a binary search of strings), comparing names of up
  // to 16 bytes as two words.
  [[nodiscard]] std::size_t chosen_index(std::string_view name) const {
    if (fields_.size() <= 8) {
      if (name.size() <= 16) {
        const auto key = internal::pack_short(name);
        for (std::size_t f = 0; f < fields_.size(); ++f)
          if (fields_[f].size() == name.size() && packed_names_[f] == key) return f;
      } else {
        for (std::size_t f = 0; f < fields_.size(); ++f)
          if (fields_[f] == name) return f;
      }
      return std::numeric_limits<std::size_t>::max();
    }
    const auto it = std::lower_bound(fields_.begin(), fields_.end(), name);
    return it != fields_.end() && *it == name ? static_cast<std::size_t>(it - fields_.begin())
                                              : std::numeric_limits<std::size_t>::max();
  }

  static constexpr char kAbsent = 0, kNull = 1, kFalse = 2, kTrue = 3, kInt = 4, kDouble = 5, kString = 6;

  static Error duplicate(const EntitySnapshot& entity, std::string_view name) {
    return Error{ErrorCode::kInvalidArgument,
                 fmt::format("entity '{}' has field '{}' more than once", entity.id.substr(0, 64), name),
                 {{"entity_id", entity.id.substr(0, 64)}, {"field", std::string(name)}}};
  }

  static void append_name(std::string_view name, std::string& out) {
    char len[4];
    write_u32(static_cast<std::uint32_t>(name.size()), len);
    out.append(len, 4);
    out.append(name);
  }
  static void append_value(const FieldValue& value, std::string& out) {
    const std::size_t at = out.size();
    out.resize(at + value_size(value));
    write_value(value, out.data() + at);
  }

  static std::size_t value_size(const FieldValue& value) {
    switch (value.index()) {
      case 0:
      case 1: return 1;
      case 2:
      case 3: return 9;
      default: return 5 + std::get<std::string>(value).size();
    }
  }
  static char* write_u32(std::uint32_t v, char* w) {
    for (int i = 0; i < 4; ++i) w[i] = static_cast<char>((v >> (8 * i)) & 0xFFu);
    return w + 4;
  }
  static char* write_u64(std::uint64_t v, char* w) {
    for (int i = 0; i < 8; ++i) w[i] = static_cast<char>((v >> (8 * i)) & 0xFFu);
    return w + 8;
  }
  // Writes the encoding of `value`: value_size(value) bytes at `w`.
  static char* write_value(const FieldValue& value, char* w) {
    switch (value.index()) {
      case 0: *w++ = kNull; return w;
      case 1: *w++ = std::get<bool>(value) ? kTrue : kFalse; return w;
      case 2: *w++ = kInt; return write_u64(static_cast<std::uint64_t>(std::get<std::int64_t>(value)), w);
      case 3: *w++ = kDouble; return write_u64(double_bits(std::get<double>(value)), w);
      default: {
        const auto& s = std::get<std::string>(value);
        *w++ = kString;
        w = write_u32(static_cast<std::uint32_t>(s.size()), w);
        std::memcpy(w, s.data(), s.size());
        return w + s.size();
      }
    }
  }
  static std::uint64_t double_bits(double d) {
    if (d == 0.0) d = 0.0;  // -0.0 == 0.0
    return std::isnan(d) ? 0x7FF8000000000000ull : std::bit_cast<std::uint64_t>(d);
  }

  static const std::string* encode_all(const EntitySnapshot& entity, std::string& out) {
    std::vector<const EntityField*> sorted;
    sorted.reserve(entity.fields.size());
    for (const auto& f : entity.fields) sorted.push_back(&f);
    std::sort(sorted.begin(), sorted.end(), [](const EntityField* a, const EntityField* b) { return a->name < b->name; });
    for (std::size_t i = 0; i < sorted.size(); ++i) {
      if (i > 0 && sorted[i]->name == sorted[i - 1]->name) return &sorted[i]->name;
      append_name(sorted[i]->name, out);
      append_value(sorted[i]->value, out);
    }
    return nullptr;
  }

  std::vector<std::string> fields_;
  std::vector<std::string> encoded_names_;  ///< u32 length + name, per chosen field.
  std::vector<internal::PackedBytes> packed_names_;  ///< Names of up to 16 bytes packed, per chosen field.
};

namespace internal {
/// The 64-bit hash of an entity id used by the fingerprint table and the row buckets;
/// never 0 (0 marks an empty slot).
inline std::uint64_t entity_id_hash(std::string_view id) noexcept {
  const std::uint64_t h = XXH3_64bits(id.data(), id.size());
  return h == 0 ? 1 : h;
}
}  // namespace internal

}  // namespace pipeline::inline v0
