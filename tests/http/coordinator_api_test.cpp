// The Phase 5 coordinator's HTTP API, driven by curl against a BatchCoordinator on the
// memory store and a manual clock (the readiness wait runs on the clock, never on the
// connection).
#include <atomic>
#include <fstream>
#include <functional>
#include <mutex>
#include <regex>
#include <set>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "curl_client.hpp"
#include "phase4_completion.hpp"
#include "pipeline/alert/callback_sink.hpp"
#include "pipeline/core/manual_clock.hpp"
#include "pipeline/core/message_codec.hpp"
#include "pipeline/http/coordinator_api.hpp"
#include "pipeline/http/http_server.hpp"
#include "pipeline/http/operations.hpp"
#include "pipeline/http/push.hpp"
#include "pipeline/memory/memory_state_store.hpp"
#include "pipeline/memory/memory_transport.hpp"
#include "pipeline/memory/metrics_registry.hpp"
#include "pipeline/runtime/service_runtime.hpp"
#include "quiet_server.hpp"
#include "spin_until.hpp"
#include "temp_dir.hpp"

namespace {

using namespace std::chrono_literals;
using pipeline::testing::run_curl;

constexpr std::string_view kDate = "2025-11-18";

// Readiness and the expected/predicted entities, set by the test.
class FakeUpstream final : public pipeline::ReadinessSource, public pipeline::PredictionLedger {
 public:
  void set(std::size_t ready, std::size_t total) {
    std::lock_guard lock(mu_);
    ready_ = ready;
    total_ = total;
  }
  void predict(std::size_t n, std::int64_t version) {
    std::lock_guard lock(mu_);
    for (std::size_t i = 0; i < n; ++i) predicted_[name(i)] = version;
  }
  pipeline::Result<pipeline::ReadinessCounts> counts(pipeline::CalendarDate) override {
    std::lock_guard lock(mu_);
    return pipeline::ReadinessCounts{ready_, total_};
  }
  pipeline::Result<std::vector<std::string>> expected(pipeline::CalendarDate) override {
    std::lock_guard lock(mu_);
    std::vector<std::string> out;
    for (std::size_t i = 0; i < ready_; ++i) out.push_back(name(i));
    return out;
  }
  pipeline::Result<std::map<std::string, std::int64_t>> predicted(pipeline::CalendarDate) override {
    std::lock_guard lock(mu_);
    return predicted_;
  }

 private:
  static std::string name(std::size_t i) { return fmt::format("p{:03}", i); }
  std::mutex mu_;
  std::size_t ready_ = 0, total_ = 450;
  std::map<std::string, std::int64_t> predicted_;
};

class CoordinatorApiTest : public ::testing::Test {
 protected:
  // `mount_more` mounts further routes beside the API (e.g. the operations endpoints).
  void start(pipeline::BatchCoordinatorOptions options = {},
             const std::function<void(pipeline::http::Router&)>& mount_more = {}) {
    auto created = pipeline::BatchCoordinator::create(clock, store, *alerts, upstream, upstream, options);
    ASSERT_TRUE(created) << created.error().to_string();
    coordinator = std::move(*created);
    pipeline::http::Router router;
    ASSERT_TRUE(pipeline::http::mount_coordinator_api(router, *coordinator, {}));
    if (mount_more) mount_more(router);
    server = pipeline::testing::start_quiet_server(std::move(router));
    ASSERT_TRUE(server);
  }
  void TearDown() override {
    if (server) server->stop();
  }
  std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(server->port()) + path; }
  pipeline::testing::CurlResult post(const std::string& path, const std::string& body,
                                     std::vector<std::string> headers = {}) {
    headers.insert(headers.begin(), "Content-Type: application/json");
    return pipeline::testing::post_body(dir.path(), url(path), body, headers);
  }
  static nlohmann::json json(const pipeline::testing::CurlResult& r) {
    auto j = nlohmann::json::parse(r.body, nullptr, false);
    return j.is_discarded() ? nlohmann::json::object() : j;
  }
  static std::string phase4_completion() { return pipeline::encode_message(pipeline::testing::phase4_completion()); }
  static std::string push_envelope(const std::string& payload) {
    return nlohmann::json{{"message", {{"data", pipeline::http::base64_encode(payload)}, {"messageId", "9"}}},
                          {"subscription", "projects/p/subscriptions/phase5"}}
        .dump();
  }

  pipeline::testing::TempDir dir;
  pipeline::ManualClock clock;
  pipeline::MemoryStateStore store = pipeline::MemoryStateStore::create().value();
  std::atomic<int> critical{0};
  std::unique_ptr<pipeline::AlertManager> alerts = pipeline::AlertManager::create(clock, {pipeline::CallbackAlertSinkMt::create([this](const pipeline::Alert& a) {
                                  if (a.severity == pipeline::Severity::kCritical) ++critical;
                                }).value()}).value();
  FakeUpstream upstream;
  std::unique_ptr<pipeline::BatchCoordinator> coordinator;
  std::unique_ptr<pipeline::http::HttpServer> server;
};

