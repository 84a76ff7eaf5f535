// The example of include/pipeline/redis/ (`@snippet redis_snippets_test.cpp <tag>`), against
// the test run's server. Its keys are under a fresh prefix; the run's server is stopped
// (and its data dropped) by the ctest fixture.

#include <atomic>
#include <string>

#include <gtest/gtest.h>

#include "pipeline/core/message_codec.hpp"
#include "pipeline/core/system_clock.hpp"
#include "pipeline/redis/redis_transport.hpp"
#include "redis/redis_server.hpp"
#include "snippets/snippet_support.hpp"
#include "spin_until.hpp"

namespace pipeline::redis_snippets_test {
namespace {

TEST(RedisSnippets, RedisTransport) {
  const std::string uri = testing::redis_uri();   // "redis://127.0.0.1:6379/0" in production
  ASSERT_FALSE(uri.empty());
  pipeline::RedisTransportOptions options;
  options.key_prefix = testing::fresh_prefix();
  options.handler_threads = 2;
  std::atomic<int> handled{0};
  const pipeline::Handler handler = [&](pipeline::DeliveryPtr d) {
    if (d->ack()) ++handled;
  };
  const std::string json = pipeline::encode_message(snippets::completion("orders_feed"));
  //! [redis_transport]
  pipeline::SystemClock clock;
  auto redis = pipeline::RedisTransport::open(clock, uri, options);
  ASSERT_TRUE(redis) << redis.error().to_string();
  auto sub = (*redis)->subscribe({"phase3-sub", "acme-phase2-raw-complete", {}}, handler);
  auto st = (*redis)->publish("acme-phase2-raw-complete", {"phase2/2025-11-18/orders_feed", json, {}});
  //! [redis_transport]
  ASSERT_TRUE(sub) << sub.error().to_string();
  ASSERT_TRUE(st) << st.error().to_string();
  EXPECT_TRUE(pipeline_test::spin_until([&] { return handled.load() == 1; }));
}

}  // namespace
}  // namespace pipeline::redis_snippets_test
