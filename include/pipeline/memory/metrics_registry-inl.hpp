#pragma once
/// @file
/// Bodies of pipeline/memory/metrics_registry.hpp.

#include "pipeline/memory/metrics_registry.hpp"

namespace pipeline::inline v0 {

PIPELINE_INLINE Result<MetricsRegistry> MetricsRegistry::create(MetricsRegistryOptions options) {
  return MetricsRegistry(options);
}

PIPELINE_INLINE std::shared_ptr<Counter> MetricsRegistry::counter(std::string_view name, std::string_view help, Labels labels) {
  std::lock_guard lock(*mu_);
  Family* f = family_locked(name, help, Type::kCounter, labels, nullptr);
  if (f == nullptr) return std::make_shared<CounterImpl>();
  auto& slot = f->series[render_labels(labels)];
  if (!slot.counter) slot.counter = std::make_shared<CounterImpl>();
  return slot.counter;
}

PIPELINE_INLINE std::shared_ptr<Gauge> MetricsRegistry::gauge(std::string_view name, std::string_view help, Labels labels) {
  std::lock_guard lock(*mu_);
  Family* f = family_locked(name, help, Type::kGauge, labels, nullptr);
  if (f == nullptr) return std::make_shared<GaugeImpl>();
  auto& slot = f->series[render_labels(labels)];
  if (!slot.gauge) slot.gauge = std::make_shared<GaugeImpl>();
  return slot.gauge;
}

PIPELINE_INLINE std::shared_ptr<Histogram> MetricsRegistry::histogram(std::string_view name, std::string_view help, std::vector<double> buckets,
                                                                      Labels labels) {
  buckets.erase(std::remove_if(buckets.begin(), buckets.end(), [](double b) { return !std::isfinite(b); }),
                buckets.end());
  std::sort(buckets.begin(), buckets.end());
  buckets.erase(std::unique(buckets.begin(), buckets.end()), buckets.end());
  std::lock_guard lock(*mu_);
  Family* f = family_locked(name, help, Type::kHistogram, labels, &buckets);
  if (f == nullptr) return std::make_shared<HistogramImpl>(std::move(buckets));
  auto& slot = f->series[render_labels(labels)];
  if (!slot.histogram) slot.histogram = std::make_shared<HistogramImpl>(f->buckets);
  return slot.histogram;
}

PIPELINE_INLINE void MetricsRegistry::event(std::string_view name, Labels attributes) {
  std::lock_guard lock(*mu_);
  ++event_totals_[std::string(name)];
  if (event_capacity_ == 0) return;
  if (events_.size() == event_capacity_) events_.pop_front();
  events_.push_back({++event_sequence_, std::string(name), std::move(attributes)});
}

PIPELINE_INLINE std::optional<std::uint64_t> MetricsRegistry::counter_value(std::string_view name, const Labels& labels) const {
  std::lock_guard lock(*mu_);
  const Series* s = series_locked(name, Type::kCounter, labels);
  if (s == nullptr || !s->counter) return std::nullopt;
  return s->counter->value();
}

PIPELINE_INLINE std::optional<double> MetricsRegistry::gauge_value(std::string_view name, const Labels& labels) const {
  std::lock_guard lock(*mu_);
  const Series* s = series_locked(name, Type::kGauge, labels);
  if (s == nullptr || !s->gauge) return std::nullopt;
  return s->gauge->value();
}

PIPELINE_INLINE std::optional<std::uint64_t> MetricsRegistry::histogram_count(std::string_view name, const Labels& labels) const {
  std::lock_guard lock(*mu_);
  const Series* s = series_locked(name, Type::kHistogram, labels);
  if (s == nullptr || !s->histogram) return std::nullopt;
  return s->histogram->total();
}

PIPELINE_INLINE std::uint64_t MetricsRegistry::event_count(std::string_view name) const {
  std::lock_guard lock(*mu_);
  const auto it = event_totals_.find(name);
  return it == event_totals_.end() ? 0 : it->second;
}

PIPELINE_INLINE std::vector<RecordedEvent> MetricsRegistry::recent_events() const {
  std::lock_guard lock(*mu_);
  return {events_.begin(), events_.end()};
}

PIPELINE_INLINE std::uint64_t MetricsRegistry::rejected() const {
  std::lock_guard lock(*mu_);
  return rejected_;
}

PIPELINE_INLINE std::string MetricsRegistry::render_prometheus() const {
  std::lock_guard lock(*mu_);
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

PIPELINE_INLINE std::string MetricsRegistry::escape_label_value(std::string_view v) {
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

PIPELINE_INLINE bool MetricsRegistry::valid_metric_name(std::string_view n) {
  if (n.empty()) return false;
  for (std::size_t i = 0; i < n.size(); ++i) {
    const char c = n[i];
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
    if (!alpha && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

PIPELINE_INLINE bool MetricsRegistry::normalize(Labels& labels, Type type) {
  std::sort(labels.begin(), labels.end());
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (!internal::valid_metric_label_name(labels[i].first)) return false;
    if (i > 0 && labels[i].first == labels[i - 1].first) return false;
    if (type == Type::kHistogram && labels[i].first == "le") return false;
  }
  return true;
}

PIPELINE_INLINE std::string MetricsRegistry::render_labels(const Labels& labels) {
  std::string out;
  for (const auto& [k, v] : labels) {
    if (!out.empty()) out += ',';
    out += fmt::format("{}=\"{}\"", k, escape_label_value(v));
  }
  return out;
}

PIPELINE_INLINE std::string MetricsRegistry::braces(const std::string& labels) { return labels.empty() ? "" : "{" + labels + "}"; }

PIPELINE_INLINE std::string MetricsRegistry::escape_help(std::string_view v) {
  std::string out;
  for (const char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

PIPELINE_INLINE std::string MetricsRegistry::format_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", v);
}

PIPELINE_INLINE std::string_view MetricsRegistry::type_name(Type t) {
  switch (t) {
    case Type::kCounter: return "counter";
    case Type::kGauge: return "gauge";
    case Type::kHistogram: return "histogram";
  }
  return "untyped";
}

PIPELINE_INLINE void MetricsRegistry::render_histogram(std::string& out, const std::string& name, const std::string& labels,
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

PIPELINE_INLINE MetricsRegistry::Family* MetricsRegistry::family_locked(std::string_view name, std::string_view help, Type type, Labels& labels,
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

PIPELINE_INLINE const MetricsRegistry::Series* MetricsRegistry::series_locked(std::string_view name, Type type, Labels labels) const {
  const auto it = families_.find(name);
  if (it == families_.end() || it->second.type != type || !normalize(labels, type)) return nullptr;
  const auto s = it->second.series.find(render_labels(labels));
  return s == it->second.series.end() ? nullptr : &s->second;
}

}  // namespace pipeline::inline v0
