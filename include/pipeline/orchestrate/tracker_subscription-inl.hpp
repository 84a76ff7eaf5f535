#pragma once
/// @file
/// Bodies of pipeline/orchestrate/tracker_subscription.hpp (see pipeline/core/config.hpp).

#include "pipeline/orchestrate/tracker_subscription.hpp"

#include <condition_variable>
#include <deque>
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
    (void)d->ack();
  else if (r.error().code == ErrorCode::kInvalidArgument)
    (void)d->reject(r.error().to_string());  // the same message would be refused again
  else
    (void)d->nack(r.error().to_string());
}

// Group commit: handler calls queue their delivery and return; one thread of its own
// records what is queued, up to `max_batch` per transaction, and hands the committed
// deliveries to a second thread that acknowledges them (a round trip each) while the next
// batch is recorded. While a commit waits for its flush the queue fills, so the batch
// grows with the load.
class BatchRecorder {
 public:
  BatchRecorder(CompletionTracker& tracker, std::size_t max_batch)
      : tracker_(tracker), max_batch_(max_batch), acker_([this] { acknowledge(); }), thread_([this] { run(); }) {}
  // Records and settles what is still queued, then ends the threads. The transport
  // destroys the handler (and this) once the subscription is closed.
  ~BatchRecorder() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_one();
    thread_.join();
    {
      std::lock_guard lock(ack_mu_);
      ack_stopping_ = true;
    }
    ack_cv_.notify_one();
    acker_.join();
  }
  BatchRecorder(const BatchRecorder&) = delete;
  BatchRecorder& operator=(const BatchRecorder&) = delete;

  void handle(DeliveryPtr d, Message m) {
    {
      std::lock_guard lock(mu_);
      queue_.emplace_back(std::move(d), std::move(m));
    }
    cv_.notify_one();
  }

 private:
  void record(std::vector<std::pair<DeliveryPtr, Message>>& batch) {
    if (batch.size() == 1) {
      record_one(tracker_, batch.front().first, batch.front().second);
      return;
    }
    std::vector<RecordOutcome> outcomes;
    auto st = tracker_.store().transact([&](Transaction& tx) -> Status {
      outcomes.clear();
      for (const auto& [d, m] : batch) {
        auto r = tracker_.record_completion(tx, m);
        if (!r) return fail(r.error());
        outcomes.push_back(std::move(*r));
      }
      return ok();
    });
    if (!st) {
      // One message may be the cause: record each alone, so only it is refused.
      for (const auto& [d, m] : batch) record_one(tracker_, d, m);
      return;
    }
    for (const auto& o : outcomes) tracker_.after_commit(o);
    {
      std::lock_guard lock(ack_mu_);
      for (auto& [d, m] : batch) committed_.push_back(std::move(d));
    }
    ack_cv_.notify_one();
  }

  void acknowledge() {
    std::vector<DeliveryPtr> batch;
    for (;;) {
      {
        std::unique_lock lock(ack_mu_);
        ack_cv_.wait(lock, [&] { return !committed_.empty() || ack_stopping_; });
        if (committed_.empty()) return;  // stopping, and everything committed is acknowledged
        batch.swap(committed_);
      }
      for (auto& d : batch) (void)d->ack();
      batch.clear();
    }
  }

  void run() {
    std::vector<std::pair<DeliveryPtr, Message>> batch;
    for (;;) {
      batch.clear();
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [&] { return !queue_.empty() || stopping_; });
        if (queue_.empty()) return;  // stopping, and nothing left to record
        while (!queue_.empty() && batch.size() < max_batch_) {
          batch.push_back(std::move(queue_.front()));
          queue_.pop_front();
        }
      }
      record(batch);
    }
  }

  CompletionTracker& tracker_;
  const std::size_t max_batch_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::pair<DeliveryPtr, Message>> queue_;
  bool stopping_ = false;
  std::mutex ack_mu_;
  std::condition_variable ack_cv_;
  std::vector<DeliveryPtr> committed_;  // recorded and committed, not yet acknowledged
  bool ack_stopping_ = false;
  std::thread acker_;
  std::thread thread_;  // last: starts once the members above exist
};

}  // namespace tracker_subscription_detail

PIPELINE_INLINE Result<std::unique_ptr<Subscription>> subscribe_tracker(Transport& transport,
                                                                         CompletionTracker& tracker,
                                                                         std::string_view topic,
                                                                         TrackerSubscriptionOptions options) {
  SubscriptionConfig config{options.subscription.empty() ? tracker.config().name + "-tracker"
                                                         : std::move(options.subscription),
                            std::string(topic), options.settings};
  if (options.max_batch == 0) return fail(ErrorCode::kInvalidArgument, "max_batch must be at least 1");
  if (options.max_batch == 1) return transport.subscribe(config, tracker_handler(tracker));
  auto batches = std::make_shared<tracker_subscription_detail::BatchRecorder>(tracker, options.max_batch);
  return transport.subscribe(config, [batches](DeliveryPtr d) {
    auto m = decode_message(d->payload());
    if (!m) {
      (void)d->reject(m.error().to_string());
      return;
    }
    batches->handle(std::move(d), std::move(*m));
  });
}

PIPELINE_INLINE Handler tracker_handler(CompletionTracker& tracker) {
  return [&tracker](DeliveryPtr d) {
    auto m = decode_message(d->payload());
    if (!m) {
      (void)d->reject(m.error().to_string());
      return;
    }
    tracker_subscription_detail::record_one(tracker, d, *m);
  };
}

}  // namespace pipeline::inline v0
