#pragma once
/// @file
/// The `MetricsSink` port: counters, gauges, histograms and events.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pipeline/core/result.hpp"

namespace pipeline::inline v0 {

/// Metric labels as ordered (name, value) pairs.
using Labels = std::vector<std::pair<std::string, std::string>>;

/// A monotonically increasing count. `add` is lock-free in the shipped implementation.
class Counter {
 public:
  virtual ~Counter() = default;
  virtual void add(std::uint64_t n = 1) noexcept = 0;
};

/// A value that goes up and down.
class Gauge {
 public:
  virtual ~Gauge() = default;
  virtual void set(double value) noexcept = 0;
  virtual void add(double delta) noexcept = 0;
};

/// A distribution over fixed buckets.
class Histogram {
 public:
  virtual ~Histogram() = default;
  virtual void observe(double value) noexcept = 0;
};

/// The metrics port. Components ask for their instruments once (at construction) and
/// keep the handles, so the hot path is one virtual call and an atomic add — no name
/// lookup per event.
///
/// Asking twice for the same name and labels returns the same series. Names follow
/// Prometheus rules (`[a-zA-Z_:][a-zA-Z0-9_:]*`); counters end in `_total`.
///
/// **Thread safety:** every member and every handle may be used from any thread.
/// **Performance:** handle creation may allocate and lock; handle use must not block.
/// **Errors:** none surface: a sink that cannot record drops the sample (metrics never
/// fail the pipeline). `NullMetricsSink` is the default when none is injected.
///
/// **Example:**
/// @snippet core_snippets_test.cpp metrics_sink
class MetricsSink {
 public:
  virtual ~MetricsSink() = default;
  virtual std::shared_ptr<Counter> counter(std::string_view name, std::string_view help, Labels labels = {}) = 0;
  virtual std::shared_ptr<Gauge> gauge(std::string_view name, std::string_view help, Labels labels = {}) = 0;
  /// `buckets` are upper bounds in ascending order (+Inf is implied).
  virtual std::shared_ptr<Histogram> histogram(std::string_view name, std::string_view help,
                                               std::vector<double> buckets, Labels labels = {}) = 0;
  /// A discrete, structured occurrence (a trigger decided, a fallback taken).
  virtual void event(std::string_view name, Labels attributes) = 0;
};

namespace internal {
/// Whether `name` is a Prometheus label name: `[a-zA-Z_][a-zA-Z0-9_]*`, not starting with
/// `__` (reserved for Prometheus itself).
inline bool valid_metric_label_name(std::string_view name) {
  if (name.empty() || name.substr(0, 2) == "__") return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    if (!alpha && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}
}  // namespace internal

/// Checks labels that a component adds to all of its metrics (`*Options::metric_labels`).
/// A component checks them in `create()`: a sink gives an instrument with a bad label a
/// detached handle that records nowhere, so a typo would otherwise lose every sample.
/// **Errors:** `kInvalidArgument` naming the first invalid or repeated label name.
[[nodiscard]] inline Status check_metric_labels(const Labels& labels) {
  for (std::size_t i = 0; i < labels.size(); ++i) {
    const std::string& name = labels[i].first;
    if (!internal::valid_metric_label_name(name))
      return fail(ErrorCode::kInvalidArgument, "metric label name '{}' is not a Prometheus label name", name);
    for (std::size_t j = 0; j < i; ++j)
      if (labels[j].first == name) return fail(ErrorCode::kInvalidArgument, "metric label '{}' appears twice", name);
  }
  return ok();
}

/// A sink that records nothing; the default for components given no sink.
/// Thread-safe; every call is a no-op.
class NullMetricsSink final : public MetricsSink {
  struct NullCounter final : Counter {
    void add(std::uint64_t) noexcept override {}
  };
  struct NullGauge final : Gauge {
    void set(double) noexcept override {}
    void add(double) noexcept override {}
  };
  struct NullHistogram final : Histogram {
    void observe(double) noexcept override {}
  };

 public:
  std::shared_ptr<Counter> counter(std::string_view, std::string_view, Labels) override {
    return std::make_shared<NullCounter>();
  }
  std::shared_ptr<Gauge> gauge(std::string_view, std::string_view, Labels) override {
    return std::make_shared<NullGauge>();
  }
  std::shared_ptr<Histogram> histogram(std::string_view, std::string_view, std::vector<double>, Labels) override {
    return std::make_shared<NullHistogram>();
  }
  void event(std::string_view, Labels) override {}

  /// A process-wide instance for defaults.
  static NullMetricsSink& instance() {
    static NullMetricsSink sink;
    return sink;
  }
};

/// The sink a component records to: `sink` (an `*Options::metrics`), or
/// `NullMetricsSink::instance()` when it is null.
inline MetricsSink& metrics_or_null(MetricsSink* sink) noexcept {
  return sink != nullptr ? *sink : NullMetricsSink::instance();
}

}  // namespace pipeline::inline v0
