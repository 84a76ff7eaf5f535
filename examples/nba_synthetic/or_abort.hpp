#pragma once
/// @file
/// `nba::or_abort`: for what the examples build from their own constants (the trigger
/// preset's tables, the demo's components), where an error is a bug in the example rather
/// than in its input, so it stops the program at once instead of running without the part.

#include <cstdio>
#include <cstdlib>
#include <type_traits>
#include <utility>

#include "pipeline/core/result.hpp"

namespace nba {

/// The value of `r` (nothing for a `Status`); on an error, prints "<who>: <error>" to stderr
/// and aborts. Not for input a user gave: that error is returned, never aborted on.
template <class T>
T or_abort(const char* who, pipeline::Result<T> r) {
  if (!r) {
    std::fprintf(stderr, "%s: %s\n", who, r.error().to_string().c_str());
    std::abort();
  }
  if constexpr (!std::is_void_v<T>) return std::move(*r);
}

}  // namespace nba
