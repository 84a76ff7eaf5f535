#pragma once
/// @file
/// Internal: the state behind `MemoryTransport` — per-subscription queues of unsettled
/// messages, leases, the due-time heap for ack deadlines and backoff, the worker loop —
/// and its `Delivery` and `Subscription` objects. Included by memory_transport-inl.hpp
/// only; consumers never see it.

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "pipeline/core/clock.hpp"
#include "pipeline/core/config.hpp"
#include "pipeline/core/result.hpp"
#include "pipeline/core/transport.hpp"
#include "pipeline/memory/memory_transport_options.hpp"

namespace pipeline::inline v0::internal {


/// One published message, shared by every subscription it fans out to.
struct MemoryStoredMessage {
  std::string id;
  std::string topic;
  std::string payload;
  Attributes attributes;
};

/// A handler attached to a subscription; `running` counts calls in progress.
struct MemoryHandlerSlot {
  Handler handler;
  int running = 0;
  bool closed = false;
};

enum class MemoryEntryState { kReady, kInFlight, kBackoff };

/// One unsettled message of one subscription.
struct MemoryEntry {
  std::shared_ptr<const MemoryStoredMessage> message;
  int attempts = 0;                  // deliveries made so far
  MemoryEntryState state = MemoryEntryState::kReady;
  std::uint64_t lease = 0;           // bumped on every hand-out; a delivery holds its value
  std::uint64_t timer_gen = 0;       // bumped whenever the due time changes or is dropped
  TimePoint due{};
  std::string last_error;
};

struct MemorySubscriptionState {
  std::string name;
  std::string topic;
  SubscriptionSettings settings;
  std::map<std::uint64_t, MemoryEntry> entries;  // unsettled messages by sequence number
  std::deque<std::uint64_t> ready;               // deliverable now, in the order they became so
  std::shared_ptr<MemoryHandlerSlot> slot;
  bool runnable = false;                         // queued in the core's runnable list
  std::vector<DeadLetter> dead_letters;
  std::uint64_t next_seq = 0;
};

inline thread_local const MemoryHandlerSlot* memory_current_slot = nullptr;

/// The shared state behind `MemoryTransport`, its deliveries and subscriptions (which
/// may outlive the transport object and then answer `kUnavailable`).
class MemoryTransportCore : public std::enable_shared_from_this<MemoryTransportCore> {
 public:
  MemoryTransportCore(Clock& clock, MemoryTransportOptions options) : clock_(clock), options_(options) {}

  struct Work {
    std::shared_ptr<MemoryHandlerSlot> slot;
    DeliveryPtr delivery;
  };

  Clock& clock_;
  const MemoryTransportOptions options_;
  std::mutex mu_;
  std::condition_variable work_cv_;  // wakes worker threads
  std::condition_variable idle_cv_;  // wakes close() and wait_until_idle()
  std::map<std::string, std::vector<MemorySubscriptionState*>, std::less<>> topics_;
  std::map<std::string, std::unique_ptr<MemorySubscriptionState>, std::less<>> subs_;
  std::deque<MemorySubscriptionState*> runnable_;

  struct Due {
    TimePoint due;
    MemorySubscriptionState* sub;
    std::uint64_t seq;
    std::uint64_t gen;
    bool operator>(const Due& o) const { return due > o.due; }
  };
  std::vector<Due> due_heap_;  // min-heap, lazily pruned of stale entries
  std::size_t timed_live_ = 0;
  TimerId armed_timer_ = 0;
  TimePoint armed_due_{};
  std::uint64_t arm_gen_ = 0;

  std::size_t in_progress_ = 0;
  bool shut_down_ = false;
  bool draining_ = false;
  std::size_t workers_ = 0;
  std::vector<std::thread> threads_;  // started by MemoryTransport::start
  bool stopping_ = false;

  // ---- called by MemoryTransport --------------------------------------------------------

  Status publish(std::string_view topic, OutgoingMessage message);

  Result<std::unique_ptr<Subscription>> subscribe(const SubscribeParams& config, Handler handler);

  Result<std::vector<DeadLetter>> dead_letters(std::string_view subscription);

  Status replay_dead_letter(std::string_view subscription, std::string_view id);

  /// Delivers until nothing is deliverable; returns the number of handler calls.
  std::size_t pump();

  void wait_until_idle();

  void worker_loop();

  void shut_down();

  // ---- called by MemoryDelivery / MemorySubscription ------------------------------------

  Status ack(MemorySubscriptionState* sub, std::uint64_t seq, std::uint64_t lease, const std::string& id);

  /// `reject`: dead-letter now instead of after the last attempt.
  Status nack(MemorySubscriptionState* sub, std::uint64_t seq, std::uint64_t lease, const std::string& id,
              std::string_view reason, bool reject = false);

