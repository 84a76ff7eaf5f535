#pragma once
/// @file
/// `MetricsRegistry`: the in-memory `MetricsSink`, rendered in the Prometheus text format.

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "pipeline/core/config.hpp"
#include "pipeline/core/metrics_sink.hpp"
#include "pipeline/core/result.hpp"

namespace pipeline::inline v0 {

/// One recorded `MetricsSink::event`.
struct RecordedEvent {
  std::uint64_t sequence = 0;  ///< 1 for the first event the registry saw.
  std::string name;
  Labels attributes;
};

/// Construction options of a `MetricsRegistry`.
struct MetricsRegistryOptions {
  /// How many recent events `recent_events()` keeps (0: none; the totals are kept).
  std::size_t event_capacity = 1024;
};

/// An in-process `MetricsSink`: counters, gauges, histograms with fixed buckets, labels,
/// and events kept in a bounded ring. `render_prometheus()` writes the Prometheus text
/// exposition format 0.0.4 (what a `/metrics` endpoint serves); the `*_value` readers
/// serve tests and end-of-run summaries.
///
/// Series are identified by name and label set (label order does not matter; labels are
/// rendered sorted by name). Families and series render in name/label order, so output
/// is stable. Event totals per name render as `pipeline_events_total{event="..."}`.
///
/// Metrics never fail the pipeline: an invalid metric or label name, a name reused with
/// another type, or a histogram asked with other buckets than its family's gets a
/// detached instrument that records nowhere; `rejected()` counts those.
///
/// **Thread safety:** every member and every handle may be used from any thread.
/// **Performance:** creating a handle locks and may allocate; `Counter::add` is one
/// relaxed atomic add, `Gauge` one atomic operation, `Histogram::observe` a scan of the
/// bucket bounds and two atomic adds. `event` locks and copies its attributes.
/// Rendering locks the registry and allocates the text.
/// **Errors:** none (see above).
///
/// **Example:**
/// @snippet memory_snippets_test.cpp metrics_registry
class MetricsRegistry final : public MetricsSink {
 public:
  /// An empty registry. **Errors:** none today; a `Result` like every component's
  /// `create`, so that a future option can be validated without breaking callers.
  [[nodiscard]] static Result<MetricsRegistry> create(MetricsRegistryOptions options = {});

  /// Moving keeps every handle valid (they share their series with the registry). Not
  /// thread safe: nothing may use either registry meanwhile; `other` may then only be
  /// destroyed or assigned to.
  MetricsRegistry(MetricsRegistry&& other) noexcept = default;
  MetricsRegistry& operator=(MetricsRegistry&& other) noexcept = default;

  std::shared_ptr<Counter> counter(std::string_view name, std::string_view help, Labels labels = {}) override;

  std::shared_ptr<Gauge> gauge(std::string_view name, std::string_view help, Labels labels = {}) override;

  /// `buckets` are upper bounds; they are sorted, deduplicated, and NaN or infinite
  /// bounds dropped (+Inf is always implied). A `le` label is rejected.
  std::shared_ptr<Histogram> histogram(std::string_view name, std::string_view help, std::vector<double> buckets,
                                       Labels labels = {}) override;

  void event(std::string_view name, Labels attributes) override;

  /// The value of a counter series, or nothing when it was never created.
  [[nodiscard]] std::optional<std::uint64_t> counter_value(std::string_view name, const Labels& labels = {}) const;

  /// The value of a gauge series, or nothing when it was never created.
  [[nodiscard]] std::optional<double> gauge_value(std::string_view name, const Labels& labels = {}) const;

  /// The number of observations of a histogram series, or nothing when it was never created.
  [[nodiscard]] std::optional<std::uint64_t> histogram_count(std::string_view name, const Labels& labels = {}) const;

  /// How many events named `name` were recorded (all of them, not only those still kept).
  [[nodiscard]] std::uint64_t event_count(std::string_view name) const;

  /// The most recent events, oldest first (at most `options.event_capacity`).
  [[nodiscard]] std::vector<RecordedEvent> recent_events() const;

  /// Instruments refused (bad name or label, type or bucket conflict).
  [[nodiscard]] std::uint64_t rejected() const;

  /// Everything in the Prometheus text exposition format 0.0.4
  /// (Content-Type `text/plain; version=0.0.4`).
  [[nodiscard]] std::string render_prometheus() const;

