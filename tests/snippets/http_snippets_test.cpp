// The examples of include/pipeline/http/ (`@snippet http_snippets_test.cpp <tag>`). Routes are
// driven in-process through Router::handle; the server's example is driven over loopback by
// the real curl binary.

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "http/curl_client.hpp"
#include "pipeline/alert/alert_manager.hpp"
#include "pipeline/coordinate/batch_coordinator.hpp"
#include "pipeline/coordinate/stored_upstream.hpp"
#include "pipeline/core/best_effort_settle.hpp"
#include "pipeline/core/manual_clock.hpp"
#include "pipeline/core/message_codec.hpp"
#include "pipeline/http/coordinator_api.hpp"
#include "pipeline/http/http_message.hpp"
#include "pipeline/http/http_server.hpp"
#include "pipeline/http/operations.hpp"
#include "pipeline/http/push.hpp"
#include "pipeline/http/router.hpp"
#include "pipeline/http/status_page.hpp"
#include "pipeline/http/transport_bridge.hpp"
#include "pipeline/http/webhook_alert_sink.hpp"
#include "pipeline/memory/memory_state_store.hpp"
#include "pipeline/memory/memory_transport.hpp"
#include "pipeline/memory/metrics_registry.hpp"
#include "pipeline/orchestrate/idempotent_consumer.hpp"
#include "pipeline/runtime/service_runtime.hpp"
#include "pipeline/schedule/local_time.hpp"
#include "snippets/snippet_support.hpp"
#include "temp_dir.hpp"

