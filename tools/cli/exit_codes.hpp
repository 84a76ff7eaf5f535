#pragma once
// The exit codes of pipelinectl and of the example services (STYLE.md): 0 ok (including
// "nothing recorded yet"), 1 the operation failed, 2 bad usage or bad input, 3 not ready or
// only partial (only for commands whose purpose is to check readiness).

#include <cstdio>
#include <string_view>

#include "pipeline/core/error.hpp"

namespace pipelinectl {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitNotReady = 3;

/// Ends a command whose options a component refused (its `validate()` or `create()`):
/// prints "<what>: <message>" to stderr and returns the exit code, `kExitUsage` for
/// `kInvalidArgument` (what the user gave is refused) and `kExitFailed` for anything else.
inline int options_error_exit(std::string_view what, const pipeline::Error& error) {
  std::fprintf(stderr, "%.*s: %s\n", static_cast<int>(what.size()), what.data(), error.message.c_str());
  return error.code == pipeline::ErrorCode::kInvalidArgument ? kExitUsage : kExitFailed;
}

}  // namespace pipelinectl
