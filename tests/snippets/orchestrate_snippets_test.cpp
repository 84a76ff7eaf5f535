// The examples of include/pipeline/orchestrate/ (`@snippet orchestrate_snippets_test.cpp <tag>`).

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "orchestrate/tracker_test_config.hpp"
#include "pipeline/alert/alert_manager.hpp"
#include "pipeline/alert/callback_sink.hpp"
#include "pipeline/core/best_effort_settle.hpp"
#include "pipeline/core/manual_clock.hpp"
#include "pipeline/core/message_codec.hpp"
#include "pipeline/core/topics.hpp"
#include "pipeline/memory/memory_state_store.hpp"
#include "pipeline/memory/memory_transport.hpp"
#include "pipeline/orchestrate/completion_tracker.hpp"
#include "pipeline/orchestrate/dead_letter_recorder.hpp"
#include "pipeline/orchestrate/dependency_checker.hpp"
#include "pipeline/orchestrate/idempotent_consumer.hpp"
#include "pipeline/orchestrate/outbox_relay.hpp"
#include "pipeline/orchestrate/registry_store.hpp"
#include "pipeline/orchestrate/run_history.hpp"
#include "pipeline/orchestrate/run_until_quiet.hpp"
#include "pipeline/orchestrate/tracker_keys.hpp"
#include "pipeline/orchestrate/tracker_status.hpp"
#include "pipeline/orchestrate/tracker_subscription.hpp"
#include "pipeline/orchestrate/trigger_registry.hpp"
#include "pipeline/publish/unified_publisher.hpp"
#include "snippets/snippet_support.hpp"
#include "spin_until.hpp"

namespace pipeline::orchestrate_snippets_test {
namespace {

using std::chrono::minutes;

// What most examples run on: a manual clock, memory adapters, alerts kept in a vector.
struct OrchestrateSnippets : ::testing::Test {
  pipeline::ManualClock clock;
  pipeline::MemoryStateStore store = pipeline::MemoryStateStore::create().value();
  std::unique_ptr<pipeline::MemoryTransport> transport = pipeline::MemoryTransport::create(clock).value();
  std::vector<pipeline::Alert> raised;
  std::unique_ptr<pipeline::AlertManager> alerts =
      pipeline::AlertManager::create(clock, {pipeline::CallbackAlertSink::create(
                                                [this](const pipeline::Alert& a) { raised.push_back(a); }).value()})
          .value();
  pipeline::CalendarDate date = *pipeline::CalendarDate::parse("2025-11-18");
  pipeline::CompletionTrackerOptions config = testing::five_processor_config();

