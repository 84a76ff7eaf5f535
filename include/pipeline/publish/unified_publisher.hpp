#pragma once
/// @file
/// `UnifiedPublisher`: publish completion messages without ever failing or blocking the
/// processor that publishes them.

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <boost/signals2/signal.hpp>
#include <fmt/format.h>

#include "pipeline/core/clock.hpp"
#include "pipeline/core/ids.hpp"
#include "pipeline/core/message.hpp"
#include "pipeline/core/message_codec.hpp"
#include "pipeline/core/metrics_sink.hpp"
#include "pipeline/core/result.hpp"
#include "pipeline/core/topics.hpp"
#include "pipeline/core/transport.hpp"
#include "pipeline/publish/retry_policy.hpp"

namespace pipeline::inline v0 {

/// What `UnifiedPublisher::publish` does when its queue is full.
enum class FullQueuePolicy {
  /// Refuse the new message: `publish` returns `kBackpressure`; the caller decides.
  kReject,
  /// Accept the new message and drop the oldest queued one: counted in
  /// `pipeline_publisher_dropped_total` and reported through the `failed` signal with
  /// code `kBackpressure`. Never silent.
  kDropOldest,
};

/// Construction options of `UnifiedPublisher`.
struct PublisherOptions {
  std::size_t queue_capacity = 10000;  ///< Messages waiting to be sent (the one being sent excluded).
  FullQueuePolicy full_queue_policy = FullQueuePolicy::kReject;
  Labels metric_labels;                ///< Added to every metric of this publisher.
};

/// Publishes unified completion `Message`s to a `Transport` in the background.
///
/// `publish` validates the message (a bad message is the caller's bug and comes back at
/// once as `kInvalidArgument`), gives it its **stable id** (the caller's, or
/// `processor_name/game_date/execution_id`), and queues it; one worker thread encodes
/// it and sends it. A transient failure (`kUnavailable`, `kBackpressure`, …) is retried
/// after the `RetryPolicy`'s delay — a timer on the injected `Clock`, so tests advance a
/// `ManualClock` instead of sleeping; other failures, and running out of retries, end
/// in the `failed` signal and a counter. Messages are sent one at a time in queue order.
///
/// **Durability:** the queue is in memory. Whatever is queued when the process dies is
/// lost. What must survive a crash (a phase trigger) is written to the outbox in the
/// same transaction as the decision and relayed from there, not sent through this class.
///
/// **Shutdown:** call `flush(deadline)` first; it returns whether everything was sent by
/// then. The destructor stops the worker, tries each message still queued once (no
/// retry, no waiting on the clock) and reports the ones that fail as abandoned
/// (counter `pipeline_publisher_abandoned_total`, `failed` signal with `kCancelled`).
///
/// **Signals** (Boost.Signals2): `published(topic, id)`, `retrying(topic, id,
/// failed_attempts, delay, error)`, `failed(topic, id, error)`. Slots run on the worker
/// thread — except `failed` for a drop-oldest loss (the publishing thread) and for
/// abandoned messages (the destroying thread) — never under the publisher's lock.
/// **Metrics** (handles obtained at construction): `pipeline_publisher_published_total`,
/// `_retries_total`, `_failed_total`, `_rejected_total`, `_dropped_total`,
/// `_abandoned_total`.
///
/// **Thread safety:** `publish`, `flush`, `queue_depth` and signal connection may be
/// called from any thread (`settle` too). **Performance:** `publish` never blocks on the transport: it
/// validates, moves the message into the queue under a short lock, and wakes the worker
/// only when it is idle; encoding happens on the worker. **Errors:** `publish` →
/// `kInvalidArgument` (invalid message, topic or id), `kBackpressure` (queue full under
/// `kReject`), `kCancelled` (shutting down). No exception escapes.
///
/// **Example:**
/// @code
///   pipeline::UnifiedPublisher publisher{transport, clock};
///   publisher.failed.connect([](auto& topic, auto& id, auto& e) { log(topic, id, e.to_string()); });
///   auto id = publisher.publish("nba-phase3-analytics-complete", std::move(message));
///   publisher.flush(clock.now() + std::chrono::seconds(10));
/// @endcode
class UnifiedPublisher {
 public:
  boost::signals2::signal<void(const std::string& topic, const std::string& id)> published;
  boost::signals2::signal<void(const std::string& topic, const std::string& id, int failed_attempts, Duration delay,
                               const Error& error)>
      retrying;
  boost::signals2::signal<void(const std::string& topic, const std::string& id, const Error& error)> failed;

  UnifiedPublisher(Transport& transport, Clock& clock, std::shared_ptr<RetryPolicy> policy = nullptr,
                   MetricsSink& metrics = NullMetricsSink::instance(), PublisherOptions options = {})
      : transport_(transport),
        clock_(clock),
        policy_(policy ? std::move(policy) : std::make_shared<ExponentialBackoff>()),
        options_(std::move(options)),
        state_(std::make_shared<State>()) {
    auto counter = [&](std::string_view name, std::string_view help) {
      return metrics.counter(name, help, options_.metric_labels);
    };
    published_total_ = counter("pipeline_publisher_published_total", "Messages the transport accepted");
    retries_total_ = counter("pipeline_publisher_retries_total", "Send attempts scheduled after a transient failure");
    failed_total_ = counter("pipeline_publisher_failed_total", "Messages given up on (permanent error or retries exhausted)");
    rejected_total_ = counter("pipeline_publisher_rejected_total", "Publish calls refused because the queue was full");
    dropped_total_ = counter("pipeline_publisher_dropped_total", "Queued messages dropped to make room (drop-oldest)");
    abandoned_total_ = counter("pipeline_publisher_abandoned_total", "Messages still unsent when the publisher was destroyed");
    worker_ = std::thread([this] { run(); });
  }

