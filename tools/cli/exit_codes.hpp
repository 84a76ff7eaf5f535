#pragma once
// The exit codes of pipelinectl and of the example services (STYLE.md): 0 ok (including
// "nothing recorded yet"), 1 the operation failed, 2 bad usage or bad input, 3 not ready or
// only partial (only for commands whose purpose is to check readiness).

namespace pipelinectl {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitNotReady = 3;

}  // namespace pipelinectl