  std::unique_ptr<pipeline::CompletionTracker> make_tracker() {
    config.alerts = alerts.get();
    auto t = pipeline::CompletionTracker::create(clock, store, config);
    EXPECT_TRUE(t) << t.error().to_string();
    return t ? std::move(*t) : nullptr;
  }
};

TEST_F(OrchestrateSnippets, CompletionTracker) {
  std::vector<std::string> decided;
  auto log = [&](std::string_view, const std::string& id) { decided.push_back(id); };
  for (std::string p : {"a", "b", "c", "d"})
    ASSERT_TRUE((*make_tracker()).record_completion(snippets::completion(p, "exec-" + p)));
  const pipeline::Message message = snippets::completion("e", "exec-e");
  //! [completion_tracker]
  config.alerts = alerts.get();   // optional collaborators are options
  auto tracker = pipeline::CompletionTracker::create(clock, store, config);
  auto outcome = (*tracker)->record_completion(message);   // from the upstream topic
  if (outcome && !outcome->triggered.empty()) log("decided {}", outcome->triggered[0]);
  auto status = (*tracker)->status(date);                   // status->to_json()
  //! [completion_tracker]
  ASSERT_TRUE(outcome) << outcome.error().to_string();
  EXPECT_EQ(decided.size(), 1u);
  ASSERT_TRUE(status) << status.error().to_string();
  EXPECT_EQ(status->to_json()["date"], "2025-11-18");
}

TEST_F(OrchestrateSnippets, DeadLetterRecorder) {
  const std::string topic = "acme-phase2-raw-complete";
  //! [dead_letter_recorder]
  auto recorder = pipeline::DeadLetterRecorder::create(clock, store, *transport, {.alerts = alerts.get()}).value();
  auto watched = recorder->watch("acme-phase2-raw-complete");   // subscribes to "...-complete-dlq"
  //! [dead_letter_recorder]
  ASSERT_TRUE(watched);
  // A consumer that refuses everything, with one attempt: the message goes dead at once.
  pipeline::SubscriptionSettings once;
  once.max_delivery_attempts = 1;
  auto sub = transport->subscribe({"phase3-sub", topic, once}, [](pipeline::DeliveryPtr d) { pipeline::best_effort_nack(*d, "bad"); });
  ASSERT_TRUE(sub);
  ASSERT_TRUE(transport->publish(topic, {"phase2/2025-11-18/orders_feed", "{}", {}}));
  transport->pump();
  //! [dead_letter_list]
  auto rows = pipeline::DeadLetterRecorder::list(store);
  auto replay = pipeline::DeadLetterRecorder::replay(store, (*rows)[0].id);
  //! [dead_letter_list]
  ASSERT_TRUE(rows);
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].source_topic, topic);
  ASSERT_TRUE(replay) << replay.error().to_string();
  EXPECT_EQ(replay->record.id, "phase2/2025-11-18/orders_feed");
}

// A warehouse with 250 fresh rows of `orders_raw` for every date.
class Warehouse final : public pipeline::DependencyDataSource {
 public:
  explicit Warehouse(const pipeline::Clock& clock) : clock_(clock) {}
  pipeline::Result<std::int64_t> row_count(std::string_view table, pipeline::CalendarDate) override {
    return table == "orders_raw" ? 250 : 0;
  }
  pipeline::Result<std::optional<pipeline::TimePoint>> last_updated(std::string_view, pipeline::CalendarDate) override {
    return std::optional<pipeline::TimePoint>(clock_.now() - std::chrono::hours(1));
  }

 private:
  const pipeline::Clock& clock_;
};

TEST_F(OrchestrateSnippets, DependencyChecker) {
  Warehouse warehouse(clock);
  std::string problems;
  //! [dependency_checker]
  pipeline::DependencyChecker deps = pipeline::DependencyChecker::create(clock, warehouse).value();
  pipeline::DependencySpec orders{"orders_raw", true, 200, std::nullopt, 24.0};
  auto declared = deps.declare("order_summary", {orders});
  auto report = deps.check("order_summary", date);
  if (report && !report->ok()) problems = report->problems();
  //! [dependency_checker]
  ASSERT_TRUE(declared);
  ASSERT_TRUE(report) << report.error().to_string();
  EXPECT_TRUE(report->ok()) << problems;
  ASSERT_TRUE(deps.declare("customer_summary", {{"customers_raw", true, 1, std::nullopt, 24.0}}));
  report = deps.check("customer_summary", date);
  ASSERT_TRUE(report);
  EXPECT_FALSE(report->ok());
}

TEST_F(OrchestrateSnippets, IdempotentConsumer) {
  int runs = 0;
  //! [idempotent_consumer]
  auto consumer = pipeline::IdempotentConsumer::create(
      store, [&](pipeline::Transaction& tx, const pipeline::Delivery& d) {
        ++runs;
        return tx.put("phase3/seen/" + d.id(), d.payload());
      },
      {.name = "phase3"});
  ASSERT_TRUE(consumer) << consumer.error().to_string();
  auto sub = transport->subscribe({"phase3-sub", "phase2-complete", {}}, consumer->handler());
  //! [idempotent_consumer]
  ASSERT_TRUE(sub);
  ASSERT_TRUE(transport->publish("phase2-complete", {"m1", "{}", {}}));
  ASSERT_TRUE(transport->publish("phase2-complete", {"m1", "{}", {}}));   // a duplicate
  transport->pump();
  EXPECT_EQ(runs, 1);
  auto seen = store.get("phase3/seen/m1");
  ASSERT_TRUE(seen);
  EXPECT_EQ(*seen, std::optional<std::string>("{}"));
}

