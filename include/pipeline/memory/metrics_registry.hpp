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

#include "pipeline/core/metrics_sink.hpp"

namespace pipeline::inline v0 {

/// One recorded `MetricsSink::event`.
struct RecordedEvent {
  std::uint64_t sequence = 0;  ///< 1 for the first event the registry saw.
  std::string name;
  Labels attributes;
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
/// @code
///   pipeline::MetricsRegistry metrics;
///   metrics.counter("pipeline_published_total", "Messages published", {{"topic", "t"}})->add();
///   std::cout << metrics.render_prometheus();
///   metrics.counter_value("pipeline_published_total", {{"topic", "t"}});   // 1
/// @endcode
class MetricsRegistry final : public MetricsSink {
 public:
  /// `event_capacity`: how many recent events `recent_events()` keeps.
  explicit MetricsRegistry(std::size_t event_capacity = 1024) : event_capacity_(event_capacity) {}

  std::shared_ptr<Counter> counter(std::string_view name, std::string_view help, Labels labels = {}) override {
    std::lock_guard lock(mu_);
    Family* f = family_locked(name, help, Type::kCounter, labels, nullptr);
    if (f == nullptr) return std::make_shared<CounterImpl>();
    auto& slot = f->series[render_labels(labels)];
    if (!slot.counter) slot.counter = std::make_shared<CounterImpl>();
    return slot.counter;
  }

  std::shared_ptr<Gauge> gauge(std::string_view name, std::string_view help, Labels labels = {}) override {
    std::lock_guard lock(mu_);
    Family* f = family_locked(name, help, Type::kGauge, labels, nullptr);
    if (f == nullptr) return std::make_shared<GaugeImpl>();
    auto& slot = f->series[render_labels(labels)];
    if (!slot.gauge) slot.gauge = std::make_shared<GaugeImpl>();
    return slot.gauge;
  }

  /// `buckets` are upper bounds; they are sorted, deduplicated, and NaN or infinite
  /// bounds dropped (+Inf is always implied). A `le` label is rejected.
  std::shared_ptr<Histogram> histogram(std::string_view name, std::string_view help, std::vector<double> buckets,
                                       Labels labels = {}) override {
    buckets.erase(std::remove_if(buckets.begin(), buckets.end(), [](double b) { return !std::isfinite(b); }),
                  buckets.end());
    std::sort(buckets.begin(), buckets.end());
    buckets.erase(std::unique(buckets.begin(), buckets.end()), buckets.end());
    std::lock_guard lock(mu_);
    Family* f = family_locked(name, help, Type::kHistogram, labels, &buckets);
    if (f == nullptr) return std::make_shared<HistogramImpl>(std::move(buckets));
    auto& slot = f->series[render_labels(labels)];
    if (!slot.histogram) slot.histogram = std::make_shared<HistogramImpl>(f->buckets);
    return slot.histogram;
  }

  void event(std::string_view name, Labels attributes) override {
    std::lock_guard lock(mu_);
    ++event_totals_[std::string(name)];
    if (event_capacity_ == 0) return;
    if (events_.size() == event_capacity_) events_.pop_front();
    events_.push_back({++event_sequence_, std::string(name), std::move(attributes)});
  }

  /// The value of a counter series, or nothing when it was never created.
  [[nodiscard]] std::optional<std::uint64_t> counter_value(std::string_view name, const Labels& labels = {}) const {
    std::lock_guard lock(mu_);
    const Series* s = series_locked(name, Type::kCounter, labels);
    if (s == nullptr || !s->counter) return std::nullopt;
    return s->counter->value();
  }

  /// The value of a gauge series, or nothing when it was never created.
  [[nodiscard]] std::optional<double> gauge_value(std::string_view name, const Labels& labels = {}) const {
    std::lock_guard lock(mu_);
    const Series* s = series_locked(name, Type::kGauge, labels);
    if (s == nullptr || !s->gauge) return std::nullopt;
    return s->gauge->value();
  }

  /// The number of observations of a histogram series, or nothing when it was never created.
  [[nodiscard]] std::optional<std::uint64_t> histogram_count(std::string_view name, const Labels& labels = {}) const {
    std::lock_guard lock(mu_);
    const Series* s = series_locked(name, Type::kHistogram, labels);
    if (s == nullptr || !s->histogram) return std::nullopt;
    return s->histogram->total();
  }

  /// How many events named `name` were recorded (all of them, not only those still kept).
  [[nodiscard]] std::uint64_t event_count(std::string_view name) const {
    std::lock_guard lock(mu_);
    const auto it = event_totals_.find(name);
    return it == event_totals_.end() ? 0 : it->second;
  }

  /// The most recent events, oldest first (at most `event_capacity`).
  [[nodiscard]] std::vector<RecordedEvent> recent_events() const {
    std::lock_guard lock(mu_);
    return {events_.begin(), events_.end()};
  }

  /// Instruments refused (bad name or label, type or bucket conflict).
  [[nodiscard]] std::uint64_t rejected() const {
    std::lock_guard lock(mu_);
    return rejected_;
  }

