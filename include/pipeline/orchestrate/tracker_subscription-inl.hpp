#pragma once
/// @file
/// Bodies of pipeline/orchestrate/tracker_subscription.hpp (see pipeline/core/config.hpp).

#include "pipeline/core/best_effort_settle.hpp"
#include "pipeline/orchestrate/tracker_subscription.hpp"

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "pipeline/core/message_codec.hpp"

namespace pipeline::inline v0 {

namespace tracker_subscription_detail {

// Settles one delivery after its own tracker transaction (the unbatched path).
inline void record_one(CompletionTracker& tracker, const DeliveryPtr& d, const Message& m) {
  auto r = tracker.record_completion(m);
  if (r)
    best_effort_ack(*d);
  else if (r.error().code == ErrorCode::kInvalidArgument)
    best_effort_reject(*d, r.error().to_string());  // the same message would be refused again
  else
    best_effort_nack(*d, r.error().to_string());
}

// Group commit: handler calls queue their delivery and return; one thread of its own
// records what is queued, up to `max_batch` per transaction, and hands the committed
// deliveries to a second thread that acknowledges them (a round trip each) while the next
// batch is recorded. While a commit waits for its flush the queue fills, so the batch
// grows with the load. The threads share this state (it lives as long as either runs).
struct BatchState {
  BatchState(CompletionTracker& t, std::size_t max) : tracker(t), max_batch(max) {}

  CompletionTracker& tracker;
  const std::size_t max_batch;
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::pair<DeliveryPtr, Message>> queue;
  bool stopping = false;
  std::mutex ack_mu;
  std::condition_variable ack_cv;
  std::vector<DeliveryPtr> committed;  // recorded and committed, not yet acknowledged
  bool ack_stopping = false;           // set by the recorder thread when it ends

  void record(std::vector<std::pair<DeliveryPtr, Message>>& batch) {
    if (batch.size() == 1) {
      record_one(tracker, batch.front().first, batch.front().second);
      return;
    }
    std::vector<RecordOutcome> outcomes;
    auto st = tracker.store().transact([&](Transaction& tx) -> Status {
      outcomes.clear();
      for (const auto& [d, m] : batch) {
        auto r = tracker.record_completion(tx, m);
        if (!r) return fail(r.error());
        outcomes.push_back(std::move(*r));
      }
      return ok();
    });
    if (!st) {
      // One message may be the cause: record each alone, so only it is refused.
      for (const auto& [d, m] : batch) record_one(tracker, d, m);
      return;
    }
    for (const auto& o : outcomes) tracker.after_commit(o);
    {
      std::lock_guard lock(ack_mu);
      for (auto& [d, m] : batch) committed.push_back(std::move(d));
    }
    ack_cv.notify_one();
  }

  // The recorder thread: until stopped with nothing left queued.
  void run() {
    std::vector<std::pair<DeliveryPtr, Message>> batch;
    for (;;) {
      {
        std::unique_lock lock(mu);
        cv.wait(lock, [&] { return !queue.empty() || stopping; });
        if (queue.empty()) break;
        while (!queue.empty() && batch.size() < max_batch) {
          batch.push_back(std::move(queue.front()));
          queue.pop_front();
        }
      }
      record(batch);
      batch.clear();
    }
    {
      std::lock_guard lock(ack_mu);
      ack_stopping = true;
    }
    ack_cv.notify_one();
  }

  // The acknowledging thread: until the recorder ended and everything committed is acked.
  void acknowledge() {
    std::vector<DeliveryPtr> batch;
    for (;;) {
      {
        std::unique_lock lock(ack_mu);
        ack_cv.wait(lock, [&] { return !committed.empty() || ack_stopping; });
        if (committed.empty()) return;
        batch.swap(committed);
      }
      for (auto& d : batch) best_effort_ack(*d);
      batch.clear();
    }
  }
};

// Owned by the handler: starts the two threads; when the transport drops the handler
// (the subscription closed), records and settles what is still queued and ends them.
class BatchRecorder {
 public:
  BatchRecorder(CompletionTracker& tracker, std::size_t max_batch)
      : state_(std::make_shared<BatchState>(tracker, max_batch)),
        acker_([s = state_] { s->acknowledge(); }),
        recorder_([s = state_] { s->run(); }) {}
  ~BatchRecorder() {
    {
      std::lock_guard lock(state_->mu);
      state_->stopping = true;
    }
    state_->cv.notify_one();
    // Dropping the last reference to a delivery may drop the transport's last reference
    // to this handler on one of these very threads: then both finish on their own (they
    // share the state), since waiting there for the other could wait for itself.
    const auto self = std::this_thread::get_id();
    const bool on_own_thread = recorder_.get_id() == self || acker_.get_id() == self;
    for (auto* t : {&recorder_, &acker_}) {
      if (on_own_thread)
        t->detach();
      else
        t->join();
    }
  }
  BatchRecorder(const BatchRecorder&) = delete;
  BatchRecorder& operator=(const BatchRecorder&) = delete;

  void handle(DeliveryPtr d, Message m) {
    {
      std::lock_guard lock(state_->mu);
      state_->queue.emplace_back(std::move(d), std::move(m));
    }
    state_->cv.notify_one();
  }

 private:
  std::shared_ptr<BatchState> state_;
  std::thread acker_;
  std::thread recorder_;
};

}  // namespace tracker_subscription_detail

PIPELINE_INLINE Result<std::unique_ptr<Subscription>> subscribe_tracker(Transport& transport,
                                                                         CompletionTracker& tracker,
                                                                         std::string_view topic,
                                                                         TrackerSubscriptionOptions options) {
  SubscribeParams config{options.subscription.empty() ? tracker.options().name + "-tracker"
                                                         : std::move(options.subscription),
                            std::string(topic), options.settings};
  if (options.max_batch == 0) return fail(ErrorCode::kInvalidArgument, "max_batch must be at least 1");
  if (options.max_batch == 1) return transport.subscribe(config, tracker_handler(tracker));
  auto batches = std::make_shared<tracker_subscription_detail::BatchRecorder>(tracker, options.max_batch);
  return transport.subscribe(config, [batches](DeliveryPtr d) {
    auto m = decode_message(d->payload());
    if (!m) {
      best_effort_reject(*d, m.error().to_string());
      return;
    }
    batches->handle(std::move(d), std::move(*m));
  });
}

PIPELINE_INLINE Handler tracker_handler(CompletionTracker& tracker) {
  return [&tracker](DeliveryPtr d) {
    auto m = decode_message(d->payload());
    if (!m) {
      best_effort_reject(*d, m.error().to_string());
      return;
    }
    tracker_subscription_detail::record_one(tracker, d, *m);
  };
}

}  // namespace pipeline::inline v0