TEST_F(OrchestrateSnippets, OutboxRelay) {
  std::atomic<int> delivered{0};
  auto sub = transport->subscribe({"phase3-sub", "phase3-trigger", {}}, [&](pipeline::DeliveryPtr d) {
    if (d->ack()) ++delivered;
  });
  ASSERT_TRUE(sub);
  auto publisher = pipeline::UnifiedPublisher::create(clock, *transport).value();
  const std::string id = "phase3/2025-11-18/w0";
  const std::string json = pipeline::encode_message(snippets::completion("a"));
  //! [outbox_relay]
  auto relay = pipeline::OutboxRelay::create(clock, store, publisher->send_step(), {.owner = "relay-1"}).value();
  relay->start();
  auto st = store.transact([&](auto& tx) { return tx.enqueue({"phase3-trigger", {id, json, {}}}).map([](bool) {}); });
  relay->notify();   // publish now instead of at the next poll
  //! [outbox_relay]
  ASSERT_TRUE(st);
  EXPECT_TRUE(pipeline_test::spin_until([&] { auto n = store.pending_outbox(); return n && *n == 0; }));
  relay->stop();
  transport->pump();
  EXPECT_EQ(delivered.load(), 1);
}

TEST_F(OrchestrateSnippets, RegistryStore) {
  auto tracker = make_tracker();   // describes "phase3" in the store: load_registry(store) merges described trackers
  std::string dot;
  auto save_and_render = [&]() -> pipeline::Status {
    //! [registry_store]
    PIPELINE_TRY(pipeline::save_registry(store, "phase3", config.registry));
    auto merged = pipeline::load_registry(store);      // every tracker's, merged
    if (merged && *merged) dot = (*merged)->to_dot();
    //! [registry_store]
    return pipeline::ok();
  };
  ASSERT_TRUE(save_and_render());
  EXPECT_NE(dot.find("digraph"), std::string::npos) << dot;
  EXPECT_NE(dot.find("\"a\""), std::string::npos) << dot;
}

TEST_F(OrchestrateSnippets, RunHistory) {
  const std::string worker_id = "worker-1";
  const pipeline::OutboxMessage completion{"acme-phase3-analytics-complete",
                                           {"player_game_summary/2025-11-18", "{}", {}}};
  pipeline::Status st;
  //! [run_history]
  auto history = pipeline::RunHistory::create(clock, store).value();
  pipeline::RunKey key{"player_game_summary", date, 0};
  auto start = history.try_start(key, worker_id, std::chrono::hours(2));
  if (start && start->decision == pipeline::StartDecision::kStarted) {
    st = store.transact([&](auto& tx) -> pipeline::Status {
      PIPELINE_TRY(history.mark_success(tx, key, worker_id));
      return tx.enqueue(completion).map([](bool) {});
    });
  }
  //! [run_history]
  ASSERT_TRUE(start);
  ASSERT_TRUE(st) << st.error().to_string();
  auto again = history.try_start(key, "worker-2", std::chrono::hours(2));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->decision, pipeline::StartDecision::kSkipped);
  EXPECT_EQ(store.pending_outbox().value(), 1u);
}