  /// Everything in the Prometheus text exposition format 0.0.4
  /// (Content-Type `text/plain; version=0.0.4`).
  [[nodiscard]] std::string render_prometheus() const {
    std::lock_guard lock(mu_);
    std::string out;
    for (const auto& [name, f] : families_) {
      out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, escape_help(f.help), name, type_name(f.type));
      for (const auto& [labels, s] : f.series) {
        switch (f.type) {
          case Type::kCounter:
            out += fmt::format("{}{} {}\n", name, braces(labels), s.counter->value());
            break;
          case Type::kGauge:
            out += fmt::format("{}{} {}\n", name, braces(labels), format_value(s.gauge->value()));
            break;
          case Type::kHistogram: render_histogram(out, name, labels, f.buckets, *s.histogram); break;
        }
      }
    }
    if (!event_totals_.empty()) {
      out += "# HELP pipeline_events_total Events recorded, by event name\n# TYPE pipeline_events_total counter\n";
      for (const auto& [event, n] : event_totals_)
        out += fmt::format("pipeline_events_total{{event=\"{}\"}} {}\n", escape_label_value(event), n);
    }
    return out;
  }

  /// Escapes a label value for the text format: `\` → `\\`, `"` → `\"`, newline → `\n`.
  static std::string escape_label_value(std::string_view v) {
    std::string out;
    out.reserve(v.size());
    for (const char c : v) {
      if (c == '\\') out += "\\\\";
      else if (c == '"') out += "\\\"";
      else if (c == '\n') out += "\\n";
      else out += c;
    }
    return out;
  }

 private:
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

  static bool valid_metric_name(std::string_view n) {
    if (n.empty()) return false;
    for (std::size_t i = 0; i < n.size(); ++i) {
      const char c = n[i];
      const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
      if (!alpha && !(i > 0 && c >= '0' && c <= '9')) return false;
    }
    return true;
  }

  static bool valid_label_name(std::string_view n) {
    if (n.empty() || n.substr(0, 2) == "__") return false;
    for (std::size_t i = 0; i < n.size(); ++i) {
      const char c = n[i];
      const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
      if (!alpha && !(i > 0 && c >= '0' && c <= '9')) return false;
    }
    return true;
  }

  // Sorts `labels` by name; false when a name is invalid or repeated (or `le` on a histogram).
  static bool normalize(Labels& labels, Type type) {
    std::sort(labels.begin(), labels.end());
    for (std::size_t i = 0; i < labels.size(); ++i) {
      if (!valid_label_name(labels[i].first)) return false;
      if (i > 0 && labels[i].first == labels[i - 1].first) return false;
      if (type == Type::kHistogram && labels[i].first == "le") return false;
    }
    return true;
  }

  // `name="value",...` without braces.
  static std::string render_labels(const Labels& labels) {
    std::string out;
    for (const auto& [k, v] : labels) {
      if (!out.empty()) out += ',';
      out += fmt::format("{}=\"{}\"", k, escape_label_value(v));
    }
    return out;
  }

  static std::string braces(const std::string& labels) { return labels.empty() ? "" : "{" + labels + "}"; }

  static std::string escape_help(std::string_view v) {
    std::string out;
    for (const char c : v) {
      if (c == '\\') out += "\\\\";
      else if (c == '\n') out += "\\n";
      else out += c;
    }
    return out;
  }

  static std::string format_value(double v) {
    if (std::isnan(v)) return "NaN";
    if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
    return fmt::format("{}", v);
  }

  static std::string_view type_name(Type t) {
    switch (t) {
      case Type::kCounter: return "counter";
      case Type::kGauge: return "gauge";
      case Type::kHistogram: return "histogram";
    }
    return "untyped";
  }

  static void render_histogram(std::string& out, const std::string& name, const std::string& labels,
                               const std::vector<double>& bounds, const HistogramImpl& h) {
    const std::string sep = labels.empty() ? "" : ",";
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i <= bounds.size(); ++i) {
      cumulative += h.bucket(i);
      const std::string le = i < bounds.size() ? format_value(bounds[i]) : "+Inf";
      out += fmt::format("{}_bucket{{{}{}le=\"{}\"}} {}\n", name, labels, sep, le, cumulative);
    }
    // _count is the +Inf bucket, so the two always agree even while observations race.
    out += fmt::format("{}_sum{} {}\n{}_count{} {}\n", name, braces(labels), format_value(h.sum()), name,
                       braces(labels), cumulative);
  }

  // The family for a new handle, created on first use; nullptr (and counted) when the
  // request is invalid or conflicts with the family. mu_ held; sorts `labels`.
  Family* family_locked(std::string_view name, std::string_view help, Type type, Labels& labels,
                        const std::vector<double>* buckets) {
    if (!valid_metric_name(name) || !normalize(labels, type)) {
      ++rejected_;
      return nullptr;
    }
    auto it = families_.find(name);
    if (it == families_.end()) {
      Family f;
      f.type = type;
      f.help = std::string(help);
      if (buckets != nullptr) f.buckets = *buckets;
      it = families_.emplace(std::string(name), std::move(f)).first;
    }
    Family& f = it->second;
    if (f.type != type || (buckets != nullptr && f.buckets != *buckets)) {
      ++rejected_;
      return nullptr;
    }
    return &f;
  }

  const Series* series_locked(std::string_view name, Type type, Labels labels) const {
    const auto it = families_.find(name);
    if (it == families_.end() || it->second.type != type || !normalize(labels, type)) return nullptr;
    const auto s = it->second.series.find(render_labels(labels));
    return s == it->second.series.end() ? nullptr : &s->second;
  }

  mutable std::mutex mu_;
  std::map<std::string, Family, std::less<>> families_;
  std::map<std::string, std::uint64_t, std::less<>> event_totals_;
  std::deque<RecordedEvent> events_;
  std::size_t event_capacity_;
  std::uint64_t event_sequence_ = 0;
  std::uint64_t rejected_ = 0;
};

}  // namespace pipeline::inline v0