TEST_F(CoordinatorApiTest, PushedPhase4CompletionStartsTheBatchWith202AndStatusUrl) {
  upstream.set(420, 450);
  start();
  auto r = post("/trigger", push_envelope(phase4_completion()));
  ASSERT_EQ(r.status, 202) << r.body;
  auto j = json(r);
  EXPECT_EQ(j["status"], "started");
  EXPECT_EQ(j["batch_id"], "phase5-2025-11-18-b1");
  EXPECT_EQ(j["triggered_by"], "event");
  EXPECT_EQ(j["enqueued"], 420);
  EXPECT_EQ(j["status_url"], "/status?date=2025-11-18");
  EXPECT_TRUE(r.has_header("Location: /status?date=2025-11-18")) << r.headers;
  // The same completion as plain JSON: the batch is running, still 202, nothing new.
  r = post("/trigger", phase4_completion());
  EXPECT_EQ(r.status, 202) << r.body;
  EXPECT_EQ(json(r)["status"], "running");
  // Workers finish; the batch completes; every path now answers 200 already_complete.
  upstream.predict(420, 1);
  ASSERT_TRUE(coordinator->note_progress(*pipeline::CalendarDate::parse(kDate)).value());
  r = post("/start", R"({"game_date":"2025-11-18"})");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json(r)["status"], "already_complete");
  EXPECT_EQ(json(r)["batch_id"], "phase5-2025-11-18-b1");
  EXPECT_EQ(post("/trigger", push_envelope(phase4_completion())).status, 200);
  // force: batch 2.
  r = post("/start", R"({"game_date":"2025-11-18","force":true})");
  EXPECT_EQ(r.status, 202) << r.body;
  EXPECT_EQ(json(r)["batch_id"], "phase5-2025-11-18-b2");
  EXPECT_EQ(json(r)["triggered_by"], "manual");
}

TEST_F(CoordinatorApiTest, SchedulerHeaderMarksTheTriggerAndTheWaitNeverHoldsTheConnection) {
  upstream.set(100, 450);  // not ready: the coordinator waits on its clock
  start();
  auto r = post("/start", R"({"game_date":"2025-11-18"})", {"X-CloudScheduler: true"});
  ASSERT_EQ(r.status, 202) << r.body;
  EXPECT_EQ(json(r)["status"], "waiting");
  EXPECT_EQ(json(r)["triggered_by"], "scheduler");
  r = run_curl(dir.path(), {url("/status?date=2025-11-18")});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json(r)["triggered_by"], "scheduler");
  EXPECT_EQ(json(r)["state"], "waiting");
}

TEST_F(CoordinatorApiTest, TooFewReadyIs503AndRaisesTheCriticalAlert) {
  upstream.set(10, 450);
  pipeline::BatchCoordinatorOptions o;
  o.readiness.max_wait = pipeline::Duration::zero();  // decide on this request
  start(o);
  auto r = post("/start", R"({"game_date":"2025-11-18"})");
  EXPECT_EQ(r.status, 503) << r.body;
  EXPECT_EQ(json(r)["status"], "refused");
  EXPECT_TRUE(r.has_header("Retry-After")) << r.headers;
  EXPECT_GE(critical.load(), 1);
}

TEST_F(CoordinatorApiTest, MissingOrInvalidGameDateIs400) {
  start();
  for (const std::string body : {"", "{}", R"({"game_date":"2025-02-30"})", R"({"game_date":20251118})", "[1]",
                                 "{not json", R"({"game_date":"2025-11-18","force":"yes"})"}) {
    auto r = post("/start", body);
    EXPECT_EQ(r.status, 400) << body << " -> " << r.body;
    EXPECT_EQ(json(r)["error"]["code"], "invalid_argument") << r.body;
  }
  EXPECT_EQ(post("/trigger", R"({"processor_name":"x"})").status, 400);
  EXPECT_EQ(post("/trigger", push_envelope(R"({"game_date":"2025-13-01"})")).status, 400);
  EXPECT_EQ(post("/trigger", R"({"message":{"data":"%%%"}})").status, 400);
  EXPECT_EQ(post("/retry", "{}").status, 400);
  EXPECT_EQ(run_curl(dir.path(), {url("/status")}).status, 400);
  EXPECT_EQ(run_curl(dir.path(), {url("/status?date=yesterday")}).status, 400);
}

TEST_F(CoordinatorApiTest, RetryEnqueuesOnlyTheMissingAndStatusReportsCoverage) {
  upstream.set(420, 450);
  start();
  EXPECT_EQ(post("/retry", R"({"game_date":"2025-11-18"})").status, 409);  // no batch yet
  EXPECT_EQ(run_curl(dir.path(), {url("/status?date=2025-11-18")}).status, 404);
  ASSERT_EQ(post("/start", R"({"game_date":"2025-11-18"})").status, 202);
  upstream.predict(380, 1);
  auto r = post("/retry", R"({"game_date":"2025-11-18"})");
  EXPECT_EQ(r.status, 202) << r.body;
  EXPECT_EQ(json(r)["status"], "retrying");
  EXPECT_EQ(json(r)["enqueued"], 40);
  r = run_curl(dir.path(), {url("/status?date=2025-11-18")});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json(r)["done"], 380);
  EXPECT_EQ(json(r)["expected"], 420);
  EXPECT_EQ(json(r)["go"], false);
  upstream.predict(420, 1);
  r = post("/retry", R"({"game_date":"2025-11-18"})");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json(r)["status"], "complete");
  r = run_curl(dir.path(), {url("/health")});
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json(r)["status"], "ok");
}

}  // namespace

