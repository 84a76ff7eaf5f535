#pragma once
// Bodies of pipeline/publish/send_step.hpp (see pipeline/core/config.hpp).

#include <algorithm>
#include <atomic>
#include <utility>

#include <boost/signals2/signal.hpp>

#include "pipeline/publish/connection-inl.hpp"
#include "pipeline/publish/send_step.hpp"

namespace pipeline::inline v0 {

struct SendStep::Hooks {
  boost::signals2::signal<void(const std::string&, const std::string&)> published;
  boost::signals2::signal<void(const std::string&, const std::string&, int, Duration, const Error&)> retrying;
  boost::signals2::signal<void(const std::string&, const std::string&, const Error&)> failed;
  // Emitting an empty signal still takes its lock: skip it until someone connected.
  std::atomic<bool> any_published{false}, any_retrying{false}, any_failed{false};

  template <class Signal, class... Args>
  static void emit(const std::atomic<bool>& any, Signal& signal, std::string_view topic, Args&&... args) {
    if (!any.load(std::memory_order_acquire)) return;
    try {
      signal(std::string(topic), std::forward<Args>(args)...);
    } catch (...) {  // a throwing callback must not take the sender down
    }
  }
  template <class Signal, class Callback>
  static Connection connect(std::atomic<bool>& any, Signal& signal, Callback&& callback) {
    auto impl = std::make_shared<internal::ConnectionImpl>();
    impl->connection = signal.connect(std::forward<Callback>(callback));
    any.store(true, std::memory_order_release);
    return Connection(std::move(impl));
  }
};

PIPELINE_INLINE Result<std::shared_ptr<SendStep>> SendStep::create(Transport& transport, SendStepOptions options) {
  PIPELINE_TRY(check_metric_labels(options.metric_labels));
  if (!options.retry_policy) {
    auto policy = ExponentialBackoff::create();
    if (!policy) return fail(policy.error());
    options.retry_policy = std::move(*policy);
  }
  return std::shared_ptr<SendStep>(new SendStep(transport, std::move(options)));
}

PIPELINE_INLINE SendStep::SendStep(Transport& transport, SendStepOptions options)
    : transport_(transport), policy_(std::move(options.retry_policy)), hooks_(std::make_unique<Hooks>()) {
  MetricsSink& metrics = metrics_or_null(options.metrics);
  auto counter = [&](std::string_view name, std::string_view help) {
    return metrics.counter(name, help, options.metric_labels);
  };
  published_total_ = counter("pipeline_publisher_published_total", "Messages the transport accepted");
  retries_total_ = counter("pipeline_publisher_retries_total", "Send attempts scheduled after a transient failure");
  failed_total_ = counter("pipeline_publisher_failed_total", "Messages given up on (permanent error or retries exhausted)");
}

PIPELINE_INLINE SendStep::~SendStep() = default;

PIPELINE_INLINE SendAttempt SendStep::send(std::string_view topic, OutgoingMessage message, int attempt,
                                           Duration elapsed) {
  std::string id = message.id;  // the message moves into the transport; hooks and errors name it
  auto status = transport_.publish(topic, std::move(message));
  return settle(topic, id, std::move(status), attempt, elapsed);
}

PIPELINE_INLINE BatchSendAttempt SendStep::send_batch(std::string_view topic, std::vector<OutgoingMessage> messages,
                                                      int attempt, Duration elapsed) {
  std::vector<std::string> ids;
  ids.reserve(messages.size());
  for (const auto& m : messages) ids.push_back(m.id);
  auto result = transport_.publish_batch(topic, std::move(messages));
  BatchSendAttempt out;
  for (; out.sent < result.published && out.sent < ids.size(); ++out.sent)
    settle(topic, ids[out.sent], ok(), attempt, elapsed);
  if (!result.status && out.sent < ids.size())
    out.refused = settle(topic, ids[out.sent], std::move(result.status), attempt, elapsed);
  return out;
}

PIPELINE_INLINE SendAttempt SendStep::settle(std::string_view topic, const std::string& id, Status status,
                                             int attempt, Duration elapsed) {
  SendAttempt out{std::move(status), std::nullopt};
  if (out.status) {
    published_total_->add();
    Hooks::emit(hooks_->any_published, hooks_->published, topic, id);
    return out;
  }
  const Error& error = out.status.error();
  if (is_transient(error.code)) out.retry_after = policy_->next_delay(std::max(1, attempt), elapsed);
  if (out.retry_after) {
    retries_total_->add();
    Hooks::emit(hooks_->any_retrying, hooks_->retrying, topic, id, std::max(1, attempt),
                *out.retry_after, error);
    return out;
  }
  failed_total_->add();
  if (hooks_->any_failed.load(std::memory_order_acquire))
    Hooks::emit(hooks_->any_failed, hooks_->failed, topic, id, error.with("attempts", std::to_string(std::max(1, attempt))));
  return out;
}

PIPELINE_INLINE void SendStep::report_failed(const std::string& topic, const std::string& id, const Error& error) {
  Hooks::emit(hooks_->any_failed, hooks_->failed, topic, id, error);
}

PIPELINE_INLINE Connection SendStep::on_published(PublishedCallback callback) {
  return Hooks::connect(hooks_->any_published, hooks_->published, std::move(callback));
}

PIPELINE_INLINE Connection SendStep::on_retry(RetryCallback callback) {
  return Hooks::connect(hooks_->any_retrying, hooks_->retrying, std::move(callback));
}

PIPELINE_INLINE Connection SendStep::on_failed(FailedCallback callback) {
  return Hooks::connect(hooks_->any_failed, hooks_->failed, std::move(callback));
}

}  // namespace pipeline::inline v0
