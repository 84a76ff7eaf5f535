#pragma once
/// @file
/// `mocks::RecordingTransport`: a `Transport` test double that records every publish.

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pipeline/core/best_effort_settle.hpp"
#include "pipeline/core/result.hpp"
#include "pipeline/core/transport.hpp"

namespace pipeline::inline v0::mocks {

/// Records every successful `publish` (topic and message) and, unless told otherwise,
/// hands each message synchronously to the handlers subscribed to its topic — on the
/// publishing thread, without any redelivery, deadline or dead-lettering (use
/// `MemoryTransport` when those matter).
///
/// **Thread safety:** every member may be called from any thread; handlers run without
/// the mock's lock. **Performance:** copies each message into the record.
/// **Errors:** `publish` → `kInvalidArgument` for an empty topic or id; `subscribe` →
/// `kAlreadyExists` for a name already attached; `replay_dead_letter` → `kNotFound`.
///
/// **Example:**
/// @code
///   pipeline::mocks::RecordingTransport transport;
///   transport.publish("t", {"id-1", "{}", {}});
///   assert(transport.published().at(0).message.id == "id-1");
/// @endcode
class RecordingTransport final : public Transport {
 public:
  struct Record {
    std::string topic;
    OutgoingMessage message;
  };

  /// A delivery that records how it was settled.
  class RecordedDelivery final : public Delivery {
   public:
    RecordedDelivery(std::string topic, std::string subscription, OutgoingMessage m)
        : topic_(std::move(topic)), subscription_(std::move(subscription)), m_(std::move(m)) {}
    const std::string& id() const noexcept override { return m_.id; }
    const std::string& topic() const noexcept override { return topic_; }
    const std::string& subscription() const noexcept override { return subscription_; }
    const std::string& payload() const noexcept override { return m_.payload; }
    const Attributes& attributes() const noexcept override { return m_.attributes; }
    int attempt() const noexcept override { return 1; }
    TimePoint deadline() const override { return TimePoint::max(); }
    Status ack() override { return settle("acked"); }
    Status nack(std::string_view reason) override { return settle(std::string("nacked: ").append(reason)); }
    Status reject(std::string_view reason) override { return settle(std::string("rejected: ").append(reason)); }
    Status extend_deadline(Duration) override { return ok(); }
    /// "" while unsettled, then "acked", "nacked: <reason>" or "rejected: <reason>".
    std::string outcome() const {
      std::lock_guard lock(mu_);
      return outcome_;
    }

   private:
    Status settle(std::string outcome) {
      std::lock_guard lock(mu_);
      if (!outcome_.empty()) return fail(ErrorCode::kFailedPrecondition, "delivery '{}' is already settled", m_.id);
      outcome_ = std::move(outcome);
      return ok();
    }
    std::string topic_, subscription_;
    OutgoingMessage m_;
    mutable std::mutex mu_;
    std::string outcome_;
  };

  /// `deliver = false` only records.
  explicit RecordingTransport(bool deliver = true) : deliver_(deliver) {}

  Result<std::unique_ptr<Subscription>> subscribe(const SubscribeParams& config, Handler handler) override {
    std::lock_guard lock(mu_);
    auto& sub = subs_[config.name];
    if (sub.handler) return fail(ErrorCode::kAlreadyExists, "a handler is already attached to '{}'", config.name);
    sub.topic = config.topic;
    sub.handler = std::make_shared<Handler>(std::move(handler));
    return std::unique_ptr<Subscription>(std::make_unique<Attachment>(this, config.name));
  }

  Result<std::vector<DeadLetter>> dead_letters(std::string_view) override { return std::vector<DeadLetter>{}; }

  Status replay_dead_letter(std::string_view subscription, std::string_view id) override {
    return fail(ErrorCode::kNotFound, "RecordingTransport keeps no dead letters ('{}', '{}')", subscription, id);
  }

  /// Every successful publish, in order.
  std::vector<Record> published() const {
    std::lock_guard lock(mu_);
    return records_;
  }
  std::size_t published_count() const {
    std::lock_guard lock(mu_);
    return records_.size();
  }
  /// Every delivery handed to a handler, in order.
  std::vector<std::shared_ptr<RecordedDelivery>> deliveries() const {
    std::lock_guard lock(mu_);
    return deliveries_;
  }
  void clear() {
    std::lock_guard lock(mu_);
    records_.clear();
    deliveries_.clear();
  }

 protected:
  Status do_publish(PublishParams params) override {
    const std::string_view topic = params.topic;
    const OutgoingMessage& message = params.message;
    if (topic.empty() || message.id.empty())
      return fail(ErrorCode::kInvalidArgument, "RecordingTransport: topic and id must not be empty");
    std::vector<std::pair<std::string, std::shared_ptr<Handler>>> targets;
    {
      std::lock_guard lock(mu_);
      records_.push_back({std::string(topic), message});
      if (deliver_)
        for (auto& [name, sub] : subs_)
          if (sub.topic == topic && sub.handler) targets.emplace_back(name, sub.handler);
    }
    for (auto& [name, handler] : targets) {
      auto d = std::make_shared<RecordedDelivery>(std::string(topic), name, message);
      {
        std::lock_guard lock(mu_);
        deliveries_.push_back(d);
      }
      try {
        (*handler)(d);
      } catch (const std::exception& ex) {
        best_effort_nack(*d, ex.what());
      } catch (...) {
        best_effort_nack(*d, "handler threw");
      }
    }
    return ok();
  }

 private:
  struct Sub {
    std::string topic;
    std::shared_ptr<Handler> handler;
  };
  class Attachment final : public Subscription {
   public:
    Attachment(RecordingTransport* owner, std::string name) : owner_(owner), name_(std::move(name)) {}
    ~Attachment() override { close(); }
    const std::string& name() const noexcept override { return name_; }
    // Handlers run on publishing threads; callers close only once those returned.
    void close() override {
      std::lock_guard lock(owner_->mu_);
      owner_->subs_[name_].handler.reset();
    }

   private:
    RecordingTransport* owner_;
    std::string name_;
  };

  const bool deliver_;
  mutable std::mutex mu_;
  std::vector<Record> records_;
  std::vector<std::shared_ptr<RecordedDelivery>> deliveries_;
  std::map<std::string, Sub, std::less<>> subs_;
};

}  // namespace pipeline::inline v0::mocks
