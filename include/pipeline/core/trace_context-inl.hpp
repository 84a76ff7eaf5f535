#pragma once
/// @file
/// Bodies of pipeline/core/trace_context.hpp (see pipeline/core/config.hpp).

#include "pipeline/core/trace_context.hpp"

#include "pipeline/core/ids.hpp"

namespace pipeline::inline v0 {

PIPELINE_INLINE TraceContext TraceContext::create() {
  TraceContext t;
  do {
    t.trace_id.clear();
    internal::append_hex(t.trace_id, internal::random_u64(), 16);
    internal::append_hex(t.trace_id, internal::random_u64(), 16);
  } while (t.trace_id.find_first_not_of('0') == std::string::npos);
  t.parent_id = new_span_id();
  return t;
}

PIPELINE_INLINE TraceContext TraceContext::child() const { return TraceContext{trace_id, new_span_id(), flags}; }

PIPELINE_INLINE std::string TraceContext::to_string() const {
  std::string out = "00-";
  out += trace_id;
  out += '-';
  out += parent_id;
  out += '-';
  internal::append_hex(out, flags, 2);
  return out;
}

PIPELINE_INLINE Result<TraceContext> TraceContext::parse(std::string_view s) {
  auto bad = [&](std::string_view why) {
    return fail(ErrorCode::kInvalidArgument, "traceparent '{}' is invalid: {}", s.substr(0, 80), why);
  };
  auto is_hex = [](std::string_view v) {
    for (char c : v)
      if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    return true;
  };
  if (s.size() < 55) return bad("expected 00-<32 hex>-<16 hex>-<2 hex>");
  const auto version = s.substr(0, 2);
  if (!is_hex(version) || s[2] != '-' || s[35] != '-' || s[52] != '-') return bad("expected 00-<32 hex>-<16 hex>-<2 hex>");
  if (version == "ff") return bad("version ff is forbidden");
  if (version == "00" && s.size() != 55) return bad("version 00 has exactly 55 characters");
  if (version != "00" && s.size() > 55 && s[55] != '-') return bad("unexpected data after flags");
  const auto trace = s.substr(3, 32), parent = s.substr(36, 16), fl = s.substr(53, 2);
  if (!is_hex(trace) || !is_hex(parent) || !is_hex(fl)) return bad("ids must be lower-case hex");
  if (trace.find_first_not_of('0') == std::string_view::npos) return bad("trace id is all zeros");
  if (parent.find_first_not_of('0') == std::string_view::npos) return bad("parent id is all zeros");
  auto nib = [](char c) { return static_cast<std::uint8_t>(c <= '9' ? c - '0' : c - 'a' + 10); };
  return TraceContext{std::string(trace), std::string(parent), static_cast<std::uint8_t>(nib(fl[0]) * 16 + nib(fl[1]))};
}

PIPELINE_INLINE std::string TraceContext::new_span_id() {
  std::uint64_t v;
  do v = internal::random_u64(); while (v == 0);
  std::string out;
  internal::append_hex(out, v, 16);
  return out;
}

}  // namespace pipeline::inline v0