  UnifiedPublisher(const UnifiedPublisher&) = delete;
  UnifiedPublisher& operator=(const UnifiedPublisher&) = delete;

  ~UnifiedPublisher() {
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
      auto st = send(item);
      if (st) continue;
      abandoned_total_->add();
      emit_failed(item, Error{ErrorCode::kCancelled,
                              fmt::format("publisher destroyed before '{}' could be sent: {}", item.id,
                                          st.error().message),
                              {{"topic", item.topic}}});
    }
  }

  /// Validates and queues `message` for `topic`; returns the stable id it will carry.
  /// `id` empty: `processor_name/game_date/execution_id`.
  Result<std::string> publish(std::string_view topic, Message message, std::string id = {}) {
    PIPELINE_TRY(TopicNaming::validate_topic_name(topic));
    PIPELINE_TRY(validate_message(message));
    if (id.empty()) id = stable_id({message.processor_name, message.game_date.to_string(), message.execution_id});
    if (id.size() > 256) return fail(ErrorCode::kInvalidArgument, "stable id '{}…' is longer than 256 characters", id.substr(0, 64));
    std::optional<Item> dropped;
    std::string result = id;
    {
      std::unique_lock lock(state_->mu);
      if (state_->stopping) return fail(ErrorCode::kCancelled, "the publisher is shutting down");
      if (state_->queue.size() >= options_.queue_capacity) {
        if (options_.full_queue_policy == FullQueuePolicy::kReject || state_->queue.empty()) {
          lock.unlock();
          rejected_total_->add();
          return fail(Error{ErrorCode::kBackpressure,
                            fmt::format("the publish queue is full ({} messages); '{}' was not queued",
                                        options_.queue_capacity, result),
                            {{"topic", std::string(topic)}}});
        }
        dropped = std::move(state_->queue.front());
        state_->queue.pop_front();
      }
      state_->queue.emplace_back(topic, std::move(id), std::move(message));  // built in place: one move
      if (state_->worker_idle) state_->cv.notify_one();
    }
    if (dropped) {
      dropped_total_->add();
      emit_failed(*dropped, Error{ErrorCode::kBackpressure,
                                  fmt::format("'{}' was dropped from the full publish queue to make room", dropped->id),
                                  {{"topic", dropped->topic}}});
    }
    return result;
  }

  /// Waits until every queued message is sent or given up, or until the clock reaches
  /// `deadline`. Returns true when nothing is left. With a `ManualClock`, time must be
  /// advanced by another thread for retries (and the deadline) to happen.
  bool flush(TimePoint deadline) {
    std::weak_ptr<State> weak = state_;
    const TimerId timer = clock_.schedule_at(deadline, [weak] {
      if (auto state = weak.lock()) {
        std::lock_guard lock(state->mu);
        state->cv.notify_all();
      }
    });
    std::unique_lock lock(state_->mu);
    state_->cv.wait(lock, [&] { return state_->idle() || clock_.now() >= deadline; });
    const bool done = state_->idle();
    lock.unlock();
    clock_.cancel(timer);
    return done;
  }

  /// Waits until the worker cannot progress without time passing: the queue is empty, or
  /// its head waits for a retry timer. Tests call it between `ManualClock` steps so the
  /// outcome depends on simulated time only, never on thread speed.
  void settle() {
    std::unique_lock lock(state_->mu);
    state_->cv.wait(lock, [&] {
      auto& s = *state_;
      return s.stopping || (s.worker_idle && s.queue.empty()) || (s.waiting_retry && !s.retry_due);
    });
  }

  /// Messages queued or being sent.
  [[nodiscard]] std::size_t queue_depth() const {
    std::lock_guard lock(state_->mu);
    return state_->queue.size() + (state_->current ? 1 : 0);
  }

 private:
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

  Status send(const Item& item) {
    OutgoingMessage out{item.id, encode_message(item.message), {}};
    if (!item.message.traceparent.empty())
      out.attributes.emplace(std::string(attributes::kTraceparent), item.message.traceparent);
    return transport_.publish(item.topic, std::move(out));
  }

  void emit_failed(const Item& item, const Error& error) {
    try {
      failed(item.topic, item.id, error);
    } catch (...) {  // a throwing slot must not take the worker down
    }
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
      auto st = send(item);
      if (st) {
        published_total_->add();
        try {
          published(item.topic, item.id);
        } catch (...) {
        }
        lock.lock();
        s.current.reset();
        continue;
      }
      std::optional<Duration> delay;
      if (is_transient(st.error().code)) delay = policy_->next_delay(item.attempts, now - item.first_attempt);
      if (!delay) {
        failed_total_->add();
        emit_failed(item, st.error().with("attempts", std::to_string(item.attempts)));
        lock.lock();
        s.current.reset();
        continue;
      }
      retries_total_->add();
      try {
        retrying(item.topic, item.id, item.attempts, *delay, st.error());
      } catch (...) {
      }
      std::weak_ptr<State> weak = state_;
      const TimerId timer = clock_.schedule_after(*delay, [weak] {
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

  Transport& transport_;
  Clock& clock_;
  std::shared_ptr<RetryPolicy> policy_;
  const PublisherOptions options_;
  std::shared_ptr<State> state_;
  std::shared_ptr<Counter> published_total_, retries_total_, failed_total_, rejected_total_, dropped_total_,
      abandoned_total_;
  std::thread worker_;
};

}  // namespace pipeline::inline v0
