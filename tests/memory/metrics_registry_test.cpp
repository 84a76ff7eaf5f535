#include <cmath>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "pipeline/memory/metrics_registry.hpp"

namespace pipeline {
namespace metrics_registry_test {

TEST(MetricsRegistry, SameNameAndLabelsReturnTheSameSeriesWhateverTheLabelOrder) {
  MetricsRegistry m = MetricsRegistry::create().value();
  auto a = m.counter("jobs_total", "Jobs", {{"phase", "3"}, {"kind", "full"}});
  auto b = m.counter("jobs_total", "Jobs", {{"kind", "full"}, {"phase", "3"}});
  auto other = m.counter("jobs_total", "Jobs", {{"kind", "selective"}, {"phase", "3"}});
  a->add();
  b->add(2);
  other->add(5);
  EXPECT_EQ(m.counter_value("jobs_total", {{"phase", "3"}, {"kind", "full"}}), 3u);
  EXPECT_EQ(m.counter_value("jobs_total", {{"kind", "selective"}, {"phase", "3"}}), 5u);
  EXPECT_EQ(m.counter_value("jobs_total", {{"kind", "none"}}), std::nullopt);
  EXPECT_EQ(m.counter_value("absent_total"), std::nullopt);
}

TEST(MetricsRegistry, RendersCountersAndGaugesWithHelpTypeAndSortedLabels) {
  MetricsRegistry m = MetricsRegistry::create().value();
  m.gauge("queue_depth", "Messages waiting")->set(2.5);
  m.counter("published_total", "Messages published", {{"topic", "b"}})->add(2);
  m.counter("published_total", "Messages published", {{"topic", "a"}, {"env", "prod"}})->add(1);
  m.counter("plain_total", "No labels")->add(7);
  EXPECT_EQ(m.render_prometheus(),
            "# HELP plain_total No labels\n"
            "# TYPE plain_total counter\n"
            "plain_total 7\n"
            "# HELP published_total Messages published\n"
            "# TYPE published_total counter\n"
            "published_total{env=\"prod\",topic=\"a\"} 1\n"
            "published_total{topic=\"b\"} 2\n"
            "# HELP queue_depth Messages waiting\n"
            "# TYPE queue_depth gauge\n"
            "queue_depth 2.5\n");
}

TEST(MetricsRegistry, EscapesLabelValuesAndHelp) {
  MetricsRegistry m = MetricsRegistry::create().value();
  m.counter("x_total", "line one\nback\\slash \"kept\"", {{"path", "C:\\dir \"q\"\nnext"}})->add();
  const std::string text = m.render_prometheus();
  EXPECT_NE(text.find("# HELP x_total line one\\nback\\\\slash \"kept\"\n"), std::string::npos) << text;
  EXPECT_NE(text.find("x_total{path=\"C:\\\\dir \\\"q\\\"\\nnext\"} 1\n"), std::string::npos) << text;
  EXPECT_EQ(MetricsRegistry::escape_label_value("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
}

TEST(MetricsRegistry, HistogramRendersCumulativeBucketsSumAndCount) {
  MetricsRegistry m = MetricsRegistry::create().value();
  auto h = m.histogram("latency_seconds", "Latency", {1.0, 0.1, 0.5}, {{"op", "send"}});
  for (double v : {0.05, 0.1, 0.3, 0.7, 2.0}) h->observe(v);
  EXPECT_EQ(m.render_prometheus(),
            "# HELP latency_seconds Latency\n"
            "# TYPE latency_seconds histogram\n"
            "latency_seconds_bucket{op=\"send\",le=\"0.1\"} 2\n"
            "latency_seconds_bucket{op=\"send\",le=\"0.5\"} 3\n"
            "latency_seconds_bucket{op=\"send\",le=\"1\"} 4\n"
            "latency_seconds_bucket{op=\"send\",le=\"+Inf\"} 5\n"
            "latency_seconds_sum{op=\"send\"} 3.15\n"
            "latency_seconds_count{op=\"send\"} 5\n");
  EXPECT_EQ(m.histogram_count("latency_seconds", {{"op", "send"}}), 5u);
}

TEST(MetricsRegistry, HistogramWithoutLabelsAndWithoutBucketsHasOnlyInf) {
  MetricsRegistry m = MetricsRegistry::create().value();
  auto h = m.histogram("size_bytes", "Sizes", {});
  h->observe(10);
  const std::string text = m.render_prometheus();
  EXPECT_NE(text.find("size_bytes_bucket{le=\"+Inf\"} 1\nsize_bytes_sum 10\nsize_bytes_count 1\n"),
            std::string::npos)
      << text;
}

TEST(MetricsRegistry, GaugeAddsAndRendersSpecialValues) {
  MetricsRegistry m = MetricsRegistry::create().value();
  auto g = m.gauge("g", "G");
  g->add(1.5);
  g->add(-0.5);
  EXPECT_EQ(m.gauge_value("g"), 1.0);
  g->set(std::numeric_limits<double>::infinity());
  EXPECT_NE(m.render_prometheus().find("g +Inf\n"), std::string::npos);
  g->set(std::nan(""));
  EXPECT_NE(m.render_prometheus().find("g NaN\n"), std::string::npos);
}

TEST(MetricsRegistry, InvalidOrConflictingRequestsGetDetachedInstruments) {
  MetricsRegistry m = MetricsRegistry::create().value();
  m.counter("bad-name", "x")->add();
  m.counter("ok_total", "x", {{"bad label", "v"}})->add();
  m.counter("ok_total", "x", {{"__reserved", "v"}})->add();
  m.counter("ok_total", "x", {{"a", "1"}, {"a", "2"}})->add();
  m.counter("ok_total", "x")->add(3);
  m.gauge("ok_total", "x")->set(1);  // type conflict
  m.histogram("h", "x", {1, 2})->observe(1);
  m.histogram("h", "x", {1, 3})->observe(1);  // bucket conflict
  m.histogram("h", "x", {1, 2}, {{"le", "1"}})->observe(1);
  EXPECT_EQ(m.rejected(), 7u);
  EXPECT_EQ(m.counter_value("ok_total"), 3u);
  EXPECT_EQ(m.histogram_count("h"), 1u);
  const std::string text = m.render_prometheus();
  EXPECT_EQ(text.find("bad-name"), std::string::npos);
  EXPECT_EQ(text.find("gauge"), std::string::npos);
}

TEST(MetricsRegistry, EventsAreCountedAndKeptInABoundedRing) {
  MetricsRegistry m = MetricsRegistry::create({.event_capacity = 3}).value();
  for (int i = 0; i < 5; ++i) m.event("trigger_decided", {{"n", std::to_string(i)}});
  m.event("fallback_taken", {});
  EXPECT_EQ(m.event_count("trigger_decided"), 5u);
  EXPECT_EQ(m.event_count("fallback_taken"), 1u);
  EXPECT_EQ(m.event_count("never"), 0u);
  const auto recent = m.recent_events();
  ASSERT_EQ(recent.size(), 3u);
  EXPECT_EQ(recent[0].sequence, 4u);
  EXPECT_EQ(recent[0].attributes, (Labels{{"n", "3"}}));
  EXPECT_EQ(recent[2].name, "fallback_taken");
  const std::string text = m.render_prometheus();
  EXPECT_NE(text.find("pipeline_events_total{event=\"fallback_taken\"} 1\n"
                      "pipeline_events_total{event=\"trigger_decided\"} 5\n"),
            std::string::npos)
      << text;
}

TEST(MetricsRegistry, AMovedRegistryKeepsItsSeriesAndItsHandlesStillRecordIntoIt) {
  MetricsRegistry first = MetricsRegistry::create().value();
  auto counter = first.counter("moved_total", "Moved");
  counter->add(2);
  MetricsRegistry second = std::move(first);
  counter->add();
  EXPECT_EQ(second.counter_value("moved_total"), 3u);
  second.counter("moved_total", "Moved")->add();
  EXPECT_EQ(second.counter_value("moved_total"), 4u);
}

TEST(MetricsRegistry, ConcurrentUpdatesAreAllCounted) {
  MetricsRegistry m = MetricsRegistry::create().value();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      auto c = m.counter("c_total", "C", {{"k", "v"}});
      auto h = m.histogram("h", "H", {1.0});
      auto g = m.gauge("g", "G");
      for (int i = 0; i < 1000; ++i) {
        c->add();
        h->observe(i % 2 == 0 ? 0.5 : 2.0);
        g->add(1.0);
        if (i % 100 == 0) {
          m.event("e", {});
          (void)m.render_prometheus();
        }
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(m.counter_value("c_total", {{"k", "v"}}), 4000u);
  EXPECT_EQ(m.histogram_count("h"), 4000u);
  EXPECT_EQ(m.gauge_value("g"), 4000.0);
  EXPECT_EQ(m.event_count("e"), 40u);
  EXPECT_NE(m.render_prometheus().find("h_bucket{le=\"1\"} 2000\n"), std::string::npos);
}

}  // namespace metrics_registry_test
}  // namespace pipeline
