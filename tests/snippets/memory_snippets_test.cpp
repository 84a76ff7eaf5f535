// The examples of include/pipeline/memory/ (`@snippet memory_snippets_test.cpp <tag>`).

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "pipeline/core/best_effort_settle.hpp"
#include "pipeline/core/manual_clock.hpp"
#include "pipeline/memory/memory_state_store.hpp"
#include "pipeline/memory/memory_transport.hpp"
#include "pipeline/memory/metrics_registry.hpp"

namespace pipeline::memory_snippets_test {
namespace {

TEST(MemorySnippets, MemoryStateStore) {
  //! [memory_state_store]
  pipeline::MemoryStateStore store = pipeline::MemoryStateStore::create().value();
  auto st = store.transact([](pipeline::Transaction& tx) { return tx.put("runs/p1", "ok"); });
  auto value = store.get("runs/p1");   // "ok"
  //! [memory_state_store]
  ASSERT_TRUE(st) << st.error().to_string();
  ASSERT_TRUE(value);
  EXPECT_EQ(*value, std::optional<std::string>("ok"));
}

TEST(MemorySnippets, MemoryTransport) {
  std::vector<std::string> handled;
  //! [memory_transport]
  pipeline::ManualClock clock;
  auto transport = pipeline::MemoryTransport::create(clock).value();
  auto sub = transport->subscribe({"phase3-sub", "phase2-complete", {}}, [&](pipeline::DeliveryPtr d) {
    handled.push_back(d->id());
    pipeline::best_effort_ack(*d);
  });
  auto st = transport->publish("phase2-complete", {"phase2/2025-11-18", "{}", {}});
  transport->pump();   // the handler ran on this thread
  //! [memory_transport]
  ASSERT_TRUE(sub);
  ASSERT_TRUE(st);
  EXPECT_EQ(handled, std::vector<std::string>{"phase2/2025-11-18"});
}

TEST(MemorySnippets, MetricsRegistry) {
  //! [metrics_registry]
  pipeline::MetricsRegistry metrics = pipeline::MetricsRegistry::create().value();
  metrics.counter("pipeline_published_total", "Messages published", {{"topic", "t"}})->add();
  std::string text = metrics.render_prometheus();
  auto published = metrics.counter_value("pipeline_published_total", {{"topic", "t"}});   // 1
  //! [metrics_registry]
  EXPECT_EQ(published, 1u);
  EXPECT_NE(text.find("pipeline_published_total{topic=\"t\"} 1"), std::string::npos) << text;
}

}  // namespace
}  // namespace pipeline::memory_snippets_test
