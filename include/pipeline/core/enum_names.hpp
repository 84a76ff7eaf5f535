#pragma once
/// @file
/// Enum names from one table: each enum states its names once, as a constexpr table in a
/// specialization of `EnumNames<E>`, and `enum_name` / `enum_from_name` (and the
/// enum's own `to_string` / parse) are built from it, so the two directions cannot drift.
///
/// **Thread safety:** pure constexpr functions. **Performance:** `enum_name` is one
/// indexed load when the table lists the enumerators in order (the usual case), else a
/// scan of a handful of entries; nothing allocates. **Errors:** `enum_from_name` answers
/// `std::nullopt` for an unknown name; the enum's own parse turns that into an `Error`.
///
/// **Example:**
/// @snippet core_snippets_test.cpp enum_names

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace pipeline::inline v0 {

/// One enumerator and its stable name.
template <class E>
struct EnumName {
  E value;
  std::string_view name;
};

/// Specialize with `static constexpr EnumName<E> kTable[] = {...};`, enumerators in
/// declaration order.
template <class E>
struct EnumNames;

/// The name of `value` in `EnumNames<E>::kTable`, or `fallback` for a value not listed.
template <class E>
constexpr std::string_view enum_name(E value, std::string_view fallback = "unknown") noexcept {
  constexpr auto& table = EnumNames<E>::kTable;
  const auto index = static_cast<std::size_t>(value);
  if (index < std::size(table) && table[index].value == value) return table[index].name;
  for (const auto& entry : table)
    if (entry.value == value) return entry.name;
  return fallback;
}

/// The enumerator named `name` (exact, case-sensitive), or `std::nullopt`.
template <class E>
constexpr std::optional<E> enum_from_name(std::string_view name) noexcept {
  for (const auto& entry : EnumNames<E>::kTable)
    if (entry.name == name) return entry.value;
  return std::nullopt;
}

/// Every name, for messages: "success, partial, no_data or failed".
template <class E>
std::string enum_name_list() {
  constexpr auto& table = EnumNames<E>::kTable;
  std::string out;
  for (std::size_t i = 0; i < std::size(table); ++i) {
    if (i != 0) out += i + 1 == std::size(table) ? " or " : ", ";
    out += table[i].name;
  }
  return out;
}

}  // namespace pipeline::inline v0
