#pragma once
/// @file
/// For adapter implementers: taking the library's own query parameter (`table_prefix`,
/// `key_prefix`) out of a server URI before the URI goes to the client library.

#include <optional>
#include <string>
#include <string_view>

#include "pipeline/core/config.hpp"

namespace pipeline::inline v0::internal {

/// Removes every `name=VALUE` query parameter from `uri` (keeping the others, in order)
/// and returns the last VALUE, or nullopt when there was none. The value is taken as
/// written (no percent-decoding); the adapter validates it.
/// **Thread safety:** a pure function. **Example:**
/// `uri = "postgresql://db/x?table_prefix=nba_&sslmode=require"` → returns `"nba_"`,
/// leaves `"postgresql://db/x?sslmode=require"`.
std::optional<std::string> take_uri_parameter(std::string& uri, std::string_view name);

}  // namespace pipeline::inline v0::internal

#ifdef PIPELINE_HEADER_ONLY
#include "pipeline/core/uri_parameter-inl.hpp"
#endif
