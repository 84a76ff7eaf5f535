// The transport bridge: Pub/Sub push envelopes and CloudEvents POSTed by curl, published on
// to a transport topic named by ?topic=; 503 when the transport fails transiently.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "curl_client.hpp"
#include "phase4_completion.hpp"
#include "pipeline/core/ids.hpp"
#include "pipeline/core/message_codec.hpp"
#include "pipeline/http/cloudevents.hpp"
#include "pipeline/http/http_server.hpp"
#include "pipeline/http/push.hpp"
#include "pipeline/http/transport_bridge.hpp"
#include "pipeline/mocks/failing_transport.hpp"
#include "pipeline/mocks/recording_transport.hpp"
#include "quiet_server.hpp"
#include "temp_dir.hpp"

namespace {

pipeline::Message bridge_completion() { return pipeline::testing::phase4_completion("exec-7"); }

std::string bridge_envelope(const std::string& payload, pipeline::Attributes attributes = {}) {
  return nlohmann::json{{"message", {{"data", pipeline::http::base64_encode(payload)}, {"messageId", "77"},
                                     {"attributes", attributes}}},
                        {"subscription", "projects/p/subscriptions/bridge"}}
      .dump();
}

class TransportBridgeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pipeline::http::Router router;
    ASSERT_TRUE(pipeline::http::mount_transport_bridge(router, transport, {}));
    server = pipeline::testing::start_quiet_server(std::move(router));
    ASSERT_TRUE(server);
  }
  void TearDown() override {
    if (server) server->stop();
  }
  pipeline::testing::CurlResult post(const std::string& path, const std::string& body,
                                     const std::vector<std::string>& headers = {"Content-Type: application/json"}) {
    return pipeline::testing::post_body(dir.path(), "http://127.0.0.1:" + std::to_string(server->port()) + path, body,
                                        headers);
  }
  static std::string error_code(const pipeline::testing::CurlResult& r) {
    auto j = nlohmann::json::parse(r.body, nullptr, false);
    return j.is_object() && j.contains("error") ? j["error"].value("code", "") : "";
  }

  pipeline::testing::TempDir dir;
  pipeline::mocks::RecordingTransport recorded;
  pipeline::mocks::FailingTransport transport{recorded};
  std::unique_ptr<pipeline::http::HttpServer> server;
};

TEST_F(TransportBridgeTest, PushedCompletionIsPublishedToTheNamedTopicUnderItsStableId) {
  const std::string payload = pipeline::encode_message(bridge_completion());
  auto r = post("/push?topic=acme-phase4-precompute-complete", bridge_envelope(payload, {{"origin", "pubsub"}}));
  ASSERT_EQ(r.status, 200) << r.body;
  const std::string id = pipeline::stable_id({"ml_feature_store", "2025-11-18", "exec-7"});
  EXPECT_EQ(nlohmann::json::parse(r.body)["id"], id);
  auto sent = recorded.published();
  ASSERT_EQ(sent.size(), 1U);
  EXPECT_EQ(sent[0].topic, "acme-phase4-precompute-complete");
  EXPECT_EQ(sent[0].message.id, id);  // not Pub/Sub's messageId
  EXPECT_EQ(sent[0].message.payload, payload);
  EXPECT_EQ(sent[0].message.attributes.at("origin"), "pubsub");
}

TEST_F(TransportBridgeTest, CloudEventIsPublishedUnderTheEventId) {
  const auto event = pipeline::http::completion_cloudevent(bridge_completion(), "phase4/2025-11-18/w0", "");
  auto r = post("/events?topic=acme-phase4-precompute-complete", event.dump(),
                {"Content-Type: application/cloudevents+json"});
  ASSERT_EQ(r.status, 200) << r.body;
  auto sent = recorded.published();
  ASSERT_EQ(sent.size(), 1U);
  EXPECT_EQ(sent[0].topic, "acme-phase4-precompute-complete");
  EXPECT_EQ(sent[0].message.id, "phase4/2025-11-18/w0");
  auto decoded = pipeline::decode_message(sent[0].message.payload);
  ASSERT_TRUE(decoded) << decoded.error().to_string();
  EXPECT_EQ(decoded->execution_id, "exec-7");
}

TEST_F(TransportBridgeTest, BadRequestsAre4xxAndPublishNothing) {
  const std::string payload = pipeline::encode_message(bridge_completion());
  auto r = post("/push", bridge_envelope(payload));
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(error_code(r), "invalid_topic");
  r = post("/push?topic=Not%20A%20Topic", bridge_envelope(payload));
  EXPECT_EQ(r.status, 400) << r.body;
  r = post("/push?topic=t", R"({"message":{"data":"***"}})");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(error_code(r), "invalid_envelope");
  r = post("/push?topic=t", bridge_envelope("not a message"));
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(error_code(r), "invalid_message");
  r = post("/push?topic=t", bridge_envelope(payload), {"Content-Type: text/plain"});
  EXPECT_EQ(r.status, 415) << r.body;
  r = post("/events?topic=t", payload, {"Content-Type: application/json", "ce-specversion: 0.3"});
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(recorded.published_count(), 0U);
}

TEST_F(TransportBridgeTest, TransientPublishFailureIs503SoTheSenderRetriesAndPermanentIs400) {
  const std::string body = bridge_envelope(pipeline::encode_message(bridge_completion()));
  transport.set_down(true, pipeline::ErrorCode::kUnavailable);
  auto r = post("/push?topic=t", body);
  EXPECT_EQ(r.status, 503) << r.body;
  EXPECT_TRUE(r.has_header("Retry-After")) << r.headers;
  transport.set_down(true, pipeline::ErrorCode::kBackpressure);
  EXPECT_EQ(post("/push?topic=t", body).status, 503);
  transport.set_down(true, pipeline::ErrorCode::kInvalidArgument);
  r = post("/push?topic=t", body);
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(error_code(r), "rejected");
  // The retry, once the transport is back, goes through with the same stable id.
  transport.set_down(false);
  r = post("/push?topic=t", body);
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(recorded.published_count(), 1U);
}

}  // namespace
