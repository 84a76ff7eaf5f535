#pragma once
#include "pipeline/orchestrate/tracker_keys.hpp"

#include <algorithm>
#include <charconv>
#include <cstddef>
#include <system_error>

namespace pipeline::inline v0 {

PIPELINE_INLINE std::string TrackerKeys::description_key(std::string_view name) {
  std::string out(kDescriptionPrefix);
  out += name;
  return out;
}

PIPELINE_INLINE std::string TrackerKeys::registry_key(std::string_view name) {
  std::string out = "tracker/";
  out += name;
  out += "/registry";
  return out;
}

PIPELINE_INLINE std::string TrackerKeys::date_prefix(CalendarDate date) const {
  std::string out;
  out.reserve(32 + name_.size());
  out += "tracker/";
  out += name_;
  out += '/';
  out += date.to_string();
  out += '/';
  return out;
}

PIPELINE_INLINE void TrackerKeys::append_wave(std::string& out, int wave) {
  char digits[16];
  auto [end, ec] = std::to_chars(digits, digits + sizeof digits, wave);
  (void)ec;  // an int always fits
  out += 'w';
  out.append(static_cast<std::size_t>(std::max<std::ptrdiff_t>(0, 3 - (end - digits))), '0');
  out.append(digits, end);
}

PIPELINE_INLINE std::string TrackerKeys::wave_prefix(std::string_view date_prefix, int wave) {
  std::string out;
  out.reserve(date_prefix.size() + 24);
  out += date_prefix;
  append_wave(out, wave);
  out += '/';
  return out;
}

PIPELINE_INLINE std::string TrackerKeys::decision_key(std::string_view date_prefix, int wave) {
  std::string out;
  out.reserve(date_prefix.size() + 24);
  out += date_prefix;
  out += "decision/";
  append_wave(out, wave);
  return out;
}

PIPELINE_INLINE std::string TrackerKeys::open_prefix() const { return "tracker/" + name_ + "/open/"; }

PIPELINE_INLINE std::string TrackerKeys::open_key(CalendarDate date, int wave) const {
  std::string out = open_prefix();
  out += date.to_string();
  out += '/';
  append_wave(out, wave);
  return out;
}

PIPELINE_INLINE std::optional<std::pair<CalendarDate, int>> TrackerKeys::parse_open_key(std::string_view key) const {
  const std::string prefix = open_prefix();
  if (!key.starts_with(prefix)) return std::nullopt;
  key.remove_prefix(prefix.size());
  if (key.size() < 13 || key[10] != '/' || key[11] != 'w') return std::nullopt;
  auto date = CalendarDate::parse(key.substr(0, 10));
  auto wave = parse_wave_number(key.substr(12));
  if (!date || !wave) return std::nullopt;
  return std::make_pair(*date, *wave);
}

PIPELINE_INLINE std::optional<int> TrackerKeys::parse_wave_number(std::string_view s) {
  int n = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (ec != std::errc() || p != s.data() + s.size() || n < 0) return std::nullopt;
  return n;
}

}  // namespace pipeline::inline v0
