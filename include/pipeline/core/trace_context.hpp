#pragma once
/// @file
/// W3C Trace Context (`traceparent`): create, parse, derive a child.

#include <cstdint>
#include <string>
#include <string_view>

#include "pipeline/core/ids.hpp"
#include "pipeline/core/result.hpp"

namespace pipeline::inline v0 {

/// A W3C `traceparent`: version 00, a 16-byte trace id, an 8-byte parent (span) id and
/// flags, written `00-<32 hex>-<16 hex>-<2 hex>`.
///
/// Every completion message carries one, so a Phase 4 trigger can be followed back to
/// the Phase 1 scraper in any tracing backend.
///
/// **Thread safety:** a plain value. **Performance:** parse is allocation-free until the
/// strings are stored; `create`/`child` draw from a per-thread generator.
/// **Errors:** `parse` returns `kInvalidArgument` for a malformed header, version `ff`,
/// upper-case hex, or an all-zero trace or parent id (all invalid per the spec).
///
/// **Example:**
/// @code
///   auto root = pipeline::TraceContext::create();
///   auto hop = root.child();                         // same trace id, new parent id
///   auto back = pipeline::TraceContext::parse(hop.to_string());
/// @endcode
struct TraceContext {
  std::string trace_id;   ///< 32 lower-case hex digits, not all zero.
  std::string parent_id;  ///< 16 lower-case hex digits, not all zero.
  std::uint8_t flags = 1; ///< Bit 0: sampled.

  /// A new root context (sampled).
  static TraceContext create() {
    auto& rng = internal::id_rng();
    TraceContext t;
    do {
      t.trace_id.clear();
      internal::append_hex(t.trace_id, rng(), 16);
      internal::append_hex(t.trace_id, rng(), 16);
    } while (t.trace_id.find_first_not_of('0') == std::string::npos);
    t.parent_id = new_span_id();
    return t;
  }

  /// The context for the next hop: same trace, a fresh parent id, same flags.
  [[nodiscard]] TraceContext child() const { return TraceContext{trace_id, new_span_id(), flags}; }

  /// `00-<trace_id>-<parent_id>-<flags>`.
  [[nodiscard]] std::string to_string() const {
    std::string out = "00-";
    out += trace_id;
    out += '-';
    out += parent_id;
    out += '-';
    internal::append_hex(out, flags, 2);
    return out;
  }

  /// Parses a `traceparent` header value. A future version (not 00, not ff) is accepted
  /// when its first 55 characters follow the version-00 layout, as the spec asks.
  static Result<TraceContext> parse(std::string_view s) {
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

  friend bool operator==(const TraceContext&, const TraceContext&) = default;

 private:
  static std::string new_span_id() {
    auto& rng = internal::id_rng();
    std::uint64_t v;
    do v = rng(); while (v == 0);
    std::string out;
    internal::append_hex(out, v, 16);
    return out;
  }
};

}  // namespace pipeline::inline v0