  Status extend(MemorySubscriptionState* sub, std::uint64_t seq, std::uint64_t lease, const std::string& id,
                Duration extension);

  TimePoint deadline_of(MemorySubscriptionState* sub, std::uint64_t seq, std::uint64_t lease);

  void close(MemorySubscriptionState* sub, const std::shared_ptr<MemoryHandlerSlot>& slot);

  static Duration backoff_for(const SubscriptionSettings& s, int attempt);

 private:
  static Status validate_id(std::string_view id);

  void fan_out_locked(const std::vector<MemorySubscriptionState*>& subs,
                      const std::shared_ptr<const MemoryStoredMessage>& stored);

  void enqueue_locked(MemorySubscriptionState* sub, std::shared_ptr<const MemoryStoredMessage> stored);

  void make_runnable_locked(MemorySubscriptionState* sub);

  void make_ready_locked(MemorySubscriptionState* sub, std::uint64_t seq, MemoryEntry& e);

  bool has_deliverable_locked() const;

  /// Hands out the next ready message, round-robin over subscriptions.
  std::optional<Work> take_locked();

  DeliveryPtr make_delivery(MemorySubscriptionState* sub, std::uint64_t seq, const MemoryEntry& e);

  void run(Work& work);

  void finish_locked(Work& work);

  /// Wakes workers, or delivers inline when that mode is on and nobody else is delivering.
  void after_enqueue(std::unique_lock<std::mutex>& lock, std::size_t added);

  Result<std::map<std::uint64_t, MemoryEntry>::iterator> find_leased_locked(MemorySubscriptionState* sub,
                                                                            std::uint64_t seq, std::uint64_t lease,
                                                                            const std::string& id);

  void start_timing_locked(MemorySubscriptionState* sub, std::uint64_t seq, MemoryEntry& e, TimePoint due);

  void stop_timing_locked(MemoryEntry& e);

  static bool is_live(const Due& d);

  /// One clock timer at a time, for the earliest due time: no clock call per delivery.
  void arm_locked(TimePoint due);

  void on_timer(std::uint64_t gen);

  void dead_letter_locked(MemorySubscriptionState* sub, std::map<std::uint64_t, MemoryEntry>::iterator it);
};

class MemoryDelivery final : public Delivery {
 public:
  MemoryDelivery(std::shared_ptr<MemoryTransportCore> core, MemorySubscriptionState* sub, std::uint64_t seq,
                 std::uint64_t lease, std::shared_ptr<const MemoryStoredMessage> message, int attempt)
      : core_(std::move(core)), sub_(sub), seq_(seq), lease_(lease), message_(std::move(message)), attempt_(attempt) {}

  const std::string& id() const noexcept override { return message_->id; }
  const std::string& topic() const noexcept override { return message_->topic; }
  const std::string& subscription() const noexcept override { return sub_->name; }
  const std::string& payload() const noexcept override { return message_->payload; }
  const Attributes& attributes() const noexcept override { return message_->attributes; }
  int attempt() const noexcept override { return attempt_; }
  TimePoint deadline() const override { return core_->deadline_of(sub_, seq_, lease_); }
  Status ack() override { return core_->ack(sub_, seq_, lease_, message_->id); }
  Status nack(std::string_view reason) override { return core_->nack(sub_, seq_, lease_, message_->id, reason); }
  Status reject(std::string_view reason) override {
    return core_->nack(sub_, seq_, lease_, message_->id, reason, /*reject=*/true);
  }
  Status extend_deadline(Duration extension) override {
    return core_->extend(sub_, seq_, lease_, message_->id, extension);
  }

 private:
  std::shared_ptr<MemoryTransportCore> core_;
  MemorySubscriptionState* sub_;  // subscriptions live as long as the core
  std::uint64_t seq_;
  std::uint64_t lease_;
  std::shared_ptr<const MemoryStoredMessage> message_;
  int attempt_;
};

class MemorySubscription final : public Subscription {
 public:
  MemorySubscription(std::shared_ptr<MemoryTransportCore> core, MemorySubscriptionState* sub,
                     std::shared_ptr<MemoryHandlerSlot> slot)
      : core_(std::move(core)), sub_(sub), slot_(std::move(slot)) {}
  ~MemorySubscription() override { close(); }
  const std::string& name() const noexcept override { return sub_->name; }
  void close() override { core_->close(sub_, slot_); }

 private:
  std::shared_ptr<MemoryTransportCore> core_;
  MemorySubscriptionState* sub_;
  std::shared_ptr<MemoryHandlerSlot> slot_;
};

}  // namespace pipeline::inline v0::internal

#ifdef PIPELINE_HEADER_ONLY
#include "pipeline/memory/memory_transport_core-inl.hpp"
#endif
