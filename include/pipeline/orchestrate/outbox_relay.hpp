#pragma once
/// @file
/// `OutboxRelay`: publishes committed outbox entries through the `Transport`.

#include <algorithm>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "pipeline/core/clock.hpp"
#include "pipeline/core/ids.hpp"
#include "pipeline/core/result.hpp"
#include "pipeline/core/state_store.hpp"
#include "pipeline/core/transport.hpp"
#include "pipeline/publish/retry_policy.hpp"

namespace pipeline::inline v0 {

/// Options of an `OutboxRelay`.
struct OutboxRelayOptions {
  /// Names this relay in the outbox leases; empty = a fresh execution id.
  std::string owner{};
  /// Entries claimed (and published) per round trip to the store.
  std::size_t batch_size = 100;
  /// How long a claimed entry stays reserved for this relay. An entry whose publish
  /// failed, or whose relay died, is published again once its lease ends, so this is
  /// also the retry delay of a failed entry.
  Duration lease = std::chrono::seconds(30);
  /// Background mode: how often the outbox is polled when nobody calls `notify()`.
  Duration poll_interval = std::chrono::seconds(1);
  /// Background mode: the delay of the next round after failed rounds. Null = an
  /// `ExponentialBackoff` from `poll_interval` up to `max_backoff`, never giving up
  /// (when a policy gives up, the relay goes back to polling every `poll_interval`).
  std::shared_ptr<RetryPolicy> retry_policy{};
  /// The cap of the default retry policy.
  Duration max_backoff = std::chrono::seconds(60);
};

/// Moves outbox entries from the `StateStore` to the `Transport`: claims a batch under a
/// lease, publishes each entry with its stable id, then marks the published ones sent.
///
/// Delivery is at least once with the same id: a relay that dies (or fails to mark)
/// after publishing leaves the entry leased; when the lease ends another relay (or this
/// one) publishes it again with the same id, and consumers deduplicate on it
/// (`IdempotentConsumer`). Nothing is lost: an entry leaves the outbox only after its
/// publish succeeded. Several relays may run against one store (in one process or
/// several); leases keep them from publishing the same entry at the same time.
///
/// Two ways to drive it: call `relay_once()` / `drain()` yourself (tests, the inline
/// path right after a commit), or `start()` a background worker thread that relays when
/// `notify()` is called and otherwise every `poll_interval` on the injected clock.
///
/// **Thread safety:** every member may be called from any thread; concurrent
/// `relay_once` calls behave like separate relays. `stop()` must not be called from the
/// transport's publish.
/// **Performance:** per batch one claim and one complete transaction plus one publish
/// per entry. The worker sleeps on a condition variable between rounds (no busy wait);
/// after failed rounds it waits as the `RetryPolicy` says (jittered exponential backoff
/// by default).
/// **Errors:** `relay_once` returns the first publish error (after marking the entries
/// published before it) or the store's error; entries not marked are retried after their
/// lease.
///
/// **Example:**
/// @code
///   pipeline::OutboxRelay relay(store, transport, clock, {.owner = "relay-1"});
///   relay.start();
///   store.transact([&](auto& tx) { return tx.enqueue({"phase3-trigger", {id, json, {}}}).map([](bool) {}); });
///   relay.notify();   // publish now instead of at the next poll
/// @endcode
class OutboxRelay {
 public:
  OutboxRelay(StateStore& store, Transport& transport, Clock& clock, OutboxRelayOptions options = {})
      : store_(store), transport_(transport), clock_(clock), options_(std::move(options)),
        signal_(std::make_shared<Signal>()) {
    if (options_.owner.empty()) options_.owner = "relay-" + new_execution_id();
    if (options_.batch_size == 0) options_.batch_size = 1;
    if (!options_.retry_policy)
      options_.retry_policy = std::make_shared<ExponentialBackoff>(ExponentialBackoffOptions{
          .initial_delay = options_.poll_interval,
          .multiplier = 2.0,
          .max_delay = std::max(options_.max_backoff, options_.poll_interval),
          .max_attempts = 0,
          .max_elapsed = Duration::zero(),
          .jitter = true});
  }
  ~OutboxRelay() { stop(); }
  OutboxRelay(const OutboxRelay&) = delete;
  OutboxRelay& operator=(const OutboxRelay&) = delete;

  [[nodiscard]] const std::string& owner() const noexcept { return options_.owner; }

