#pragma once
/// @file
/// `Error`: the one error value every fallible call of the library returns.

#include <map>
#include <string>
#include <string_view>
#include <utility>

#include "pipeline/core/config.hpp"
#include "pipeline/core/enum_names.hpp"

namespace pipeline::inline v0 {

/// The small set of error codes shared by the whole library.
///
/// Pick the code by what the caller should do about it, not by where it happened.
enum class ErrorCode {
  kInvalidArgument,     ///< Bad input: fix the input; retrying will not help.
  kNotFound,            ///< The addressed thing does not exist.
  kAlreadyExists,       ///< A conditional create found the thing already there.
  kFailedPrecondition,  ///< The system is not in a state that allows the call.
  kConflict,            ///< A concurrent writer won; the operation may be retried.
  kUnavailable,         ///< Transient: a store or transport is down; retry later.
  kBackpressure,        ///< A bounded buffer is full; slow down or retry later.
  kDeadlineExceeded,    ///< A wait ran out of time.
  kCancelled,           ///< The operation was stopped by shutdown or by the caller.
  kDataLoss,            ///< Stored data is corrupt or unreadable.
  kInternal,            ///< A broken invariant: a bug in the library or a port implementation.
};

/// The names of `ErrorCode`, in declaration order (see enum_names.hpp).
template <>
struct EnumNames<ErrorCode> {
  static constexpr EnumName<ErrorCode> kTable[] = {
      {ErrorCode::kInvalidArgument, "invalid_argument"},
      {ErrorCode::kNotFound, "not_found"},
      {ErrorCode::kAlreadyExists, "already_exists"},
      {ErrorCode::kFailedPrecondition, "failed_precondition"},
      {ErrorCode::kConflict, "conflict"},
      {ErrorCode::kUnavailable, "unavailable"},
      {ErrorCode::kBackpressure, "backpressure"},
      {ErrorCode::kDeadlineExceeded, "deadline_exceeded"},
      {ErrorCode::kCancelled, "cancelled"},
      {ErrorCode::kDataLoss, "data_loss"},
      {ErrorCode::kInternal, "internal"},
  };
};

/// The stable, lower-case name of an error code ("invalid_argument", ...).
constexpr std::string_view to_string(ErrorCode code) noexcept { return enum_name(code, "unknown"); }

/// True for codes where the same call may succeed later without any change by the caller.
constexpr bool is_transient(ErrorCode code) noexcept {
  return code == ErrorCode::kConflict || code == ErrorCode::kUnavailable ||
         code == ErrorCode::kBackpressure || code == ErrorCode::kDeadlineExceeded;
}

/// An error value: a code, a sentence a user can act on, and structured context.
///
/// `message` is written for a person ("game_date '2025-02-30' is not a calendar date");
/// `context` carries the machine-readable details (field names, ids, topics).
///
/// **Thread safety:** a plain value; distinct objects may be used from distinct threads.
/// **Performance:** allocates its strings; errors are the rare path.
///
/// **Example:**
/// @snippet core_snippets_test.cpp error
struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;
  std::map<std::string, std::string> context;

  /// Returns a copy with one more context entry.
  [[nodiscard]] Error with(std::string key, std::string value) const;

  /// "code: message [k=v, ...]" for logs and command-line output.
  [[nodiscard]] std::string to_string() const;

  friend bool operator==(const Error&, const Error&) = default;
};

}  // namespace pipeline::inline v0

#ifdef PIPELINE_HEADER_ONLY
#include "pipeline/core/error-inl.hpp"
#endif