TEST_F(OrchestrateSnippets, RunUntilQuiet) {
  auto relay = pipeline::OutboxRelay::create(clock, store, *transport).value();
  config.trigger_topic = "phase3-trigger";
  config.relay = relay.get();
  auto tracker = make_tracker();
  std::vector<std::string> triggers;
  auto sub = transport->subscribe({"phase3-sub", "phase3-trigger", {}}, [&](pipeline::DeliveryPtr d) {
    triggers.push_back(d->id());
    pipeline::best_effort_ack(*d);
  });
  ASSERT_TRUE(sub);
  auto tracker_publishes_and_consumers_run = [&] {
    for (std::string p : {"a", "b", "c"}) ASSERT_TRUE(tracker->record_completion(snippets::completion(p, "exec-" + p)));
  };
  auto run = [&]() -> pipeline::Status {
    //! [run_until_quiet]
    pipeline::QuietLoop loop{.transport = transport.get(), .relays = {relay.get()}};
    tracker_publishes_and_consumers_run();
    if (auto r = pipeline::run_until_quiet(loop); !r) return pipeline::fail(r.error());
    clock.advance(std::chrono::minutes(31));  // past the deadline: the partial wave decides
    return pipeline::run_until_quiet(loop).map([](int) {});
    //! [run_until_quiet]
  };
  ASSERT_TRUE(run());
  EXPECT_EQ(triggers.size(), 1u);
}

TEST(OrchestrateSnippetsPlain, TrackerKeys) {
  const auto date = *pipeline::CalendarDate::parse("2025-01-10");
  //! [tracker_keys]
  pipeline::TrackerKeys keys("phase3");
  std::string base = keys.date_prefix(date);               // "tracker/phase3/2025-01-10/"
  std::string done = pipeline::TrackerKeys::wave_prefix(base, 0) + "done/loader_a";
  //! [tracker_keys]
  EXPECT_EQ(base, "tracker/phase3/2025-01-10/");
  EXPECT_TRUE(done.starts_with(base)) << done;
  EXPECT_TRUE(done.ends_with("done/loader_a")) << done;
}

TEST_F(OrchestrateSnippets, TrackerStatus) {
  auto tracker = make_tracker();
  ASSERT_TRUE(tracker->record_completion(snippets::completion("a")));
  std::vector<std::string> lines;
  //! [list_trackers]
  auto trackers = pipeline::list_trackers(store);
  for (const auto& t : *trackers) lines.push_back(fmt::format("{}", t.name));
  //! [list_trackers]
  EXPECT_EQ(lines, std::vector<std::string>{"phase3"});
  //! [load_tracker_status]
  auto s = pipeline::load_tracker_status(store, "phase3", date);
  if (s) lines.push_back(s->to_json().dump(2));
  //! [load_tracker_status]
  ASSERT_TRUE(s) << s.error().to_string();
  EXPECT_EQ(s->to_json()["tracker"], "phase3");
}

TEST_F(OrchestrateSnippets, TrackerSubscription) {
  auto tracker = make_tracker();
  const pipeline::TopicNaming topics{"acme"};
  auto subscribe = [&]() -> pipeline::Result<std::unique_ptr<pipeline::Subscription>> {
    //! [tracker_subscription]
    auto sub = pipeline::subscribe_tracker(*transport, *tracker, topics.phase_complete(2, "raw"));
    if (!sub) return pipeline::fail(sub.error());
    //! [tracker_subscription]
    return sub;
  };
  auto sub = subscribe();
  ASSERT_TRUE(sub) << sub.error().to_string();
  ASSERT_TRUE(transport->publish("acme-phase2-raw-complete",
                                 {"a/2025-11-18/exec-1", pipeline::encode_message(snippets::completion("a")), {}}));
  transport->pump();
  auto status = tracker->status(date);
  ASSERT_TRUE(status);
  EXPECT_EQ(status->to_json()["done"], nlohmann::json::array({"a"}));
}

TEST(OrchestrateSnippetsPlain, TriggerRegistry) {
  std::string problem;
  //! [trigger_registry]
  pipeline::TriggerRegistry r;
  pipeline::Status st = r.add_processor("orders_loader", "phase2_raw");
  if (st) st = r.add_processor("order_summary", "phase3_analytics");
  if (st) st = r.add_trigger("orders_loader", {"order_summary"});
  if (st) st = r.validate();
  if (!st) problem = st.error().message;
  std::string dot = r.to_dot();
  //! [trigger_registry]
  EXPECT_TRUE(st) << problem;
  EXPECT_NE(dot.find("orders_loader"), std::string::npos) << dot;
}

}  // namespace
}  // namespace pipeline::orchestrate_snippets_test
