// The examples of include/pipeline/mocks/ (`@snippet mocks_snippets_test.cpp <tag>`).

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "orchestrate/tracker_test_config.hpp"
#include "pipeline/core/manual_clock.hpp"
#include "pipeline/memory/memory_state_store.hpp"
#include "pipeline/memory/memory_transport.hpp"
#include "pipeline/mocks/counting_state_store.hpp"
#include "pipeline/mocks/failing_state_store.hpp"
#include "pipeline/mocks/failing_transport.hpp"
#include "pipeline/mocks/fault_injecting_transport.hpp"
#include "pipeline/mocks/manual_clock_helpers.hpp"
#include "pipeline/mocks/recording_transport.hpp"
#include "pipeline/orchestrate/completion_tracker.hpp"
#include "snippets/snippet_support.hpp"

namespace pipeline::mocks_snippets_test {
namespace {

using std::chrono::seconds;

TEST(MocksSnippets, CountingStateStore) {
  pipeline::ManualClock clock;
  const pipeline::CompletionTrackerOptions config = testing::five_processor_config();
  std::vector<pipeline::Message> completions;
  for (std::string p : {"a", "b", "c", "d", "e", "a"}) completions.push_back(snippets::completion(p, "exec-" + p));
  //! [counting_state_store]
  pipeline::MemoryStateStore real = pipeline::MemoryStateStore::create().value();
  pipeline::mocks::CountingStateStore store(
      real, {.watch = [](std::string_view k) { return k.find("/decision") != k.npos; }});
  auto tracker = pipeline::CompletionTracker::create(clock, store, config);
  ASSERT_TRUE(tracker) << tracker.error().to_string();
  for (const auto& m : completions) ASSERT_TRUE((*tracker)->record_completion(m));   // a redelivery too
  for (const auto& [key, n] : store.committed_write_counts()) EXPECT_EQ(n, 1) << key;   // decided once
  //! [counting_state_store]
  EXPECT_FALSE(store.committed_write_counts().empty());
}

TEST(MocksSnippets, FailingStateStore) {
  //! [failing_state_store]
  pipeline::MemoryStateStore real = pipeline::MemoryStateStore::create().value();
  pipeline::mocks::FailingStateStore store(real);
  store.fail_complete(pipeline::ErrorCode::kUnavailable, 1);  // next complete_outbox fails
  //! [failing_state_store]
  auto failed = store.complete_outbox({"k"});
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().code, pipeline::ErrorCode::kUnavailable);
  EXPECT_TRUE(store.complete_outbox({"k"}));
}

TEST(MocksSnippets, FailingTransport) {
  //! [failing_transport]
  pipeline::mocks::RecordingTransport inner;
  pipeline::mocks::FailingTransport transport{inner};
  transport.fail_next(2);                      // two kUnavailable, then through
  //! [failing_transport]
  EXPECT_FALSE(transport.publish("t", {"id-1", "{}", {}}));
  EXPECT_FALSE(transport.publish("t", {"id-1", "{}", {}}));
  EXPECT_TRUE(transport.publish("t", {"id-1", "{}", {}}));
  //! [failing_transport_down]
  transport.set_down(true, pipeline::ErrorCode::kUnavailable);
  //! [failing_transport_down]
  EXPECT_FALSE(transport.publish("t", {"id-2", "{}", {}}));
  EXPECT_EQ(inner.published_count(), 1u);
}

TEST(MocksSnippets, FaultInjectingTransport) {
  pipeline::ManualClock clock;
  //! [fault_injecting_transport]
  auto inner = pipeline::MemoryTransport::create(clock).value();
  pipeline::mocks::FaultInjectingTransport transport{*inner, {.seed = 7, .drop_delivery = 0.1,
                                                             .duplicate_delivery = 0.1,
                                                             .fail_publish = 0.2}};
  // ... run the pipeline on `transport` ...
  //! [fault_injecting_transport]
  int failed = 0;
  for (int i = 0; i < 100; ++i)
    if (!transport.publish("t", {"id-" + std::to_string(i), "{}", {}})) ++failed;
  //! [fault_injecting_counts]
  pipeline::mocks::FaultCounts c = transport.counts();
  //! [fault_injecting_counts]
  EXPECT_EQ(c.publishes, 100u);
  EXPECT_EQ(c.publish_failures, static_cast<std::uint64_t>(failed));
  EXPECT_GT(failed, 0);
  EXPECT_LT(failed, 100);
}

TEST(MocksSnippets, AdvanceUntil) {
  pipeline::ManualClock clock;
  pipeline::mocks::RecordingTransport transport;
  const auto start = clock.now();
  for (int i = 1; i <= 3; ++i)
    clock.schedule_after(seconds(10 * i), [&transport, i] {
      EXPECT_TRUE(transport.publish("t", {"id-" + std::to_string(i), "{}", {}}));
    });
  //! [advance_until]
  bool sent = pipeline::mocks::advance_until(clock, std::chrono::seconds(1), 600,
                                             [&] { return transport.published_count() == 3; });
  //! [advance_until]
  EXPECT_TRUE(sent);
  EXPECT_EQ(clock.now() - start, seconds(30));
}

TEST(MocksSnippets, RecordingTransport) {
  //! [recording_transport]
  pipeline::mocks::RecordingTransport transport;
  auto st = transport.publish("t", {"id-1", "{}", {}});
  EXPECT_EQ(transport.published().at(0).message.id, "id-1");
  //! [recording_transport]
  EXPECT_TRUE(st);
}

}  // namespace
}  // namespace pipeline::mocks_snippets_test
