// Pub/Sub push in: the envelope decoder, base64, and the endpoint driven by curl.
#include <atomic>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "curl_client.hpp"
#include "phase4_completion.hpp"
#include "pipeline/core/message_codec.hpp"
#include "pipeline/http/http_server.hpp"
#include "pipeline/http/push.hpp"
#include "pipeline/memory/memory_state_store.hpp"
#include "pipeline/orchestrate/idempotent_consumer.hpp"
#include "quiet_server.hpp"
#include "temp_dir.hpp"

namespace {

using pipeline::http::base64_decode;
using pipeline::http::base64_encode;
using pipeline::http::decode_push_envelope;

using pipeline::testing::phase4_completion;

std::string envelope(std::string_view payload, nlohmann::json attributes = nlohmann::json::object(),
                     std::string message_id = "pubsub-1") {
  return nlohmann::json{{"message",
                         {{"data", base64_encode(payload)},
                          {"attributes", attributes},
                          {"messageId", message_id},
                          {"publishTime", "2025-11-18T06:00:00Z"}}},
                        {"subscription", "projects/p/subscriptions/phase5-push"},
                        {"deliveryAttempt", 2}}
      .dump();
}

TEST(Base64, RoundTripsEveryLengthAndRefusesGarbage) {
  std::string bytes;
  for (int i = 0; i < 300; ++i) {
    auto back = base64_decode(base64_encode(bytes));
    ASSERT_TRUE(back) << i;
    EXPECT_EQ(*back, bytes);
    bytes += static_cast<char>(i * 37);
  }
  EXPECT_EQ(*base64_decode("aGk"), "hi");  // unpadded
  EXPECT_EQ(*base64_decode("-_8="), *base64_decode("+/8="));
  EXPECT_FALSE(base64_decode("a"));
  EXPECT_FALSE(base64_decode("aGk*"));
  EXPECT_FALSE(base64_decode("a=Gk"));
  EXPECT_FALSE(base64_decode("aGl="));  // stray bits
}

TEST(PushEnvelope, DecodesBothSpellings) {
  auto e = decode_push_envelope(envelope("{}", {{"k", "v"}}));
  ASSERT_TRUE(e) << e.error().message;
  EXPECT_EQ(e->data, "{}");
  EXPECT_EQ(e->attributes.at("k"), "v");
  EXPECT_EQ(e->message_id, "pubsub-1");
  EXPECT_EQ(e->publish_time, "2025-11-18T06:00:00Z");
  EXPECT_EQ(e->subscription, "projects/p/subscriptions/phase5-push");
  EXPECT_EQ(e->delivery_attempt, 2);
  auto snake = decode_push_envelope(
      R"({"message":{"data":"e30=","message_id":"m2","publish_time":"t","ordering_key":"o"},"subscription":"s"})");
  ASSERT_TRUE(snake) << snake.error().message;
  EXPECT_EQ(snake->message_id, "m2");
  EXPECT_EQ(snake->ordering_key, "o");
  EXPECT_EQ(snake->delivery_attempt, 1);
}

TEST(PushEnvelope, NamesTheBadField) {
  auto msg = [](std::string_view body) {
    auto e = decode_push_envelope(body);
    return e ? std::string("decoded") : e.error().message;
  };
  EXPECT_NE(msg("not json").find("push envelope"), std::string::npos);
  EXPECT_NE(msg("[]").find("JSON object"), std::string::npos);
  EXPECT_NE(msg("{}").find("'message'"), std::string::npos);
  EXPECT_NE(msg(R"({"message":{"data":5}})").find("message.data"), std::string::npos);
  EXPECT_NE(msg(R"({"message":{"data":"!!!!"}})").find("base64"), std::string::npos);
  EXPECT_NE(msg(R"({"message":{"attributes":{"a":1}}})").find("attribute 'a'"), std::string::npos);
  EXPECT_NE(msg(R"({"message":{},"deliveryAttempt":0})").find("deliveryAttempt"), std::string::npos);
  EXPECT_NE(msg(R"({"message":{"messageId":7}})").find("messageId"), std::string::npos);
  EXPECT_NE(msg(std::string(100000, '[')).find("nest"), std::string::npos);
}

// A push endpoint over an IdempotentConsumer, as a service mounts it.
class PushEndpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto created = pipeline::IdempotentConsumer::create(
        store,
        [this](pipeline::Transaction& tx, const pipeline::Delivery& d) -> pipeline::Status {
          ++bodies;
          last_attempt = d.attempt();
          if (fail_next.exchange(false))
            return pipeline::fail(pipeline::ErrorCode::kUnavailable, "the store is down for a moment");
          return tx.put("seen/" + d.id(), d.payload());
        },
        {"phase5"});
    ASSERT_TRUE(created) << created.error().to_string();
    consumer = std::make_unique<pipeline::IdempotentConsumer>(std::move(*created));
    pipeline::http::Router router;
    ASSERT_TRUE(router.add("POST", "/push", pipeline::http::push_endpoint(consumer->handler(), {"phase4-complete", "sub"})));
    ASSERT_TRUE(router.add("POST", "/push-reject", pipeline::http::push_endpoint(
                                                      [](pipeline::DeliveryPtr d) { (void)d->reject("never valid"); },
                                                      {"t", "s"})));
    ASSERT_TRUE(router.add("POST", "/push-forget", pipeline::http::push_endpoint([](pipeline::DeliveryPtr) {}, {"t", "s"})));
    server = pipeline::testing::start_quiet_server(std::move(router));
    ASSERT_TRUE(server);
  }
  std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(server->port()) + path; }
  pipeline::testing::CurlResult post(const std::string& path, const std::string& body,
                                     const std::string& type = "application/json") {
    return pipeline::testing::post_body(dir.path(), url(path), body, {"Content-Type: " + type});
  }

  pipeline::testing::TempDir dir;
  pipeline::MemoryStateStore store = pipeline::MemoryStateStore::create().value();
  std::unique_ptr<pipeline::IdempotentConsumer> consumer;
  std::atomic<int> bodies{0};
  std::atomic<int> last_attempt{0};
  std::atomic<bool> fail_next{false};
  std::unique_ptr<pipeline::http::HttpServer> server;
};