namespace {

// The metric names the alert rules of deploy/prometheus use (in their `expr:` lines).
std::set<std::string> metrics_in_alert_rules() {
  std::ifstream in(PIPELINE_SOURCE_DIR "/deploy/prometheus/pipeline_rules.yml");
  std::set<std::string> names;
  const std::regex name(R"(\bpipeline_[a-z0-9_]+)");
  for (std::string line; std::getline(in, line);) {
    if (line.find("expr:") == std::string::npos) continue;
    for (std::sregex_iterator it(line.begin(), line.end(), name), end; it != end; ++it) names.insert(it->str());
  }
  return names;
}

// The rules and the library agree: after a refused batch, a status check below 90%, a dead
// letter and an outbox backlog, a real /metrics scrape of a coordinator on a service
// runtime has a family for every metric the rules name, and promtool accepts the scrape.
TEST_F(CoordinatorApiTest, MetricsScrapeHasEveryMetricTheAlertRulesUse) {
  const auto rule_metrics = metrics_in_alert_rules();
  ASSERT_EQ(rule_metrics.size(), 4U) << "deploy/prometheus/pipeline_rules.yml not read?";
  pipeline::MetricsRegistry metrics = pipeline::MetricsRegistry::create().value();
  auto transport = pipeline::MemoryTransport::create(clock).value();
  ASSERT_TRUE(transport->start(1));
  pipeline::ServiceRuntimeOptions runtime_options;
  runtime_options.name = "phase5";
  runtime_options.metrics = &metrics;
  auto runtime = pipeline::ServiceRuntime::create(clock, store, *transport, runtime_options);
  ASSERT_TRUE(runtime);
  ASSERT_TRUE((*runtime)->subscribe({"phase5-in", "phase5-topic", {}},
                                    [](pipeline::DeliveryPtr d) { (void)d->reject("never valid"); }));
  ASSERT_TRUE((*runtime)->start());
  pipeline::BatchCoordinatorOptions options;
  options.metrics = &metrics;
  // /metrics of the operations endpoints (the API has its own /health), as serve mounts it.
  pipeline::http::Router operations;
  pipeline::http::OperationsOptions ops;
  ops.metrics = &metrics;
  ASSERT_TRUE(pipeline::http::mount_operations(operations, ops));
  start(options, [&](pipeline::http::Router& router) {
    ASSERT_TRUE(router.add("GET", "/metrics",
                           [&operations](const pipeline::http::HttpRequest& req) { return operations.handle(req); }));
  });

  upstream.set(10, 450);  // too few at the end of the wait: refused
  // Started on this thread, which also runs the wait on the clock (the coordinator's
  // start and its wait callback share a result without a lock of their own).
  ASSERT_EQ(coordinator->start(*pipeline::CalendarDate::parse("2025-11-18"), false, pipeline::BatchTrigger::kManual)
                ->status,
            pipeline::BatchOutcome::kWaiting);
  clock.advance(std::chrono::minutes(30));
  EXPECT_EQ(critical.load(), 1);
  upstream.set(420, 450);  // ready: started, nothing predicted at the check
  ASSERT_EQ(post("/start", R"({"game_date":"2025-11-19"})").status, 202);
  ASSERT_TRUE(coordinator->status_check(*pipeline::CalendarDate::parse("2025-11-19")));
  ASSERT_TRUE(transport->publish("phase5-topic", {"m-1", "{}", {}}));
  ASSERT_TRUE(pipeline_test::spin_until([&] {
    auto dead = transport->dead_letters("phase5-in");
    return dead && dead->size() == 1;
  }));
  clock.advance(runtime_options.backlog_interval);

  auto r = run_curl(dir.path(), {url("/metrics")});
  ASSERT_EQ(r.status, 200) << r.body;
  for (const auto& name : rule_metrics)
    EXPECT_NE(r.body.find("# TYPE " + name + " "), std::string::npos) << name << " is not exported:\n" << r.body;
  EXPECT_NE(r.body.find("pipeline_batches_refused_total{coordinator=\"phase5\"} 1\n"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("pipeline_batch_coverage_ratio{coordinator=\"phase5\"} 0\n"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("pipeline_dead_letters{subscription=\"phase5-in\"} 1\n"), std::string::npos) << r.body;
  std::ofstream(dir.file("scrape.txt"), std::ios::binary) << r.body;
  auto [rc, out] =
      pipeline::testing::run_shell(dir.path().string(), "promtool check metrics < '" + dir.file("scrape.txt") + "'");
  EXPECT_EQ(rc, 0) << out;
  server->stop();    // before the registry and the routes it reads
  runtime->reset();  // before the transport it uses
  transport->stop();
}

}  // namespace
