// The examples of include/pipeline/runtime/ (`@snippet runtime_snippets_test.cpp <tag>`);
// ServiceRuntime's stop on SIGTERM is shown from examples/phase_trackers/service_main.cpp,
// which the service tests run and stop with SIGTERM.

#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "orchestrate/tracker_test_config.hpp"
#include "pipeline/core/manual_clock.hpp"
#include "pipeline/core/message_codec.hpp"
#include "pipeline/core/topics.hpp"
#include "pipeline/memory/memory_state_store.hpp"
#include "pipeline/memory/memory_transport.hpp"
#include "pipeline/orchestrate/completion_tracker.hpp"
#include "pipeline/orchestrate/tracker_subscription.hpp"
#include "pipeline/runtime/date_status.hpp"
#include "pipeline/runtime/retention.hpp"
#include "pipeline/runtime/service_runtime.hpp"
#include "snippets/snippet_support.hpp"
#include "spin_until.hpp"

namespace pipeline::runtime_snippets_test {
namespace {

TEST(RuntimeSnippets, DateStatus) {
  pipeline::ManualClock clock;
  pipeline::MemoryStateStore store = pipeline::MemoryStateStore::create().value();
  auto tracker = pipeline::CompletionTracker::create(clock, store, testing::five_processor_config());
  ASSERT_TRUE(tracker);
  ASSERT_TRUE((*tracker)->record_completion(snippets::completion("a")));
  std::string printed;
  //! [date_status]
  auto s = pipeline::load_date_status(store, *pipeline::CalendarDate::parse("2025-11-18"));
  if (s) printed = s->to_json().dump(2);  // what `pipelinectl status --json` prints
  //! [date_status]
  ASSERT_TRUE(s) << s.error().to_string();
  EXPECT_EQ(s->to_json()["state"], "partial") << printed;
}

TEST(RuntimeSnippets, Retention) {
  pipeline::ManualClock clock;
  pipeline::MemoryStateStore store = pipeline::MemoryStateStore::create().value();
  auto tracker = pipeline::CompletionTracker::create(clock, store, testing::five_processor_config());
  ASSERT_TRUE(tracker);
  // A decided date a week before the newest: older than the 72 hours kept (an undecided
  // wave would be kept as live).
  for (std::string p : {"a", "b", "c", "d", "e"})
    ASSERT_TRUE((*tracker)->record_completion(snippets::completion(p, "exec-" + p, "2025-11-11")));
  ASSERT_TRUE((*tracker)->record_completion(snippets::completion("a", "exec-2", "2025-11-18")));
  std::string printed;
  //! [retention]
  pipeline::RetentionOptions options;
  options.older_than = std::chrono::hours(72);
  auto retention = pipeline::Retention::create(clock, store, options);
  auto report = (*retention)->run_once();   // the service runtime calls it on a timer
  printed = report->to_json().dump(2);
  //! [retention]
  ASSERT_TRUE(report) << report.error().to_string();
  EXPECT_GT(report->deleted.at("tracker"), 0u) << printed;
  auto old_date = pipeline::load_date_status(store, *pipeline::CalendarDate::parse("2025-11-11"));
  ASSERT_TRUE(old_date);
  EXPECT_EQ(old_date->to_json()["state"], "nothing_recorded");
}

TEST(RuntimeSnippets, ServiceRuntime) {
  pipeline::ManualClock clock;
  pipeline::MemoryStateStore store = pipeline::MemoryStateStore::create().value();
  auto transport = pipeline::MemoryTransport::create(clock).value();
  ASSERT_TRUE(transport->start(1));
  const pipeline::TopicNaming topics{"acme"};
  auto created = pipeline::CompletionTracker::create(clock, store, testing::five_processor_config());
  ASSERT_TRUE(created);
  pipeline::CompletionTracker& tracker = **created;
  const pipeline::Handler handler = pipeline::tracker_handler(tracker);
  //! [service_runtime]
  pipeline::ServiceRuntimeOptions options;
  options.name = "phase3";
  auto runtime = pipeline::ServiceRuntime::create(clock, store, *transport, options);
  auto subscribed = (*runtime)->subscribe({"phase3-sub", topics.phase_complete(2, "raw"), {}}, handler);
  auto scheduled = (*runtime)->every("deadlines", std::chrono::minutes(1),
                                     [&] { return tracker.check_deadlines().map([](auto) {}); });
  auto started = (*runtime)->start();
  //! [service_runtime]
  ASSERT_TRUE(subscribed);
  ASSERT_TRUE(scheduled);
  ASSERT_TRUE(started);
  ASSERT_TRUE(transport->publish("acme-phase2-raw-complete",
                                 {"a/2025-11-18/exec-1", pipeline::encode_message(snippets::completion("a")), {}}));
  EXPECT_TRUE(pipeline_test::spin_until([&] {
    auto status = tracker.status(*pipeline::CalendarDate::parse("2025-11-18"));
    return status && status->to_json()["done"] == nlohmann::json::array({"a"});
  }));
  (*runtime)->request_stop();   // what SIGTERM does after stop_on_signals
  const pipeline::DrainReport report = (*runtime)->wait();
  EXPECT_FALSE(report.flush_error);
  runtime->reset();
  transport->stop();
}

}  // namespace
}  // namespace pipeline::runtime_snippets_test
