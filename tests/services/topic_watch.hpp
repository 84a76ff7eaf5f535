#pragma once
// A consumer of one topic on the test run's Redis, under a test's key prefix, for
// tests/services: it acks every delivery and keeps its stable id and decoded message.

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "pipeline/core/message_codec.hpp"
#include "pipeline/core/system_clock.hpp"
#include "pipeline/redis/redis_transport.hpp"

namespace pipeline::testing {

class TopicWatch {
 public:
  // Subscribes `subscription` to `topic` (before the services start: a group sees only
  // what comes after it). `ok()` is false, with a test failure, when that did not work.
  TopicWatch(const std::string& uri, const std::string& prefix, const std::string& subscription,
             const std::string& topic) {
    RedisTransportOptions options;
    options.key_prefix = prefix;
    options.handler_threads = 1;
    auto bus = RedisTransport::open(clock_, uri, options);
    if (!bus) {
      ADD_FAILURE() << bus.error().to_string();
      return;
    }
    bus_ = std::move(*bus);
    auto sub = bus_->subscribe({subscription, topic, {}}, [this](DeliveryPtr d) {
      auto m = decode_message(d->payload());
      {
        std::lock_guard lock(mu_);
        ids_.push_back(d->id());
        messages_.push_back(m ? std::optional<Message>(std::move(*m)) : std::nullopt);
      }
      (void)d->ack();
    });
    if (!sub) {
      ADD_FAILURE() << sub.error().to_string();
      return;
    }
    sub_ = std::move(*sub);
  }
  ~TopicWatch() {
    sub_.reset();  // before the transport it was attached to
    bus_.reset();
  }

  [[nodiscard]] bool ok() const { return sub_ != nullptr; }
  // The transport, for publishing into the pipeline under the same prefix.
  RedisTransport& bus() { return *bus_; }
  // Stable ids of the deliveries so far, in arrival order.
  std::vector<std::string> ids() {
    std::lock_guard lock(mu_);
    return ids_;
  }
  // The deliveries' messages (nullopt where one did not decode), in arrival order.
  std::vector<std::optional<Message>> messages() {
    std::lock_guard lock(mu_);
    return messages_;
  }

 private:
  SystemClock clock_;
  std::unique_ptr<RedisTransport> bus_;
  std::unique_ptr<Subscription> sub_;
  std::mutex mu_;
  std::vector<std::string> ids_;
  std::vector<std::optional<Message>> messages_;
};

}  // namespace pipeline::testing