TEST_F(PushEndpointTest, AcksWithTheStableIdAndProcessesDuplicatesOnce) {
  const std::string payload = pipeline::encode_message(phase4_completion());
  auto r = post("/push", envelope(payload, nlohmann::json::object(), "pubsub-1"));
  EXPECT_EQ(r.status, 200) << r.body;
  const std::string id = "ml_feature_store/2025-11-18/exec-1";
  EXPECT_NE(r.body.find(id), std::string::npos) << r.body;
  EXPECT_EQ(last_attempt.load(), 2);
  // Pub/Sub redelivers the same message with another messageId: acked, not processed again.
  r = post("/push", envelope(payload, nlohmann::json::object(), "pubsub-2"));
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(bodies.load(), 1);
  EXPECT_TRUE(*consumer->processed(id));
}

TEST_F(PushEndpointTest, TakesTheStableIdFromTheAttribute) {
  const std::string payload = pipeline::encode_message(phase4_completion());
  auto r = post("/push", envelope(payload, {{"pipeline.id", "phase4/2025-11-18/w0"}}));
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(*consumer->processed("phase4/2025-11-18/w0"));
  r = post("/push", envelope(payload, {{"pipeline.id", ""}}));
  EXPECT_EQ(r.status, 400) << r.body;
}

TEST_F(PushEndpointTest, TransientFailureIs503SoPubSubRedelivers) {
  fail_next = true;
  const std::string payload = pipeline::encode_message(phase4_completion("exec-2"));
  auto r = post("/push", envelope(payload));
  EXPECT_EQ(r.status, 503) << r.body;
  EXPECT_TRUE(r.has_header("Retry-After")) << r.headers;
  r = post("/push", envelope(payload));  // the redelivery succeeds and is processed
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(bodies.load(), 2);
}

TEST_F(PushEndpointTest, BadInputIs4xxWithJsonErrorNever5xx) {
  const std::string payload = pipeline::encode_message(phase4_completion());
  struct Case {
    std::string body, type;
    int status;
    std::string code;
  };
  const std::vector<Case> cases{
      {envelope(payload), "text/plain", 415, "unsupported_media_type"},
      {"{not json", "application/json", 400, "invalid_envelope"},
      {R"({"message":{"data":"###"}})", "application/json", 400, "invalid_envelope"},
      {R"({"subscription":"s"})", "application/json", 400, "invalid_envelope"},
      {envelope("not a message"), "application/json", 400, "invalid_message"},
      {envelope(R"({"processor_name":"x"})"), "application/json", 400, "invalid_message"},
      {"", "application/json", 400, "invalid_envelope"},
  };
  for (const auto& c : cases) {
    auto r = post("/push", c.body, c.type);
    EXPECT_EQ(r.status, c.status) << c.body;
    auto j = nlohmann::json::parse(r.body, nullptr, false);
    ASSERT_TRUE(j.is_object()) << r.body;
    EXPECT_EQ(j["error"]["code"], c.code) << r.body;
  }
  EXPECT_EQ(bodies.load(), 0);
}

TEST_F(PushEndpointTest, RejectIs400AndAnUnsettledDeliveryIs503) {
  const std::string payload = pipeline::encode_message(phase4_completion());
  auto r = post("/push-reject", envelope(payload));
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("never valid"), std::string::npos) << r.body;
  r = post("/push-forget", envelope(payload));
  EXPECT_EQ(r.status, 503);
}

}  // namespace
