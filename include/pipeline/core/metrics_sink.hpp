#pragma once
/// @file
/// The `MetricsSink` port: counters, gauges, histograms and events.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

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

}  // namespace pipeline::inline v0
