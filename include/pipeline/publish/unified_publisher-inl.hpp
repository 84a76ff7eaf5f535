#pragma once
// Bodies of pipeline/publish/unified_publisher.hpp (see pipeline/core/config.hpp).

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

#include <fmt/format.h>

#include "pipeline/core/ids.hpp"
#include "pipeline/core/message_codec.hpp"
#include "pipeline/core/topics.hpp"
#include "pipeline/publish/send_step-inl.hpp"
#include "pipeline/publish/unified_publisher.hpp"

namespace pipeline::inline v0 {

struct UnifiedPublisher::Impl {
  struct Item {
    Item(std::string_view t, std::string i, Message&& m) : topic(t), id(std::move(i)), message(std::move(m)) {}
    std::string topic;
    std::string id;
    Message message;
    int attempts = 0;
    TimePoint first_attempt{};
  };

  // Shared with clock timers, which may outlive a flush or the publisher itself.
  struct State {
    std::mutex mu;
    std::condition_variable cv;
    std::deque<Item> queue;
    std::optional<Item> current;
    bool stopping = false;
    bool worker_idle = false;
    bool retry_due = false;
    bool waiting_retry = false;
    TimerId retry_timer = 0;
    bool idle() const { return queue.empty() && !current; }
  };

  Impl(SendStep& step, Clock& clock, UnifiedPublisherOptions options)
      : step_(step), clock_(clock), options_(std::move(options)), state_(std::make_shared<State>()) {
    MetricsSink& metrics = metrics_or_null(options_.metrics);
    auto counter = [&](std::string_view name, std::string_view help) {
      return metrics.counter(name, help, options_.metric_labels);
    };
    rejected_total_ = counter("pipeline_publisher_rejected_total", "Publish calls refused because the queue was full");
    dropped_total_ = counter("pipeline_publisher_dropped_total", "Queued messages dropped to make room (drop-oldest)");
    abandoned_total_ = counter("pipeline_publisher_abandoned_total", "Messages still unsent when the publisher was destroyed");
    worker_ = std::thread([this] { run(); });
  }

  ~Impl() {
    {
      std::lock_guard lock(state_->mu);
      state_->stopping = true;
    }
    state_->cv.notify_all();
    worker_.join();
    std::deque<Item> left;
    {
      std::lock_guard lock(state_->mu);
      if (state_->current) left.push_back(std::move(*state_->current));
      state_->current.reset();
      for (auto& item : state_->queue) left.push_back(std::move(item));
      state_->queue.clear();
      if (state_->retry_timer != 0) clock_.cancel(state_->retry_timer);
    }
    for (auto& item : left) {
      // One last try, no retry: a failure is reported as abandoned below, not as failed.
      auto st = step_.transport().publish(item.topic, outgoing(item));
      if (st) continue;
      abandoned_total_->add();
      step_.report_failed(item.topic, item.id,
                          Error{ErrorCode::kCancelled,
                                fmt::format("publisher destroyed before '{}' could be sent: {}", item.id,
                                            st.error().message),
                                {{"topic", item.topic}}});
    }
  }

  static OutgoingMessage outgoing(const Item& item) {
    OutgoingMessage out{item.id, encode_message(item.message), {}};
    if (!item.message.traceparent.empty())
      out.attributes.emplace(std::string(attributes::kTraceparent), item.message.traceparent);
    return out;
  }

  void run() {
    auto& s = *state_;
    std::unique_lock lock(s.mu);
    for (;;) {
      if (!s.current) {
        s.worker_idle = true;
        s.cv.notify_all();  // flush waiters: maybe idle now
        s.cv.wait(lock, [&] { return s.stopping || !s.queue.empty(); });
        s.worker_idle = false;
        if (s.stopping) return;
        s.current = std::move(s.queue.front());
        s.queue.pop_front();
      } else {
        s.waiting_retry = true;
        s.cv.notify_all();  // settle() waiters: waiting on the clock now
        s.cv.wait(lock, [&] { return s.stopping || s.retry_due; });
        s.waiting_retry = false;
        if (s.stopping) return;
        s.retry_due = false;
        s.retry_timer = 0;
      }
      Item& item = *s.current;  // only this thread touches `current` until it is reset
      lock.unlock();
      const TimePoint now = clock_.now();
      if (item.attempts++ == 0) item.first_attempt = now;
      auto attempt = step_.send(item.topic, outgoing(item), item.attempts, now - item.first_attempt);
      if (!attempt.retry_after) {  // sent, or given up on (the step counted and reported it)
        lock.lock();
        s.current.reset();
        continue;
      }
      std::weak_ptr<State> weak = state_;
      const TimerId timer = clock_.schedule_after(*attempt.retry_after, [weak] {
        if (auto state = weak.lock()) {
          std::lock_guard l(state->mu);
          state->retry_due = true;
          state->cv.notify_all();
        }
      });
      lock.lock();
      s.retry_timer = timer;
    }
  }

