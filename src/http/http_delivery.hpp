#pragma once
// Internal to pipeline::http: a message that arrived over HTTP (push, CloudEvent) as a
// transport `Delivery`, and the answer from how the handler settled it.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <exception>
#include <memory>
#include <mutex>
#include <string>

#include <nlohmann/json.hpp>

#include "pipeline/core/best_effort_settle.hpp"
#include "pipeline/core/transport.hpp"
#include "pipeline/http/http_message.hpp"

namespace pipeline::inline v0::http::detail {

// A pushed message as a Delivery. Settled once; the endpoint reads how.
class HttpDelivery final : public Delivery {
 public:
  enum State : int { kOpen, kAcked, kNacked, kRejected };

  HttpDelivery(std::string id, std::string topic, std::string subscription, std::string payload, Attributes attributes,
               int attempt)
      : id_(std::move(id)),
        topic_(std::move(topic)),
        subscription_(std::move(subscription)),
        payload_(std::move(payload)),
        attributes_(std::move(attributes)),
        attempt_(attempt),
        deadline_(std::chrono::system_clock::now() + std::chrono::seconds(600)) {}

  const std::string& id() const noexcept override { return id_; }
  const std::string& topic() const noexcept override { return topic_; }
  const std::string& subscription() const noexcept override { return subscription_; }
  const std::string& payload() const noexcept override { return payload_; }
  const Attributes& attributes() const noexcept override { return attributes_; }
  int attempt() const noexcept override { return attempt_; }
  TimePoint deadline() const override { return deadline_; }
  Status ack() override { return settle(kAcked, {}); }
  Status nack(std::string_view reason) override { return settle(kNacked, reason); }
  Status reject(std::string_view reason) override { return settle(kRejected, reason); }
  Status extend_deadline(Duration) override {
    if (closed_.load()) return fail(ErrorCode::kFailedPrecondition, "the push request of '{}' was answered already", id_);
    return ok();
  }

  // After the handler: no settle is accepted any more; returns the state and reason.
  State close(std::string& reason) {
    closed_.store(true);
    int expected = kOpen;
    // Unsettled: count it as a nack so nothing can settle it later.
    state_.compare_exchange_strong(expected, kNacked);
    std::lock_guard lock(reason_mu_);
    reason = reason_;
    return static_cast<State>(state_.load());
  }

 private:
  Status settle(State s, std::string_view reason) {
    if (closed_.load())
      return fail(ErrorCode::kFailedPrecondition,
                  "the push request of '{}' was answered already (settle it before the handler returns)", id_);
    int expected = kOpen;
    if (!state_.compare_exchange_strong(expected, s))
      return fail(ErrorCode::kFailedPrecondition, "delivery '{}' is settled already", id_);
    std::lock_guard lock(reason_mu_);
    reason_ = std::string(reason);
    return ok();
  }

  std::string id_, topic_, subscription_, payload_;
  Attributes attributes_;
  int attempt_;
  TimePoint deadline_;
  std::atomic<int> state_{kOpen};
  std::atomic<bool> closed_{false};
  std::mutex reason_mu_;
  std::string reason_;
};


// Runs the handler on `delivery` and answers: ack 200, reject 400, nack or unsettled 503.
inline HttpResponse deliver(const Handler& handler, const std::shared_ptr<HttpDelivery>& delivery) {
  try {
    handler(delivery);
  } catch (const std::exception& e) {
    best_effort_nack(*delivery, e.what());
  } catch (...) {
    best_effort_nack(*delivery, "the handler threw");
  }
  std::string reason;
  switch (delivery->close(reason)) {
    case HttpDelivery::kAcked:
      return HttpResponse::json(200, {{"status", "acked"}, {"id", delivery->id()}});
    case HttpDelivery::kRejected:
      return HttpResponse::error(400, "rejected", reason.empty() ? "the handler rejected the message" : reason);
    default: {
      auto r = HttpResponse::error(503, "retry", reason.empty() ? "the handler did not settle the message" : reason);
      r.headers.emplace_back("Retry-After", "10");
      return r;
    }
  }
}

}  // namespace pipeline::inline v0::http::detail
