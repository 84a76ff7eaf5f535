#pragma once
/// @file
/// Bodies of pipeline/change/fingerprint.hpp (see pipeline/core/config.hpp).

#include "pipeline/change/fingerprint.hpp"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <limits>

#include <fmt/format.h>

// The hash is inlined where the bodies are compiled (hot: one per entity id).
#ifndef XXH_INLINE_ALL
#define XXH_INLINE_ALL
#endif
#include <xxhash.h>

namespace pipeline::inline v0 {

PIPELINE_INLINE Fingerprinter::Fingerprinter(std::vector<std::string> fields) : fields_(std::move(fields)) {
  std::sort(fields_.begin(), fields_.end());
  fields_.erase(std::unique(fields_.begin(), fields_.end()), fields_.end());
  for (const auto& f : fields_) {
    encoded_names_.emplace_back();
    append_name(f, encoded_names_.back());
    packed_names_.push_back(f.size() <= 16 ? internal::pack_short(f) : internal::PackedBytes{});
  }
}

PIPELINE_INLINE Status Fingerprinter::encode(const EntitySnapshot& entity, std::string& out) const {
  if (const std::string* repeated = encode_into(entity, out)) return fail(duplicate(entity, *repeated));
  return ok();
}

PIPELINE_INLINE Result<std::uint64_t> Fingerprinter::fingerprint(const EntitySnapshot& entity,
                                                                 std::string& scratch) const {
  if (const std::string* repeated = encode_into(entity, scratch)) return fail(duplicate(entity, *repeated));
  return static_cast<std::uint64_t>(XXH3_64bits(scratch.data(), scratch.size()));
}

PIPELINE_INLINE Result<std::uint64_t> Fingerprinter::fingerprint(const EntitySnapshot& entity) const {
  std::string scratch;
  return fingerprint(entity, scratch);
}

PIPELINE_INLINE const std::string* Fingerprinter::encode_into(const EntitySnapshot& entity, std::string& out) const {
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

PIPELINE_INLINE std::size_t Fingerprinter::chosen_index(std::string_view name) const {
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

PIPELINE_INLINE Error Fingerprinter::duplicate(const EntitySnapshot& entity, std::string_view name) {
  return Error{ErrorCode::kInvalidArgument,
               fmt::format("entity '{}' has field '{}' more than once", entity.id.substr(0, 64), name),
               {{"entity_id", entity.id.substr(0, 64)}, {"field", std::string(name)}}};
}

PIPELINE_INLINE void Fingerprinter::append_name(std::string_view name, std::string& out) {
  char len[4];
  write_u32(static_cast<std::uint32_t>(name.size()), len);
  out.append(len, 4);
  out.append(name);
}

PIPELINE_INLINE void Fingerprinter::append_value(const FieldValue& value, std::string& out) {
  const std::size_t at = out.size();
  out.resize(at + value_size(value));
  write_value(value, out.data() + at);
}

PIPELINE_INLINE std::size_t Fingerprinter::value_size(const FieldValue& value) {
  switch (value.index()) {
    case 0:
    case 1: return 1;
    case 2:
    case 3: return 9;
    default: return 5 + std::get<std::string>(value).size();
  }
}

PIPELINE_INLINE char* Fingerprinter::write_u32(std::uint32_t v, char* w) {
  for (int i = 0; i < 4; ++i) w[i] = static_cast<char>((v >> (8 * i)) & 0xFFu);
  return w + 4;
}

PIPELINE_INLINE char* Fingerprinter::write_u64(std::uint64_t v, char* w) {
  for (int i = 0; i < 8; ++i) w[i] = static_cast<char>((v >> (8 * i)) & 0xFFu);
  return w + 8;
}

PIPELINE_INLINE char* Fingerprinter::write_value(const FieldValue& value, char* w) {
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

PIPELINE_INLINE std::uint64_t Fingerprinter::double_bits(double d) {
  if (d == 0.0) d = 0.0;  // -0.0 == 0.0
  return std::isnan(d) ? 0x7FF8000000000000ull : std::bit_cast<std::uint64_t>(d);
}

PIPELINE_INLINE const std::string* Fingerprinter::encode_all(const EntitySnapshot& entity, std::string& out) {
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

namespace internal {
PIPELINE_INLINE std::uint64_t entity_id_hash(std::string_view id) noexcept {
  const std::uint64_t h = XXH3_64bits(id.data(), id.size());
  return h == 0 ? 1 : h;
}
}  // namespace internal

}  // namespace pipeline::inline v0
