#pragma once
/// @file
/// `DecodeLimits`: the bounds every decoder of the library enforces before parsing.

#include <cstddef>

namespace pipeline::inline v0 {

/// Bounds a decoder enforces before it parses anything.
///
/// Both are checked without recursion, so hostile input (a 10 MB blob, 100000 nested
/// brackets) is refused cheaply instead of exhausting memory or the stack.
///
/// **Thread safety:** a plain value. **Performance:** checking costs one pass over the bytes.
/// **Errors:** exceeding either bound is `kInvalidArgument` from the decoder.
///
/// **Example:**
/// @snippet core_snippets_test.cpp decode_limits
struct DecodeLimits {
  std::size_t max_bytes = 1024 * 1024;  ///< Larger input is refused before parsing.
  int max_depth = 64;                   ///< Deepest nesting of objects/arrays (the top object is 1).
};

}  // namespace pipeline::inline v0
