#pragma once
/// @file
/// Bodies of pipeline/core/json_object.hpp (see pipeline/core/config.hpp).

#include "pipeline/core/json_object.hpp"

#include <string>
#include <utility>

#include <nlohmann/json.hpp>

namespace pipeline::inline v0 {

PIPELINE_INLINE void JsonObject::Delete::operator()(nlohmann::json* p) const noexcept { delete p; }

PIPELINE_INLINE JsonObject::JsonObject(Take, nlohmann::json& value)
    : value_(new nlohmann::json(std::move(value))) {}

PIPELINE_INLINE JsonObject::JsonObject(const JsonObject& other)
    : value_(other.value_ ? new nlohmann::json(*other.value_) : nullptr) {}

PIPELINE_INLINE JsonObject& JsonObject::operator=(const JsonObject& other) {
  if (this != &other) *this = JsonObject(other);
  return *this;
}

PIPELINE_INLINE const nlohmann::json& JsonObject::operator*() const noexcept {
  static const nlohmann::json empty = nlohmann::json::object();
  return value_ ? *value_ : empty;
}

PIPELINE_INLINE nlohmann::json& JsonObject::operator*() {
  if (!value_) value_.reset(new nlohmann::json(nlohmann::json::object()));
  return *value_;
}

PIPELINE_INLINE nlohmann::json& JsonObject::operator[](std::string_view key) {
  return (**this)[std::string(key)];
}

PIPELINE_INLINE const nlohmann::json& JsonObject::operator[](std::string_view key) const noexcept {
  static const nlohmann::json null;
  if (!value_ || !value_->is_object()) return null;
  const auto it = value_->find(key);
  return it == value_->end() ? null : *it;
}

PIPELINE_INLINE bool JsonObject::empty() const noexcept {
  return !value_ || (value_->is_object() && value_->empty());
}

PIPELINE_INLINE bool operator==(const JsonObject& a, const JsonObject& b) noexcept {
  return *a == *b;
}

}  // namespace pipeline::inline v0
