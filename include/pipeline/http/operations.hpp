#pragma once
/// @file
/// The operations endpoints: `GET /metrics` (Prometheus text), `GET /health` (liveness),
/// `GET /ready` (readiness from a probe the service supplies).

#include <functional>
#include <string>
#include <vector>

#include "pipeline/core/result.hpp"
#include "pipeline/http/router.hpp"
#include "pipeline/memory/metrics_registry.hpp"
#include "pipeline/runtime/service_runtime.hpp"

namespace pipeline::inline v0::http {

/// One dependency's state in a readiness answer ("store", "transport").
struct ReadinessCheck {
  std::string name;
  bool ok = false;
  std::string detail;  ///< A sentence when not ok (never a secret: no URIs with passwords).
};

/// What `/ready` reports: ready when every check is ok.
struct ReadinessReport {
  std::vector<ReadinessCheck> checks;
  [[nodiscard]] bool ready() const;
};

/// Supplied by the service runtime: asks each dependency (store, transport) whether it is
/// reachable now. Called on the server's I/O thread for each `/ready` request, so it
/// should answer quickly.
using ReadinessProbe = std::function<ReadinessReport()>;

/// The readiness a `ServiceRuntime` reports, as `/ready` answers it: checks "store" and
/// "transport" (their errors as the detail) and "accepting" (false once a stop was
/// requested, so a load balancer stops sending while the service drains).
///
/// **Example:**
/// @snippet http_snippets_test.cpp readiness_from
ReadinessReport readiness_from(const ServiceHealth& health);

/// What `mount_operations` serves.
struct OperationsOptions {
  /// Rendered by `/metrics`; null: `/metrics` is not mounted.
  const MetricsRegistry* metrics = nullptr;
  /// Answers `/ready`; empty: `/ready` answers ready (the process is up, nothing to check).
  ReadinessProbe readiness;
  /// Named in `/health`'s answer.
  std::string service = "pipeline";
};

/// Mounts `GET /health` (200 `{"status":"ok"}`), `GET /ready` (200 or 503 with each
/// check) and `GET /metrics` (200, `text/plain; version=0.0.4`, the registry's text).
/// The server keeps `/health` and `/ready` open without a token by default.
///
/// **Thread safety:** mount before the server starts. The registry and the probe must
/// outlive the server. **Performance:** `/metrics` locks the registry while rendering.
/// **Errors:** the router's (`kAlreadyExists` when a path is mounted already).
///
/// **Example:**
/// @snippet http_snippets_test.cpp mount_operations
[[nodiscard]] Status mount_operations(Router& router, OperationsOptions options);

}  // namespace pipeline::inline v0::http