namespace pipeline::http_snippets_test {
namespace {

pipeline::http::HttpRequest request(std::string method, std::string path, std::string body = {}) {
  pipeline::http::HttpRequest r;
  r.method = std::move(method);
  r.target = path;
  r.path = std::move(path);
  r.body = std::move(body);
  return r;
}

// A Pub/Sub push of `m` to `path`, as the push subscription sends it.
pipeline::http::HttpRequest push(std::string path, const pipeline::Message& m) {
  const nlohmann::json envelope{
      {"message", {{"data", pipeline::http::base64_encode(pipeline::encode_message(m))}, {"messageId", "1"}}},
      {"subscription", "projects/acme/subscriptions/phase3-push"}};
  auto r = request("POST", std::move(path), envelope.dump());
  r.headers["Content-Type"] = "application/json";
  return r;
}

struct HttpSnippets : ::testing::Test {
  pipeline::ManualClock clock;
  pipeline::MemoryStateStore store = pipeline::MemoryStateStore::create().value();
  std::unique_ptr<pipeline::MemoryTransport> transport = pipeline::MemoryTransport::create(clock).value();
  pipeline::MetricsRegistry metrics = pipeline::MetricsRegistry::create().value();
  std::unique_ptr<pipeline::AlertManager> alerts = pipeline::AlertManager::create(clock, {}).value();
};

TEST_F(HttpSnippets, CoordinatorApi) {
  auto upstream = pipeline::StoredUpstream::create(store, {}).value();
  auto coordinator = pipeline::BatchCoordinator::create(clock, store, *alerts, upstream, upstream).value();
  const pipeline::http::ReadinessProbe probe = [] { return pipeline::http::ReadinessReport{}; };
  //! [coordinator_api]
  pipeline::http::Router router;
  pipeline::http::CoordinatorApiOptions api_options;
  api_options.prefix = "/phase5";   // /phase5/start, /phase5/status, ...; both mount a /health
  auto api = pipeline::http::mount_coordinator_api(router, *coordinator, api_options);
  auto ops = pipeline::http::mount_operations(router, {&metrics, probe, "phase5"});  // /metrics, /ready
  //! [coordinator_api]
  ASSERT_TRUE(api) << api.error().to_string();
  ASSERT_TRUE(ops) << ops.error().to_string();
  auto retry = router.handle(request("POST", "/phase5/retry", R"({"game_date":"2025-11-18"})"));
  EXPECT_EQ(retry.status, 409) << retry.body;   // no batch yet
  EXPECT_EQ(router.handle(request("GET", "/ready")).status, 200);
}

//! [http_message]
pipeline::http::HttpResponse start_batch(const pipeline::http::HttpRequest& req) {
  if (req.body.empty()) return pipeline::http::HttpResponse::error(400, "invalid_argument", "game_date is missing");
  const std::string id = "phase5-2025-11-18-b1";
  return pipeline::http::HttpResponse::json(202, {{"batch_id", id}});
}
//! [http_message]

TEST(HttpSnippetsPlain, HttpMessage) {
  const auto started = start_batch(request("POST", "/start", R"({"game_date":"2025-11-18"})"));
  EXPECT_EQ(started.status, 202);
  EXPECT_EQ(nlohmann::json::parse(started.body)["batch_id"], "phase5-2025-11-18-b1");
  const auto refused = start_batch(request("POST", "/start"));
  EXPECT_EQ(refused.status, 400);
  EXPECT_NE(refused.body.find("game_date is missing"), std::string::npos) << refused.body;
}

TEST(HttpSnippetsPlain, HttpServer) {
  testing::TempDir dir;
  auto hello = [](const pipeline::http::HttpRequest&) { return pipeline::http::HttpResponse::text(200, "hello\n"); };
  std::uint16_t port = 0;
  pipeline::testing::CurlResult got;
  //! [http_server]
  pipeline::http::Router router;
  auto added = router.add("GET", "/hello", hello);
  auto server = pipeline::http::HttpServer::create(std::move(router), {});
  auto started = (*server)->start();
  port = (*server)->port();
  //! [http_server]
  ASSERT_TRUE(added);
  ASSERT_TRUE(server) << server.error().to_string();
  ASSERT_TRUE(started) << started.error().to_string();
  got = testing::run_curl(dir.path().string(), {"-s", "http://127.0.0.1:" + std::to_string(port) + "/hello"});
  //! [http_server_stop]
  (*server)->stop();   // drains: in-flight requests are answered
  //! [http_server_stop]
  EXPECT_EQ(got.exit_code, 0) << got.stderr_text;
  EXPECT_EQ(got.status, 200);
  EXPECT_EQ(got.body, "hello\n");
}

TEST_F(HttpSnippets, OperationsReadiness) {
  auto created = pipeline::ServiceRuntime::create(clock, store, *transport, {});
  ASSERT_TRUE(created);
  pipeline::ServiceRuntime& runtime = **created;
  pipeline::http::OperationsOptions options;
  //! [readiness_from]
  options.readiness = [&runtime] { return pipeline::http::readiness_from(runtime.health()); };
  //! [readiness_from]
  EXPECT_TRUE(options.readiness().ready());
  runtime.request_stop();
  EXPECT_FALSE(options.readiness().ready());   // draining: the load balancer stops sending
}

TEST_F(HttpSnippets, MountOperations) {
  //! [mount_operations]
  pipeline::MetricsRegistry metrics = pipeline::MetricsRegistry::create().value();
  pipeline::http::Router router;
  auto mounted = pipeline::http::mount_operations(router, {&metrics, {}, "phase5-coordinator"});
  //! [mount_operations]
  ASSERT_TRUE(mounted) << mounted.error().to_string();
  metrics.counter("pipeline_published_total", "Messages published")->add();
  auto scraped = router.handle(request("GET", "/metrics"));
  EXPECT_EQ(scraped.status, 200);
  EXPECT_NE(scraped.body.find("pipeline_published_total 1"), std::string::npos) << scraped.body;
}

TEST_F(HttpSnippets, Push) {
  auto body = [](pipeline::Transaction& tx, const pipeline::Delivery& d) {
    return tx.put("phase3/seen/" + d.id(), d.payload());
  };
  pipeline::http::Router router;
  //! [push]
  auto consumer = pipeline::IdempotentConsumer::create(store, body, {"phase3"});
  ASSERT_TRUE(consumer) << consumer.error().to_string();
  auto added = router.add("POST", "/push/phase2", pipeline::http::push_endpoint(consumer->handler(),
                                                  {"phase2-raw-complete", "phase3-push"}));
  //! [push]
  ASSERT_TRUE(added);
  const pipeline::Message m = snippets::completion("orders_loader");
  auto first = router.handle(push("/push/phase2", m));
  EXPECT_EQ(first.status, 200) << first.body;
  auto again = router.handle(push("/push/phase2", m));   // a redelivery: acked, processed once
  EXPECT_EQ(again.status, 200) << again.body;
  auto rows = store.transact([](pipeline::Transaction& tx) -> pipeline::Status {
    auto seen = tx.count("phase3/seen/");
    if (!seen) return pipeline::fail(seen.error());
    EXPECT_EQ(*seen, 1u);
    return pipeline::ok();
  });
  EXPECT_TRUE(rows);
}

TEST(HttpSnippetsPlain, Router) {
  //! [router]
  pipeline::http::Router router;
  auto added = router.add("GET", "/hello", [](const pipeline::http::HttpRequest&) {
    return pipeline::http::HttpResponse::text(200, "hello\n");
  });
  //! [router]
  ASSERT_TRUE(added);
  EXPECT_EQ(router.handle(request("GET", "/hello")).body, "hello\n");
  EXPECT_EQ(router.handle(request("POST", "/hello")).status, 405);
  EXPECT_EQ(router.handle(request("GET", "/nope")).status, 404);
}

TEST_F(HttpSnippets, StatusPage) {
  pipeline::http::Router router;
  pipeline::http::HttpServerOptions server_options;
  auto mount = [&]() -> int {
    //! [status_page]
    pipeline::http::StatusPageOptions page;
    page.store = &store;
    page.clock = &clock;
    page.game_date = [](pipeline::TimePoint t) { return *pipeline::game_date_of(t); };
    if (auto s = pipeline::http::mount_status_page(router, server_options, page); !s) return 1;
    //! [status_page]
    return 0;
  };
  ASSERT_EQ(mount(), 0);
  auto page = router.handle(request("GET", "/"));
  EXPECT_EQ(page.status, 200);
  EXPECT_NE(page.content_type.find("text/html"), std::string::npos) << page.content_type;
}

TEST_F(HttpSnippets, TransportBridge) {
  std::vector<std::string> received;
  auto sub = transport->subscribe({"phase5-sub", "acme-phase4-precompute-complete", {}}, [&](pipeline::DeliveryPtr d) {
    received.push_back(d->id());
    pipeline::best_effort_ack(*d);
  });
  ASSERT_TRUE(sub);
  //! [transport_bridge]
  pipeline::http::Router router;
  auto mounted = pipeline::http::mount_transport_bridge(router, *transport, {});
  // Pub/Sub push subscription endpoint: https://host/push?topic=acme-phase4-precompute-complete
  //! [transport_bridge]
  ASSERT_TRUE(mounted) << mounted.error().to_string();
  auto r = push("/push", snippets::completion("features"));
  r.target = "/push?topic=acme-phase4-precompute-complete";
  r.query["topic"] = "acme-phase4-precompute-complete";
  auto answer = router.handle(r);
  EXPECT_EQ(answer.status, 200) << answer.body;
  transport->pump();
  EXPECT_EQ(received.size(), 1u);
}

TEST_F(HttpSnippets, WebhookAlertSink) {
  //! [webhook_alert_sink]
  pipeline::http::WebhookAlertSinkOptions options;
  options.url = "https://hooks.slack.com/services/T/B/X";
  auto slack = pipeline::http::WebhookAlertSink::create(clock, options);
  ASSERT_TRUE(slack) << slack.error().to_string();   // a URL without https:// is refused
  auto alerts = pipeline::AlertManager::create(clock, {*slack});
  //! [webhook_alert_sink]
  ASSERT_TRUE(alerts) << alerts.error().to_string();
  options.url = "hooks.slack.com";   // no scheme
  EXPECT_FALSE(pipeline::http::WebhookAlertSink::create(clock, options));
}

}  // namespace
}  // namespace pipeline::http_snippets_test
