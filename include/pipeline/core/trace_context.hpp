#pragma once
/// @file
/// W3C Trace Context (`traceparent`): create, parse, derive a child.

#include <cstdint>
#include <string>
#include <string_view>

#include "pipeline/core/config.hpp"
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
/// @snippet core_snippets_test.cpp trace_context
struct TraceContext {
  std::string trace_id;   ///< 32 lower-case hex digits, not all zero.
  std::string parent_id;  ///< 16 lower-case hex digits, not all zero.
  std::uint8_t flags = 1; ///< Bit 0: sampled.

  /// A new root context (sampled).
  static TraceContext create();

  /// The context for the next hop: same trace, a fresh parent id, same flags.
  [[nodiscard]] TraceContext child() const;

  /// `00-<trace_id>-<parent_id>-<flags>`.
  [[nodiscard]] std::string to_string() const;

  /// Parses a `traceparent` header value. A future version (not 00, not ff) is accepted
  /// when its first 55 characters follow the version-00 layout, as the spec asks.
  static Result<TraceContext> parse(std::string_view s);

  friend bool operator==(const TraceContext&, const TraceContext&) = default;

 private:
  static std::string new_span_id();
};

}  // namespace pipeline::inline v0

#ifdef PIPELINE_HEADER_ONLY
#include "pipeline/core/trace_context-inl.hpp"
#endif
