#pragma once
// Test doubles for the outbox, relay and consumer tests: a transport that records what
// is published and in which batches (and fails on demand), and a plain Delivery that
// records how it settled.

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "pipeline/core/transport.hpp"

namespace pipeline::outbox_test {

struct Published {
  std::string topic;
  OutgoingMessage message;
};

class RecordingTransport final : public Transport {
 public:
  Status do_publish(PublishParams params) override {
    {
      std::lock_guard lock(mu_);
      if (pass_first_ > 0) {
        --pass_first_;
      } else if (fail_next_ > 0) {
        --fail_next_;
        return fail(ErrorCode::kUnavailable, "transport down (test)");
      }
      published_.push_back(Published{std::string(params.topic), std::move(params.message)});
    }
    cv_.notify_all();
    return ok();
  }
  // Records the batch's size, then publishes it as the port's default does.
  PublishBatchResult do_publish_batch(PublishBatchParams params) override {
    {
      std::lock_guard lock(mu_);
      batches_.push_back(params.messages.size());
    }
    return Transport::do_publish_batch(std::move(params));
  }
  Result<std::unique_ptr<Subscription>> subscribe(const SubscribeParams&, Handler) override {
    return fail(ErrorCode::kFailedPrecondition, "RecordingTransport does not deliver");
  }
  Result<std::vector<DeadLetter>> dead_letters(std::string_view) override { return std::vector<DeadLetter>{}; }
  Status replay_dead_letter(std::string_view, std::string_view) override {
    return fail(ErrorCode::kNotFound, "no dead letters");
  }

  // The next `n` publishes fail, after `after` that succeed.
  void fail_next(int n, int after = 0) {
    std::lock_guard lock(mu_);
    fail_next_ = n;
    pass_first_ = after;
  }
  // The sizes of the publish_batch calls, in order.
  std::vector<std::size_t> batches() const {
    std::lock_guard lock(mu_);
    return batches_;
  }
  std::vector<Published> published() const {
    std::lock_guard lock(mu_);
    return published_;
  }
  std::vector<std::string> ids() const {
    std::lock_guard lock(mu_);
    std::vector<std::string> out;
    for (const auto& p : published_) out.push_back(p.message.id);
    return out;
  }
  // Waits (bounded, so a bug fails instead of hanging) until `n` messages were published.
  bool wait_for_count(std::size_t n) const {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(20), [&] { return published_.size() >= n; });
  }

 private:
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::vector<Published> published_;
  std::vector<std::size_t> batches_;
  int fail_next_ = 0;
  int pass_first_ = 0;
};

// A Delivery that records ack/nack instead of talking to a transport.
class RecordedDelivery final : public Delivery {
 public:
  RecordedDelivery(std::string id, std::string payload, std::string topic = "topic-a")
      : id_(std::move(id)), topic_(std::move(topic)), payload_(std::move(payload)) {}
  const std::string& id() const noexcept override { return id_; }
  const std::string& topic() const noexcept override { return topic_; }
  const std::string& subscription() const noexcept override { return subscription_; }
  const std::string& payload() const noexcept override { return payload_; }
  const Attributes& attributes() const noexcept override { return attributes_; }
  int attempt() const noexcept override { return 1; }
  TimePoint deadline() const override { return TimePoint::max(); }
  Status ack() override {
    std::lock_guard lock(mu_);
    ++acks_;
    return ok();
  }
  Status nack(std::string_view reason) override {
    std::lock_guard lock(mu_);
    ++nacks_;
    last_nack_ = std::string(reason);
    return ok();
  }
  Status reject(std::string_view reason) override {
    std::lock_guard lock(mu_);
    ++rejects_;
    last_nack_ = std::string(reason);
    return ok();
  }
  Status extend_deadline(Duration) override { return ok(); }

  int acks() const {
    std::lock_guard lock(mu_);
    return acks_;
  }
  int nacks() const {
    std::lock_guard lock(mu_);
    return nacks_;
  }
  int rejects() const {
    std::lock_guard lock(mu_);
    return rejects_;
  }
  /// The reason of the last nack or reject.
  std::string last_nack() const {
    std::lock_guard lock(mu_);
    return last_nack_;
  }

 private:
  std::string id_, topic_, subscription_ = "sub-a", payload_;
  Attributes attributes_;
  mutable std::mutex mu_;
  int acks_ = 0, nacks_ = 0, rejects_ = 0;
  std::string last_nack_;
};

}  // namespace pipeline::outbox_test