  /// Claims one batch, publishes it in commit order and marks what was published.
  /// Returns how many entries were published (0 when nothing was due).
  Result<std::size_t> relay_once() {
    auto claimed = store_.claim_outbox(options_.owner, options_.batch_size, clock_.now(), options_.lease);
    if (!claimed) return fail(claimed.error());
    std::vector<std::string> published;
    published.reserve(claimed->size());
    std::optional<Error> publish_error;
    for (auto& row : *claimed) {
      std::string id = row.entry.message.id;
      auto st = transport_.publish(row.entry.topic, std::move(row.entry.message));
      if (!st) {
        // The transport is likely down: stop here; the rest is retried after the lease.
        publish_error = st.error().with("outbox_id", id).with("topic", row.entry.topic);
        break;
      }
      published.push_back(std::move(id));
    }
    if (!published.empty()) PIPELINE_TRY(store_.complete_outbox(published));
    if (publish_error) return fail(std::move(*publish_error));
    return published.size();
  }

  /// Relays batches until one comes back short, or `max_batches` ran. Returns the total
  /// published; stops at the first error.
  Result<std::size_t> drain(std::size_t max_batches = 1000) {
    std::size_t total = 0;
    for (std::size_t i = 0; i < max_batches; ++i) {
      auto n = relay_once();
      if (!n) return fail(n.error());
      total += *n;
      if (*n < options_.batch_size) break;
    }
    return total;
  }

  /// Starts the background worker (idempotent). It relays at once, then on `notify()`
  /// and every `poll_interval` (backing off after failures).
  void start() {
    std::lock_guard lock(signal_->mu);
    if (worker_.joinable()) return;
    signal_->stop = false;
    signal_->wake = true;
    worker_ = std::thread([this] { run(); });
  }

  /// Asks the worker to relay now (e.g. right after a commit that enqueued entries).
  void notify() {
    {
      std::lock_guard lock(signal_->mu);
      signal_->wake = true;
    }
    signal_->cv.notify_one();
  }

  /// Stops the worker after its current round and cancels its poll timer (idempotent).
  void stop() {
    std::thread worker;
    {
      std::lock_guard lock(signal_->mu);
      signal_->stop = true;
      worker = std::move(worker_);
    }
    signal_->cv.notify_one();
    if (worker.joinable()) worker.join();
    if (timer_ != 0) clock_.cancel(timer_);
    timer_ = 0;
  }

  /// Background mode: rounds that failed in a row (0 after a good round).
  [[nodiscard]] int consecutive_failures() const {
    std::lock_guard lock(signal_->mu);
    return failures_;
  }

  /// Background mode: rounds finished so far (each has armed the next poll timer).
  [[nodiscard]] std::uint64_t rounds() const {
    std::lock_guard lock(signal_->mu);
    return rounds_;
  }

  /// Background mode: the last error of a round, if the last round failed.
  [[nodiscard]] std::optional<Error> last_error() const {
    std::lock_guard lock(signal_->mu);
    return last_error_;
  }

 private:
  // Shared with clock callbacks, which may outlive the relay (a timer already firing).
  struct Signal {
    mutable std::mutex mu;
    std::condition_variable cv;
    bool wake = false;
    bool stop = false;
  };

  void run() {
    for (;;) {
      {
        std::unique_lock lock(signal_->mu);
        signal_->cv.wait(lock, [&] { return signal_->wake || signal_->stop; });
        if (signal_->stop) return;
        signal_->wake = false;
      }
      auto result = drain();
      Duration next = options_.poll_interval;
      {
        std::lock_guard lock(signal_->mu);
        if (result) {
          failures_ = 0;
          last_error_.reset();
        } else {
          if (failures_++ == 0) first_failure_ = clock_.now();
          last_error_ = result.error();
          if (auto delay = options_.retry_policy->next_delay(failures_, clock_.now() - first_failure_))
            next = *delay;
          else
            failures_ = 0;  // the policy gave up: back to plain polling
        }
      }
      // Only this thread schedules the poll timer, so timer_ needs no lock.
      if (timer_ != 0) clock_.cancel(timer_);
      std::weak_ptr<Signal> weak = signal_;
      timer_ = clock_.schedule_after(next, [weak] {
        if (auto s = weak.lock()) {
          {
            std::lock_guard lock(s->mu);
            s->wake = true;
          }
          s->cv.notify_one();
        }
      });
      std::lock_guard lock(signal_->mu);
      ++rounds_;
    }
  }

  StateStore& store_;
  Transport& transport_;
  Clock& clock_;
  OutboxRelayOptions options_;
  std::shared_ptr<Signal> signal_;
  std::thread worker_;
  TimerId timer_ = 0;
  int failures_ = 0;
  std::uint64_t rounds_ = 0;
  TimePoint first_failure_{};
  std::optional<Error> last_error_;
};

}  // namespace pipeline::inline v0
