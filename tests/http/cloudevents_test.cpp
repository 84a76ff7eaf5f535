// CloudEvents 1.0 over HTTP: binary and structured mode in (driven by curl), a completion
// rendered out, traceparent carried through, invalid events answered 400 naming the problem.
#include <atomic>
#include <mutex>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "curl_client.hpp"
#include "phase4_completion.hpp"
#include "pipeline/core/message_codec.hpp"
#include "pipeline/http/cloudevents.hpp"
#include "pipeline/http/http_server.hpp"
#include "pipeline/http/push.hpp"
#include "pipeline/memory/memory_state_store.hpp"
#include "pipeline/orchestrate/idempotent_consumer.hpp"
#include "quiet_server.hpp"
#include "temp_dir.hpp"

namespace {


constexpr const char* kTraceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

pipeline::Message ce_completion() {
  pipeline::Message m = pipeline::testing::phase4_completion();
  m.traceparent = kTraceparent;
  return m;
}

TEST(CloudEvent, RendersACompletionAndDecodesItBack) {
  const auto j = pipeline::http::completion_cloudevent(ce_completion(), "phase4/2025-11-18/w0", "2025-11-18T06:00:00Z");
  EXPECT_EQ(j["specversion"], "1.0");
  EXPECT_EQ(j["id"], "phase4/2025-11-18/w0");
  EXPECT_EQ(j["source"], "/pipeline/phase4_precompute/ml_feature_store");
  EXPECT_EQ(j["type"], pipeline::http::kCompletionEventType);
  EXPECT_EQ(j["subject"], "2025-11-18");
  EXPECT_EQ(j["traceparent"], kTraceparent);
  auto e = pipeline::http::decode_structured_cloudevent(j.dump());
  ASSERT_TRUE(e) << e.error().message;
  auto m = pipeline::decode_message(e->data);
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_EQ(*m, ce_completion());
}

TEST(CloudEvent, InvalidEventsNameWhatIsWrong) {
  auto why = [](const std::string& body) {
    auto e = pipeline::http::decode_structured_cloudevent(body);
    return e ? std::string("decoded") : e.error().message;
  };
  const std::string base = R"("specversion":"1.0","id":"1","source":"/s","type":"t")";
  EXPECT_NE(why(R"({"specversion":"0.3","id":"1","source":"/s","type":"t"})").find("specversion '0.3' is not 1.0"),
            std::string::npos);
  EXPECT_NE(why(R"({"specversion":"1.0","id":"1","type":"t"})").find("'source'"), std::string::npos);
  EXPECT_NE(why(R"({"specversion":"1.0","source":"/s","type":"t"})").find("'id'"), std::string::npos);
  EXPECT_NE(why("{" + base + R"(,"data":{},"data_base64":"e30="})").find("both"), std::string::npos);
  EXPECT_NE(why("{" + base + R"(,"data_base64":"***"})").find("base64"), std::string::npos);
  EXPECT_NE(why("{" + base + R"(,"traceparent":"00-zz"})").find("traceparent"), std::string::npos);
  EXPECT_NE(why("{" + base + R"(,"time":5})").find("'time'"), std::string::npos);
  EXPECT_NE(why("[]").find("JSON object"), std::string::npos);
  EXPECT_EQ(why("{" + base + R"(,"data_base64":"e30="})"), "decoded");
}

class CloudEventEndpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pipeline::http::Router router;
    ASSERT_TRUE(router.add("POST", "/events", pipeline::http::cloudevent_endpoint(
                                                  [this](pipeline::DeliveryPtr d) {
                                                    {
                                                      std::lock_guard lock(mu);
                                                      ids.push_back(d->id());
                                                      auto it = d->attributes().find("traceparent");
                                                      traceparents.push_back(it == d->attributes().end() ? "" : it->second);
                                                    }
                                                    (void)d->ack();
                                                  },
                                                  {"phase4-complete", "events"})));
    server = pipeline::testing::start_quiet_server(std::move(router));
    ASSERT_TRUE(server);
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(server->port()) + "/events"; }
  pipeline::testing::CurlResult post(const std::string& body, const std::vector<std::string>& headers) {
    return pipeline::testing::post_body(dir.path(), url(), body, headers);
  }
  pipeline::testing::TempDir dir;
  std::mutex mu;
  std::vector<std::string> ids, traceparents;
  std::unique_ptr<pipeline::http::HttpServer> server;
};

TEST_F(CloudEventEndpointTest, StructuredModeDeliversWithStableIdAndTraceparent) {
  const auto event = pipeline::http::completion_cloudevent(ce_completion(), "phase4/2025-11-18/w0", "");
  auto r = post(event.dump(), {"Content-Type: application/cloudevents+json; charset=utf-8"});
  EXPECT_EQ(r.status, 200) << r.body;
  std::lock_guard lock(mu);
  ASSERT_EQ(ids.size(), 1U);
  EXPECT_EQ(ids[0], "phase4/2025-11-18/w0");
  EXPECT_EQ(traceparents[0], kTraceparent);
}

TEST_F(CloudEventEndpointTest, BinaryModeDeliversWithTraceparent) {
  auto r = post(pipeline::encode_message(ce_completion()),
                {"Content-Type: application/json", "ce-specversion: 1.0", "ce-id: phase4/2025-11-18/w1",
                 "ce-source: /pipeline/phase4_precompute/ml_feature_store", "ce-type: dev.pipeline.completion.v1",
                 std::string("traceparent: ") + kTraceparent});
  EXPECT_EQ(r.status, 200) << r.body;
  std::lock_guard lock(mu);
  ASSERT_EQ(ids.size(), 1U);
  EXPECT_EQ(ids[0], "phase4/2025-11-18/w1");
  EXPECT_EQ(traceparents[0], kTraceparent);
}

TEST_F(CloudEventEndpointTest, InvalidEventsAre400NamingTheProblem) {
  const std::string msg = pipeline::encode_message(ce_completion());
  struct Case {
    std::string body;
    std::vector<std::string> headers;
    std::string says;
  };
  const std::vector<Case> cases{
      {msg, {"Content-Type: application/json"}, "no ce-specversion"},
      {msg, {"Content-Type: application/json", "ce-specversion: 0.3", "ce-id: 1", "ce-source: /s", "ce-type: t"},
       "'0.3' is not 1.0"},
      {msg, {"Content-Type: application/json", "ce-specversion: 1.0", "ce-source: /s", "ce-type: t"}, "'id'"},
      {msg,
       {"Content-Type: application/json", "ce-specversion: 1.0", "ce-id: 1", "ce-source: /s", "ce-type: t",
        "traceparent: 00-nope"},
       "traceparent"},
      {"{", {"Content-Type: application/cloudevents+json"}, "CloudEvent"},
      {"not a message",
       {"Content-Type: text/plain", "ce-specversion: 1.0", "ce-id: 1", "ce-source: /s", "ce-type: t"},
       "invalid_message"},
      {"[]", {"Content-Type: application/cloudevents-batch+json"}, "not supported"},
  };
  for (const auto& c : cases) {
    auto r = post(c.body, c.headers);
    EXPECT_EQ(r.status, 400) << c.says << ": " << r.body;
    EXPECT_NE(r.body.find(c.says), std::string::npos) << r.body;
  }
  std::lock_guard lock(mu);
  EXPECT_TRUE(ids.empty());
}

}  // namespace
