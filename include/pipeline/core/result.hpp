#pragma once
/// @file
/// `Result<T>`: a value or an `Error`, over tl-expected 1.0.

#include <type_traits>
#include <utility>

#include <fmt/format.h>
#include <tl/expected.hpp>

#include "pipeline/core/error.hpp"

namespace pipeline::inline v0 {

/// A `T` or an `Error`. `Result<void>` (alias `Status`) is success or an `Error`.
///
/// It is a `tl::expected<T, Error>` marked `[[nodiscard]]`: a call whose result is
/// dropped does not compile under `-Werror` (and warns without it), so an error cannot be
/// lost by accident. Where dropping one is right, the library says so through a named
/// helper (`best_effort_ack` and its siblings for deliveries) or `discard_result` with a
/// comment saying why.
///
/// tl-expected 1.0 offers `map`, `and_then`, `or_else`, `map_error`, `value_or`;
/// it has no `transform_error`, so the library never uses it. Those members return a
/// plain `tl::expected`, which converts back to a `Result` implicitly; `and_then` needs a
/// callable returning a plain `tl::expected` (tl-expected checks the exact type).
///
/// **Thread safety:** a plain value. **Performance:** no allocation beyond `T` and `Error`;
/// the same layout as `tl::expected<T, Error>`.
///
/// **Example:**
/// @code
///   pipeline::Result<int> parse_count(std::string_view s);
///   auto r = parse_count("12").map([](int n) { return n * 2; });
///   if (!r) std::cerr << r.error().to_string();
/// @endcode
template <class T>
class [[nodiscard]] Result : public tl::expected<T, Error> {
 public:
  using Base = tl::expected<T, Error>;
  using Base::Base;
  Result() = default;
  // Implicit, so that `map`'s and `or_else`'s plain `tl::expected` become a `Result` again.
  Result(const Base& other) : Base(other) {}             // NOLINT(google-explicit-constructor)
  Result(Base&& other) noexcept(std::is_nothrow_move_constructible_v<Base>)  // NOLINT
      : Base(std::move(other)) {}
};

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

/// Drops `result` on purpose. Only for results whose failure is handled elsewhere; every
/// call says in a comment where (e.g. "a failed trim is caught up by the next pass"). It
/// exists so that such a drop is visible and searchable, unlike a cast to `void`.
template <class T>
constexpr void discard_result(const Result<T>& result) noexcept {
  static_cast<void>(result);
}

}  // namespace pipeline::inline v0

/// Returns the error of `expr` (a `Result`) from the enclosing function, which must return a `Result`.
#define PIPELINE_TRY(expr)                                                   \
  do {                                                                       \
    if (auto pipeline_try_result_ = (expr); !pipeline_try_result_)           \
      return ::tl::unexpected<::pipeline::Error>(std::move(pipeline_try_result_).error()); \
  } while (false)
