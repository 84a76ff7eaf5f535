#pragma once
/// @file
/// `Result<T>`: a value or an `Error`, over tl-expected 1.0.

#include <utility>

#include <fmt/format.h>
#include <tl/expected.hpp>

#include "pipeline/core/error.hpp"

namespace pipeline::inline v0 {

/// A `T` or an `Error`. `Result<void>` (alias `Status`) is success or an `Error`.
///
/// tl-expected 1.0 offers `map`, `and_then`, `or_else`, `map_error`, `value_or`;
/// it has no `transform_error`, so the library never uses it.
///
/// **Thread safety:** a plain value. **Performance:** no allocation beyond `T` and `Error`.
///
/// **Example:**
/// @snippet core_snippets_test.cpp result_parse_count
/// @snippet core_snippets_test.cpp result
template <class T>
using Result = tl::expected<T, Error>;

/// Success or an `Error`.
using Status = Result<void>;

/// The success value of a `Status`.
inline Status ok() { return {}; }

/// An unexpected `Error` built from a code and a message, to return from a `Result` function.
inline tl::unexpected<Error> fail(ErrorCode code, std::string message) {
  return tl::unexpected<Error>(Error{code, std::move(message), {}});
}

/// Like `fail(code, message)` with a fmt format string.
template <class... Args>
tl::unexpected<Error> fail(ErrorCode code, fmt::format_string<Args...> format, Args&&... args) {
  return tl::unexpected<Error>(Error{code, fmt::format(format, std::forward<Args>(args)...), {}});
}

/// Wraps an existing `Error` as the unexpected value of a `Result`.
inline tl::unexpected<Error> fail(Error error) { return tl::unexpected<Error>(std::move(error)); }

}  // namespace pipeline::inline v0

/// Returns the error of `expr` (a `Result`) from the enclosing function, which must return a `Result`.
#define PIPELINE_TRY(expr)                                                   \
  do {                                                                       \
    if (auto pipeline_try_result_ = (expr); !pipeline_try_result_)           \
      return ::tl::unexpected<::pipeline::Error>(std::move(pipeline_try_result_).error()); \
  } while (false)