  /// Escapes a label value for the text format: `\` → `\\`, `"` → `\"`, newline → `\n`.
  static std::string escape_label_value(std::string_view v);

 private:
  explicit MetricsRegistry(const MetricsRegistryOptions& options) : event_capacity_(options.event_capacity) {}

  enum class Type { kCounter, kGauge, kHistogram };

  class CounterImpl final : public Counter {
   public:
    void add(std::uint64_t n) noexcept override { value_.fetch_add(n, std::memory_order_relaxed); }
    [[nodiscard]] std::uint64_t value() const noexcept { return value_.load(std::memory_order_relaxed); }

   private:
    std::atomic<std::uint64_t> value_{0};
  };

  class GaugeImpl final : public Gauge {
   public:
    void set(double v) noexcept override { value_.store(v, std::memory_order_relaxed); }
    void add(double d) noexcept override { value_.fetch_add(d, std::memory_order_relaxed); }
    [[nodiscard]] double value() const noexcept { return value_.load(std::memory_order_relaxed); }

   private:
    std::atomic<double> value_{0.0};
  };

  class HistogramImpl final : public Histogram {
   public:
    explicit HistogramImpl(std::vector<double> bounds)
        : bounds_(std::move(bounds)), counts_(std::make_unique<std::atomic<std::uint64_t>[]>(bounds_.size() + 1)) {}

    void observe(double v) noexcept override {
      // Bucket i counts bounds_[i-1] < v <= bounds_[i]; NaN lands in +Inf.
      std::size_t i = 0;
      while (i < bounds_.size() && !(v <= bounds_[i])) ++i;
      counts_[i].fetch_add(1, std::memory_order_relaxed);
      sum_.fetch_add(v, std::memory_order_relaxed);
    }
    /// Non-cumulative count of bucket `i` (`bounds.size()` is +Inf).
    [[nodiscard]] std::uint64_t bucket(std::size_t i) const noexcept {
      return counts_[i].load(std::memory_order_relaxed);
    }
    [[nodiscard]] std::uint64_t total() const noexcept {
      std::uint64_t n = 0;
      for (std::size_t i = 0; i <= bounds_.size(); ++i) n += bucket(i);
      return n;
    }
    [[nodiscard]] double sum() const noexcept { return sum_.load(std::memory_order_relaxed); }

   private:
    std::vector<double> bounds_;
    std::unique_ptr<std::atomic<std::uint64_t>[]> counts_;
    std::atomic<double> sum_{0.0};
  };

  struct Series {
    std::shared_ptr<CounterImpl> counter;
    std::shared_ptr<GaugeImpl> gauge;
    std::shared_ptr<HistogramImpl> histogram;
  };

  struct Family {
    Type type = Type::kCounter;
    std::string help;
    std::vector<double> buckets;
    std::map<std::string, Series> series;  // key: rendered label set, sorted by label name
  };

  static bool valid_metric_name(std::string_view n);

  // Sorts `labels` by name; false when a name is invalid or repeated (or `le` on a histogram).
  static bool normalize(Labels& labels, Type type);

  // `name="value",...` without braces.
  static std::string render_labels(const Labels& labels);

  static std::string braces(const std::string& labels);

  static std::string escape_help(std::string_view v);

  static std::string format_value(double v);

  static std::string_view type_name(Type t);

  static void render_histogram(std::string& out, const std::string& name, const std::string& labels,
                               const std::vector<double>& bounds, const HistogramImpl& h);

  // The family for a new handle, created on first use; nullptr (and counted) when the
  // request is invalid or conflicts with the family. mu_ held; sorts `labels`.
  Family* family_locked(std::string_view name, std::string_view help, Type type, Labels& labels,
                        const std::vector<double>* buckets);

  const Series* series_locked(std::string_view name, Type type, Labels labels) const;

  // On the heap so that the registry can move.
  mutable std::unique_ptr<std::mutex> mu_ = std::make_unique<std::mutex>();
  std::map<std::string, Family, std::less<>> families_;
  std::map<std::string, std::uint64_t, std::less<>> event_totals_;
  std::deque<RecordedEvent> events_;
  std::size_t event_capacity_;
  std::uint64_t event_sequence_ = 0;
  std::uint64_t rejected_ = 0;
};

}  // namespace pipeline::inline v0

#ifdef PIPELINE_HEADER_ONLY
#include "pipeline/memory/metrics_registry-inl.hpp"
#endif