  SendStep& step_;
  Clock& clock_;
  const UnifiedPublisherOptions options_;
  std::shared_ptr<State> state_;
  std::shared_ptr<Counter> rejected_total_, dropped_total_, abandoned_total_;
  std::thread worker_;
};

PIPELINE_INLINE Result<std::unique_ptr<UnifiedPublisher>> UnifiedPublisher::create(Clock& clock, Transport& transport,
                                                                                   UnifiedPublisherOptions options) {
  auto step = SendStep::create(
      transport, SendStepOptions{std::move(options.retry_policy), options.metrics, options.metric_labels});
  if (!step) return fail(step.error());
  options.retry_policy = nullptr;  // now the step's
  return create(clock, std::move(*step), std::move(options));
}

PIPELINE_INLINE Result<std::unique_ptr<UnifiedPublisher>> UnifiedPublisher::create(Clock& clock,
                                                                                   std::shared_ptr<SendStep> step,
                                                                                   UnifiedPublisherOptions options) {
  if (!step) return fail(ErrorCode::kInvalidArgument, "UnifiedPublisher needs a send step");
  PIPELINE_TRY(check_metric_labels(options.metric_labels));
  if (options.queue_capacity == 0) {
    return fail(ErrorCode::kInvalidArgument, "UnifiedPublisher needs a queue capacity of at least 1");
  }
  if (options.retry_policy) {
    return fail(ErrorCode::kInvalidArgument, "a publisher given a send step uses the step's retry policy; leave "
                                             "UnifiedPublisherOptions::retry_policy null");
  }
  return std::unique_ptr<UnifiedPublisher>(new UnifiedPublisher(clock, std::move(step), std::move(options)));
}

PIPELINE_INLINE UnifiedPublisher::UnifiedPublisher(Clock& clock, std::shared_ptr<SendStep> step,
                                                   UnifiedPublisherOptions options)
    : step_(std::move(step)), impl_(std::make_unique<Impl>(*step_, clock, std::move(options))) {}

PIPELINE_INLINE UnifiedPublisher::~UnifiedPublisher() = default;

PIPELINE_INLINE Result<std::string> UnifiedPublisher::publish(std::string_view topic, Message message,
                                                              std::string id) {
  PIPELINE_TRY(TopicNaming::validate_topic_name(topic));
  PIPELINE_TRY(validate_message(message));
  if (id.empty()) id = stable_id({message.processor_name, message.partition_date.to_string(), message.execution_id});
  if (id.size() > 256)
    return fail(ErrorCode::kInvalidArgument, "stable id '{}…' is longer than 256 characters", id.substr(0, 64));
  auto& impl = *impl_;
  auto& state = *impl.state_;
  std::optional<Impl::Item> dropped;
  std::string result = id;
  {
    std::unique_lock lock(state.mu);
    if (state.stopping) return fail(ErrorCode::kCancelled, "the publisher is shutting down");
    if (state.queue.size() >= impl.options_.queue_capacity) {
      if (impl.options_.full_queue_policy == FullQueuePolicy::kReject || state.queue.empty()) {
        lock.unlock();
        impl.rejected_total_->add();
        return fail(Error{ErrorCode::kBackpressure,
                          fmt::format("the publish queue is full ({} messages); '{}' was not queued",
                                      impl.options_.queue_capacity, result),
                          {{"topic", std::string(topic)}}});
      }
      dropped = std::move(state.queue.front());
      state.queue.pop_front();
    }
    state.queue.emplace_back(topic, std::move(id), std::move(message));  // built in place: one move
    if (state.worker_idle) state.cv.notify_one();
  }
  if (dropped) {
    impl.dropped_total_->add();
    step_->report_failed(dropped->topic, dropped->id,
                         Error{ErrorCode::kBackpressure,
                               fmt::format("'{}' was dropped from the full publish queue to make room", dropped->id),
                               {{"topic", dropped->topic}}});
  }
  return result;
}

PIPELINE_INLINE bool UnifiedPublisher::flush(TimePoint deadline) {
  auto& state = impl_->state_;
  auto& clock = impl_->clock_;
  std::weak_ptr<Impl::State> weak = state;
  const TimerId timer = clock.schedule_at(deadline, [weak] {
    if (auto s = weak.lock()) {
      std::lock_guard lock(s->mu);
      s->cv.notify_all();
    }
  });
  std::unique_lock lock(state->mu);
  state->cv.wait(lock, [&] { return state->idle() || clock.now() >= deadline; });
  const bool done = state->idle();
  lock.unlock();
  clock.cancel(timer);
  return done;
}

PIPELINE_INLINE void UnifiedPublisher::settle() {
  auto& s = *impl_->state_;
  std::unique_lock lock(s.mu);
  s.cv.wait(lock, [&] {
    return s.stopping || (s.worker_idle && s.queue.empty()) || (s.waiting_retry && !s.retry_due);
  });
}

PIPELINE_INLINE std::size_t UnifiedPublisher::queue_depth() const {
  auto& s = *impl_->state_;
  std::lock_guard lock(s.mu);
  return s.queue.size() + (s.current ? 1 : 0);
}

}  // namespace pipeline::inline v0
