#pragma once
/// @file
/// `JsonObject`: a JSON value held behind a pointer, so public headers need only
/// nlohmann's forward declarations.

#include <concepts>
#include <memory>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "pipeline/core/config.hpp"

namespace pipeline::inline v0 {

/// A free-form JSON object carried by a value type (`Message::metadata`, `Alert::context`).
///
/// Why a box and not `nlohmann::json` itself: a by-value `nlohmann::json` member makes
/// every header that declares it include all of `<nlohmann/json.hpp>` (~95,000
/// preprocessed lines), and every consumer translation unit pays for it. This class keeps
/// the value behind a pointer, so its header needs only `<nlohmann/json_fwd.hpp>`; code
/// that reads or writes the value includes `<nlohmann/json.hpp>` itself and reaches it
/// through `*`, `->` or `[]`.
///
/// It behaves as a value: copies are deep, `==` compares contents, and a default-made box
/// (which allocates nothing) reads as the empty object `{}`, equal to a box holding `{}`.
/// Writing through `*`, `->` or `[]` on a non-const box creates the object first.
///
/// **Thread safety:** a plain value — concurrent reads are safe, writes need the caller's
/// synchronisation. **Performance:** moving is a pointer move; an unwritten box costs one
/// null pointer; copying copies the JSON tree.
///
/// **Example:**
/// @snippet core_snippets_test.cpp json_object
class JsonObject {
 public:
  /// The empty object `{}`; allocates nothing.
  JsonObject() noexcept = default;
  /// Holds `value` (normally an object; `validate_message` refuses anything else in a
  /// message). Implicit, so a `nlohmann::json` can be assigned directly.
  ///
  /// A template on purpose: a braced list does not deduce, so `m.metadata = {{"k", 1}}`
  /// fails to compile instead of silently becoming the array `["k", 1]` through a
  /// converting constructor. Write `m.metadata = nlohmann::json{{"k", 1}}`.
  template <std::same_as<nlohmann::json> Json>
  JsonObject(Json value) : JsonObject(Take{}, value) {}  // NOLINT(google-explicit-constructor)
  JsonObject(const JsonObject& other);
  JsonObject& operator=(const JsonObject& other);
  JsonObject(JsonObject&&) noexcept = default;
  JsonObject& operator=(JsonObject&&) noexcept = default;
  ~JsonObject() = default;

  /// The value; the shared empty object when the box was never written.
  [[nodiscard]] const nlohmann::json& operator*() const noexcept;
  [[nodiscard]] const nlohmann::json* operator->() const noexcept { return &**this; }
  /// The value, created as `{}` first if the box was never written. **Errors:** throws
  /// only `std::bad_alloc`, like any allocation.
  [[nodiscard]] nlohmann::json& operator*();
  [[nodiscard]] nlohmann::json* operator->() { return &**this; }
  /// `(*this)[key]`: the member named `key`, created as null if absent. The value must be
  /// an object (nlohmann throws `type_error` otherwise, as it does for `json::operator[]`).
  nlohmann::json& operator[](std::string_view key);
  /// The member named `key`, or a shared null when the value has no such member or is not
  /// an object (unlike `const json::operator[]`, never undefined behaviour).
  const nlohmann::json& operator[](std::string_view key) const noexcept;

  /// True when the value is an empty object (or was never written).
  [[nodiscard]] bool empty() const noexcept;

  /// Compares contents; an unwritten box equals `{}`.
  friend bool operator==(const JsonObject& a, const JsonObject& b) noexcept;

 private:
  // A deleter defined where nlohmann::json is complete, so the defaulted members above
  // compile against the forward declaration alone.
  struct Take {};
  JsonObject(Take, nlohmann::json& value);  // moves from value

  struct Delete {
    void operator()(nlohmann::json* p) const noexcept;
  };
  std::unique_ptr<nlohmann::json, Delete> value_;
};

}  // namespace pipeline::inline v0

#ifdef PIPELINE_HEADER_ONLY
#include "pipeline/core/json_object-inl.hpp"
#endif
