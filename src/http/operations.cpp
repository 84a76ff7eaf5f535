// The operations endpoints: /metrics, /health, /ready.
#include "pipeline/http/operations.hpp"

#include <algorithm>

#include <nlohmann/json.hpp>

namespace pipeline::inline v0::http {

bool ReadinessReport::ready() const {
  return std::all_of(checks.begin(), checks.end(), [](const ReadinessCheck& c) { return c.ok; });
}

ReadinessReport readiness_from(const ServiceHealth& health) {
  ReadinessReport r;
  r.checks.push_back({"store", !health.store_error, health.store_error ? health.store_error->message : ""});
  r.checks.push_back(
      {"transport", !health.transport_error, health.transport_error ? health.transport_error->message : ""});
  r.checks.push_back({"accepting", !health.stopping, health.stopping ? "the service is stopping" : ""});
  return r;
}

Status mount_operations(Router& router, OperationsOptions options) {
  const std::string service = options.service;
  PIPELINE_TRY(router.add("GET", "/health", [service](const HttpRequest&) {
    return HttpResponse::json(200, {{"status", "ok"}, {"service", service}});
  }));
  PIPELINE_TRY(router.add("GET", "/ready", [probe = options.readiness, service](const HttpRequest&) {
    ReadinessReport report;
    if (probe) report = probe();
    nlohmann::json checks = nlohmann::json::array();
    for (const auto& c : report.checks) {
      nlohmann::json one{{"name", c.name}, {"ok", c.ok}};
      if (!c.detail.empty()) one["detail"] = c.detail;
      checks.push_back(std::move(one));
    }
    const bool ready = report.ready();
    return HttpResponse::json(ready ? 200 : 503,
                              {{"status", ready ? "ready" : "not_ready"}, {"service", service}, {"checks", checks}});
  }));
  if (options.metrics) {
    PIPELINE_TRY(router.add("GET", "/metrics", [metrics = options.metrics](const HttpRequest&) {
      return HttpResponse::text(200, metrics->render_prometheus(), "text/plain; version=0.0.4; charset=utf-8");
    }));
  }
  return ok();
}

}  // namespace pipeline::inline v0::http
