#pragma once
/// @file
/// `MemoryTransport`: the complete at-least-once `Transport` contract, in-process.

#include <algorithm>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "pipeline/core/clock.hpp"
#include "pipeline/core/result.hpp"
#include "pipeline/core/topics.hpp"
#include "pipeline/core/transport.hpp"

namespace pipeline::inline v0 {

/// Construction options of `MemoryTransport`.
struct MemoryTransportOptions {
  /// Unsettled (unacknowledged, not dead-lettered) messages one subscription may hold.
  /// When any subscription of a topic is full, `publish` to that topic answers
  /// `kBackpressure` and the message goes nowhere (all or nothing).
  std::size_t max_unacked_per_subscription = 100000;
  /// When true and no worker threads run, `publish` (and a timer that makes messages
  /// due, and an out-of-handler `nack` with zero backoff) delivers synchronously on the
  /// calling thread, unless a delivery is already running — that running loop then
  /// picks the new message up. This is the low-latency path for single-process use.
  bool inline_delivery = false;
};

namespace internal {

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
  bool stopping_ = false;

  // ---- called by MemoryTransport --------------------------------------------------------

  Status publish(std::string_view topic, OutgoingMessage message) {
    PIPELINE_TRY(TopicNaming::validate_topic_name(topic));
    PIPELINE_TRY(validate_id(message.id));
    std::unique_lock lock(mu_);
    if (shut_down_) return fail(ErrorCode::kUnavailable, "the memory transport is shut down");
    auto it = topics_.find(topic);
    if (it == topics_.end()) it = topics_.emplace(std::string(topic), std::vector<MemorySubscriptionState*>{}).first;
    for (auto* sub : it->second) {
      if (sub->entries.size() >= options_.max_unacked_per_subscription) {
        Error e{ErrorCode::kBackpressure,
                fmt::format("subscription '{}' holds {} unacknowledged messages (its limit); acknowledge "
                            "or drain it before publishing more to '{}'",
                            sub->name, sub->entries.size(), topic),
                {{"topic", std::string(topic)}, {"subscription", sub->name}}};
        return fail(std::move(e));
      }
    }
    fan_out_locked(it->second, std::make_shared<const MemoryStoredMessage>(MemoryStoredMessage{
                                   std::move(message.id), it->first, std::move(message.payload),
                                   std::move(message.attributes)}));
    after_enqueue(lock, it->second.size());
    return ok();
  }

  Result<std::unique_ptr<Subscription>> subscribe(const SubscriptionConfig& config, Handler handler);

  Result<std::vector<DeadLetter>> dead_letters(std::string_view subscription) {
    std::lock_guard lock(mu_);
    auto it = subs_.find(subscription);
    if (it == subs_.end()) return fail(ErrorCode::kNotFound, "no subscription named '{}'", subscription);
    return it->second->dead_letters;
  }

  Status replay_dead_letter(std::string_view subscription, std::string_view id) {
    std::unique_lock lock(mu_);
    auto it = subs_.find(subscription);
    if (it == subs_.end()) return fail(ErrorCode::kNotFound, "no subscription named '{}'", subscription);
    auto* sub = it->second.get();
    auto dl = std::find_if(sub->dead_letters.begin(), sub->dead_letters.end(),
                           [&](const DeadLetter& d) { return d.id == id; });
    if (dl == sub->dead_letters.end())
      return fail(ErrorCode::kNotFound, "subscription '{}' has no dead letter with id '{}'", subscription, id);
    if (sub->entries.size() >= options_.max_unacked_per_subscription)
      return fail(ErrorCode::kBackpressure, "subscription '{}' is full; acknowledge messages before replaying",
                  subscription);
    auto stored = std::make_shared<const MemoryStoredMessage>(
        MemoryStoredMessage{std::move(dl->id), sub->topic, std::move(dl->payload), std::move(dl->attributes)});
    sub->dead_letters.erase(dl);
    enqueue_locked(sub, std::move(stored));
    after_enqueue(lock, 1);
    return ok();
  }

  /// Delivers until nothing is deliverable; returns the number of handler calls.
  std::size_t pump() {
    std::size_t n = 0;
    std::unique_lock lock(mu_);
    while (auto work = take_locked()) {
      lock.unlock();
      run(*work);
      lock.lock();
      finish_locked(*work);
      ++n;
    }
    return n;
  }

  void wait_until_idle() {
    std::unique_lock lock(mu_);
    idle_cv_.wait(lock, [&] { return in_progress_ == 0 && !has_deliverable_locked(); });
  }

  void worker_loop() {
    std::unique_lock lock(mu_);
    for (;;) {
      work_cv_.wait(lock, [&] { return stopping_ || !runnable_.empty(); });
      if (stopping_) return;
      auto work = take_locked();
      if (!work) continue;
      lock.unlock();
      run(*work);
      lock.lock();
      finish_locked(*work);
    }
  }

  void shut_down() {
    std::lock_guard lock(mu_);
    shut_down_ = true;
    if (armed_timer_ != 0) clock_.cancel(armed_timer_);
    armed_timer_ = 0;
  }

  // ---- called by MemoryDelivery / MemorySubscription ------------------------------------

  Status ack(MemorySubscriptionState* sub, std::uint64_t seq, std::uint64_t lease, const std::string& id) {
    std::lock_guard lock(mu_);
    auto found = find_leased_locked(sub, seq, lease, id);
    if (!found) return fail(std::move(found).error());
    stop_timing_locked((*found)->second);
    sub->entries.erase(*found);
    return ok();
  }

  Status nack(MemorySubscriptionState* sub, std::uint64_t seq, std::uint64_t lease, const std::string& id,
              std::string_view reason) {
    std::unique_lock lock(mu_);
    auto found = find_leased_locked(sub, seq, lease, id);
    if (!found) return fail(std::move(found).error());
    auto it = *found;
    MemoryEntry& e = it->second;
    e.last_error.assign(reason);
    stop_timing_locked(e);
    if (e.attempts >= sub->settings.max_delivery_attempts) {
      dead_letter_locked(sub, it);
      after_enqueue(lock, 1);  // the dead-letter topic may have subscribers
      return ok();
    }
    const Duration backoff = backoff_for(sub->settings, e.attempts);
    if (backoff <= Duration::zero()) {
      make_ready_locked(sub, seq, e);
      after_enqueue(lock, 1);
    } else {
      e.state = MemoryEntryState::kBackoff;
      start_timing_locked(sub, seq, e, clock_.now() + backoff);
    }
    return ok();
  }

  Status extend(MemorySubscriptionState* sub, std::uint64_t seq, std::uint64_t lease, const std::string& id,
                Duration extension) {
    if (extension < Duration::zero())
      return fail(ErrorCode::kInvalidArgument, "a deadline extension must not be negative");
    std::lock_guard lock(mu_);
    auto found = find_leased_locked(sub, seq, lease, id);
    if (!found) return fail(std::move(found).error());
    MemoryEntry& e = (*found)->second;
    stop_timing_locked(e);
    start_timing_locked(sub, seq, e, clock_.now() + extension);
    return ok();
  }

  TimePoint deadline_of(MemorySubscriptionState* sub, std::uint64_t seq, std::uint64_t lease) {
    std::lock_guard lock(mu_);
    auto it = sub->entries.find(seq);
    if (it == sub->entries.end() || it->second.lease != lease || it->second.state != MemoryEntryState::kInFlight)
      return TimePoint{};
    return it->second.due;
  }

  void close(MemorySubscriptionState* sub, const std::shared_ptr<MemoryHandlerSlot>& slot) {
    std::unique_lock lock(mu_);
    slot->closed = true;
    if (sub->slot == slot) sub->slot.reset();
    // Closing from inside the handler itself must not wait for that very call.
    const int own = memory_current_slot == slot.get() ? 1 : 0;
    idle_cv_.wait(lock, [&] { return slot->running <= own; });
  }

  static Duration backoff_for(const SubscriptionSettings& s, int attempt) {
    Duration d = s.min_backoff;
    for (int i = 1; i < attempt && d < s.max_backoff; ++i) d *= 2;
    return std::min(d, s.max_backoff);
  }

 private:
  static Status validate_id(std::string_view id) {
    if (id.empty() || id.size() > 256)
      return fail(ErrorCode::kInvalidArgument, "message id must be 1 to 256 characters (got {})", id.size());
    for (char c : id)
      if (c < 0x20 || c > 0x7e)
        return fail(ErrorCode::kInvalidArgument, "message id '{}' must be printable ASCII", id.substr(0, 64));
    return ok();
  }

  void fan_out_locked(const std::vector<MemorySubscriptionState*>& subs,
                      const std::shared_ptr<const MemoryStoredMessage>& stored) {
    for (auto* sub : subs) enqueue_locked(sub, stored);
  }

  void enqueue_locked(MemorySubscriptionState* sub, std::shared_ptr<const MemoryStoredMessage> stored) {
    const std::uint64_t seq = sub->next_seq++;
    MemoryEntry entry;
    entry.message = std::move(stored);
    sub->entries.emplace_hint(sub->entries.end(), seq, std::move(entry));
    sub->ready.push_back(seq);
    make_runnable_locked(sub);
  }

  void make_runnable_locked(MemorySubscriptionState* sub) {
    if (!sub->runnable && sub->slot && !sub->slot->closed && !sub->ready.empty()) {
      sub->runnable = true;
      runnable_.push_back(sub);
    }
  }

  void make_ready_locked(MemorySubscriptionState* sub, std::uint64_t seq, MemoryEntry& e) {
    e.state = MemoryEntryState::kReady;
    sub->ready.push_back(seq);
    make_runnable_locked(sub);
  }

  bool has_deliverable_locked() const {
    for (auto* sub : runnable_)
      if (sub->slot && !sub->slot->closed && !sub->ready.empty()) return true;
    return false;
  }

  /// Hands out the next ready message, round-robin over subscriptions.
  std::optional<Work> take_locked() {
    while (!runnable_.empty()) {
      auto* sub = runnable_.front();
      runnable_.pop_front();
      sub->runnable = false;
      if (!sub->slot || sub->slot->closed) continue;
      while (!sub->ready.empty()) {
        const std::uint64_t seq = sub->ready.front();
        sub->ready.pop_front();
        auto it = sub->entries.find(seq);
        if (it == sub->entries.end() || it->second.state != MemoryEntryState::kReady) continue;
        MemoryEntry& e = it->second;
        ++e.attempts;
        ++e.lease;
        e.state = MemoryEntryState::kInFlight;
        start_timing_locked(sub, seq, e, clock_.now() + sub->settings.ack_deadline);
        make_runnable_locked(sub);
        ++sub->slot->running;
        ++in_progress_;
        return Work{sub->slot, make_delivery(sub, seq, e)};
      }
    }
    return std::nullopt;
  }

  DeliveryPtr make_delivery(MemorySubscriptionState* sub, std::uint64_t seq, const MemoryEntry& e);

  void run(Work& work) {
    memory_current_slot = work.slot.get();
    try {
      work.slot->handler(work.delivery);
    } catch (const std::exception& ex) {
      (void)work.delivery->nack(ex.what());
    } catch (...) {
      (void)work.delivery->nack("handler threw a non-standard exception");
    }
    memory_current_slot = nullptr;
  }

  void finish_locked(Work& work) {
    --work.slot->running;
    --in_progress_;
    idle_cv_.notify_all();
  }

  /// Wakes workers, or delivers inline when that mode is on and nobody else is delivering.
  void after_enqueue(std::unique_lock<std::mutex>& lock, std::size_t added) {
    if (workers_ > 0) {
      if (added > 1)
        work_cv_.notify_all();
      else
        work_cv_.notify_one();
      return;
    }
    if (!options_.inline_delivery || draining_) return;
    draining_ = true;
    while (auto work = take_locked()) {
      lock.unlock();
      run(*work);
      lock.lock();
      finish_locked(*work);
    }
    draining_ = false;
  }

  Result<std::map<std::uint64_t, MemoryEntry>::iterator> find_leased_locked(MemorySubscriptionState* sub,
                                                                            std::uint64_t seq, std::uint64_t lease,
                                                                            const std::string& id) {
    if (shut_down_) return fail(ErrorCode::kUnavailable, "the memory transport is shut down");
    auto it = sub->entries.find(seq);
    if (it == sub->entries.end() || it->second.lease != lease || it->second.state != MemoryEntryState::kInFlight)
      return fail(ErrorCode::kFailedPrecondition,
                  "delivery of '{}' to '{}' is already settled or its lease was lost (redelivered)", id,
                  sub->name);
    return it;
  }

  void start_timing_locked(MemorySubscriptionState* sub, std::uint64_t seq, MemoryEntry& e, TimePoint due) {
    ++e.timer_gen;
    e.due = due;
    ++timed_live_;
    due_heap_.push_back(Due{due, sub, seq, e.timer_gen});
    std::push_heap(due_heap_.begin(), due_heap_.end(), std::greater<>{});
    // Stale heap entries (settled messages) are dropped lazily; rebuild when they dominate.
    if (due_heap_.size() > 2 * timed_live_ + 1024) {
      std::erase_if(due_heap_, [&](const Due& d) { return !is_live(d); });
      std::make_heap(due_heap_.begin(), due_heap_.end(), std::greater<>{});
    }
    arm_locked(due_heap_.front().due);
  }

  void stop_timing_locked(MemoryEntry& e) {
    if (e.state == MemoryEntryState::kReady) return;
    ++e.timer_gen;
    --timed_live_;
  }

  static bool is_live(const Due& d) {
    auto it = d.sub->entries.find(d.seq);
    return it != d.sub->entries.end() && it->second.state != MemoryEntryState::kReady &&
           it->second.timer_gen == d.gen;
  }

  /// One clock timer at a time, for the earliest due time: no clock call per delivery.
  void arm_locked(TimePoint due) {
    if (shut_down_) return;
    if (armed_timer_ != 0 && armed_due_ <= due) return;
    if (armed_timer_ != 0) clock_.cancel(armed_timer_);
    armed_due_ = due;
    const std::uint64_t gen = ++arm_gen_;
    armed_timer_ = clock_.schedule_at(due, [weak = weak_from_this(), gen] {
      if (auto core = weak.lock()) core->on_timer(gen);
    });
  }

  void on_timer(std::uint64_t gen) {
    std::unique_lock lock(mu_);
    if (shut_down_) return;
    if (gen == arm_gen_) armed_timer_ = 0;
    const TimePoint now = clock_.now();
    std::size_t added = 0;
    while (!due_heap_.empty() && due_heap_.front().due <= now) {
      std::pop_heap(due_heap_.begin(), due_heap_.end(), std::greater<>{});
      const Due d = due_heap_.back();
      due_heap_.pop_back();
      if (!is_live(d)) continue;
      auto it = d.sub->entries.find(d.seq);
      MemoryEntry& e = it->second;
      const bool deadline_passed = e.state == MemoryEntryState::kInFlight;
      stop_timing_locked(e);
      if (deadline_passed && e.attempts >= d.sub->settings.max_delivery_attempts) {
        e.last_error = fmt::format("ack deadline exceeded on attempt {}", e.attempts);
        dead_letter_locked(d.sub, it);
      } else {
        if (deadline_passed) e.last_error = fmt::format("ack deadline exceeded on attempt {}", e.attempts);
        make_ready_locked(d.sub, d.seq, e);
      }
      ++added;
    }
    if (!due_heap_.empty()) arm_locked(due_heap_.front().due);
    if (added > 0) after_enqueue(lock, added);
  }

  void dead_letter_locked(MemorySubscriptionState* sub, std::map<std::uint64_t, MemoryEntry>::iterator it) {
    const MemoryEntry& e = it->second;
    const MemoryStoredMessage& m = *e.message;
    DeadLetter dl{m.id, sub->topic, sub->name, m.payload, m.attributes, e.attempts, e.last_error, clock_.now()};
    Attributes attrs = m.attributes;
    attrs.insert_or_assign(std::string(attributes::kDeliveryAttempts), std::to_string(e.attempts));
    attrs.insert_or_assign(std::string(attributes::kLastError), e.last_error);
    attrs.insert_or_assign(std::string(attributes::kSourceTopic), sub->topic);
    attrs.insert_or_assign(std::string(attributes::kSourceSubscription), sub->name);
    const std::string dlq_topic = sub->settings.dead_letter_topic.empty()
                                      ? TopicNaming::dead_letter(sub->topic)
                                      : sub->settings.dead_letter_topic;
    auto stored = std::make_shared<const MemoryStoredMessage>(
        MemoryStoredMessage{m.id, dlq_topic, m.payload, std::move(attrs)});
    sub->entries.erase(it);  // `m` and `e` are gone from here on
    sub->dead_letters.push_back(std::move(dl));
    // A dead letter is never refused for backpressure: losing it would be a silent drop.
    auto topic = topics_.find(dlq_topic);
    if (topic == topics_.end()) topic = topics_.emplace(dlq_topic, std::vector<MemorySubscriptionState*>{}).first;
    fan_out_locked(topic->second, stored);
  }
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

inline DeliveryPtr MemoryTransportCore::make_delivery(MemorySubscriptionState* sub, std::uint64_t seq,
                                                      const MemoryEntry& e) {
  return std::make_shared<MemoryDelivery>(shared_from_this(), sub, seq, e.lease, e.message, e.attempts);
}

inline Result<std::unique_ptr<Subscription>> MemoryTransportCore::subscribe(const SubscriptionConfig& config,
                                                                            Handler handler) {
  PIPELINE_TRY(TopicNaming::validate_topic_name(config.name));
  PIPELINE_TRY(TopicNaming::validate_topic_name(config.topic));
  const auto& s = config.settings;
  if (!handler) return fail(ErrorCode::kInvalidArgument, "subscription '{}' needs a handler", config.name);
  if (s.ack_deadline <= Duration::zero() || s.max_delivery_attempts < 1 || s.min_backoff < Duration::zero() ||
      s.max_backoff < s.min_backoff)
    return fail(ErrorCode::kInvalidArgument,
                "subscription '{}': ack_deadline must be > 0, max_delivery_attempts >= 1 and "
                "0 <= min_backoff <= max_backoff",
                config.name);
  if (!s.dead_letter_topic.empty()) PIPELINE_TRY(TopicNaming::validate_topic_name(s.dead_letter_topic));
  std::unique_lock lock(mu_);
  if (shut_down_) return fail(ErrorCode::kUnavailable, "the memory transport is shut down");
  auto it = subs_.find(config.name);
  if (it == subs_.end()) {
    auto state = std::make_unique<MemorySubscriptionState>();
    state->name = config.name;
    state->topic = config.topic;
    auto topic = topics_.find(config.topic);
    if (topic == topics_.end()) topic = topics_.emplace(config.topic, std::vector<MemorySubscriptionState*>{}).first;
    topic->second.push_back(state.get());
    it = subs_.emplace(config.name, std::move(state)).first;
  }
  auto* sub = it->second.get();
  if (sub->topic != config.topic)
    return fail(ErrorCode::kInvalidArgument, "subscription '{}' already exists on topic '{}', not '{}'", config.name,
                sub->topic, config.topic);
  if (sub->slot && !sub->slot->closed)
    return fail(ErrorCode::kAlreadyExists, "a handler is already attached to subscription '{}'", config.name);
  sub->settings = s;
  sub->slot = std::make_shared<MemoryHandlerSlot>();
  sub->slot->handler = std::move(handler);
  auto slot = sub->slot;
  make_runnable_locked(sub);
  if (workers_ > 0 && !sub->ready.empty()) work_cv_.notify_all();
  return std::unique_ptr<Subscription>(std::make_unique<MemorySubscription>(shared_from_this(), sub, slot));
}

}  // namespace internal

/// The in-process `Transport`: the complete at-least-once contract (redelivery after
/// the ack deadline, deadline extension, nack with exponential backoff, dead-lettering
/// after `max_delivery_attempts` to the `-dlq` topic, replay, backpressure) on the
/// injected `Clock`, so tests and simulated-time runs are deterministic.
///
/// Delivery happens in one of three ways:
/// - **pump mode** (default): nothing is delivered until someone calls `pump()`, which
///   runs every deliverable handler call on the caller's thread until quiescent;
/// - **inline**: with `MemoryTransportOptions::inline_delivery`, `publish` itself runs the
///   handlers (the lowest-latency path, allocation-light: one shared message, one map
///   node per subscription, one delivery object);
/// - **threaded**: `start(n)` runs `n` worker threads; `stop()` joins them.
/// Redeliveries are due times on the clock: advancing a `ManualClock` fires them (and in
/// threaded or inline mode delivers them; in pump mode the next `pump()` does).
///
/// **Ordering:** each subscription hands out first deliveries in publish order (one
/// worker or pump: handlers see them in that order; several workers may run them
/// concurrently). Nothing is promised across redeliveries or across subscriptions.
/// **Retention:** acknowledged and dead-lettered messages are freed at once; a
/// subscription holds at most `max_unacked_per_subscription` unsettled messages, and a
/// publish that would exceed it on any subscription of the topic fails with
/// `kBackpressure` without reaching any subscription. Dead letters are always accepted
/// on the dead-letter topic (never dropped). A subscription exists from its first
/// `subscribe` to the transport's end; a backlog published while no handler is attached
/// waits for the next one (call `pump()` after subscribing in pump or inline mode).
///
/// **Thread safety:** every member may be called from any thread. Handlers run without
/// the transport's lock; `Subscription::close()` waits for running calls of its handler.
/// Do not destroy the transport from inside a handler.
/// **Performance:** O(log n) per publish per subscription; one clock timer for the
/// earliest due time (no clock call per delivery).
/// **Errors:** as the `Transport` port; `start` → `kFailedPrecondition` when already
/// started, `kInvalidArgument` for zero threads.
///
/// **Example:**
/// @code
///   pipeline::ManualClock clock;
///   pipeline::MemoryTransport transport{clock};
///   auto sub = transport.subscribe({"phase3-sub", "phase2-complete", {}},
///                                  [](pipeline::DeliveryPtr d) { d->ack(); });
///   transport.publish("phase2-complete", {"phase2/2025-11-18", "{}", {}});
///   transport.pump();   // the handler ran on this thread
/// @endcode
class MemoryTransport final : public Transport {
 public:
  explicit MemoryTransport(Clock& clock, MemoryTransportOptions options = {})
      : core_(std::make_shared<internal::MemoryTransportCore>(clock, options)) {}
  MemoryTransport(const MemoryTransport&) = delete;
  MemoryTransport& operator=(const MemoryTransport&) = delete;
  ~MemoryTransport() override {
    stop();
    core_->shut_down();
  }

  Status publish(std::string_view topic, OutgoingMessage message) override {
    return core_->publish(topic, std::move(message));
  }
  Result<std::unique_ptr<Subscription>> subscribe(const SubscriptionConfig& config, Handler handler) override {
    return core_->subscribe(config, std::move(handler));
  }
  Result<std::vector<DeadLetter>> dead_letters(std::string_view subscription) override {
    return core_->dead_letters(subscription);
  }
  Status replay_dead_letter(std::string_view subscription, std::string_view id) override {
    return core_->replay_dead_letter(subscription, id);
  }

  /// Pump mode: delivers everything deliverable now on this thread, including what the
  /// handlers publish or nack with zero backoff, until quiescent. Returns handler calls.
  /// Cheap when there is nothing to do (one lock).
  std::size_t pump() { return core_->pump(); }

  /// Starts `threads` worker threads that deliver from now on.
  Status start(std::size_t threads) {
    if (threads == 0) return fail(ErrorCode::kInvalidArgument, "start needs at least one worker thread");
    std::lock_guard lock(core_->mu_);
    if (core_->workers_ > 0) return fail(ErrorCode::kFailedPrecondition, "the memory transport is already started");
    core_->workers_ = threads;
    for (std::size_t i = 0; i < threads; ++i) threads_.emplace_back([core = core_] { core->worker_loop(); });
    return ok();
  }

  /// Stops and joins the worker threads (running handler calls finish first). Idempotent.
  void stop() {
    {
      std::lock_guard lock(core_->mu_);
      if (threads_.empty()) return;
      core_->stopping_ = true;
    }
    core_->work_cv_.notify_all();
    for (auto& t : threads_) t.join();
    threads_.clear();
    std::lock_guard lock(core_->mu_);
    core_->stopping_ = false;
    core_->workers_ = 0;
  }

  /// Waits until no message is deliverable to an attached handler and no handler call
  /// runs. In pump mode (no workers) it pumps instead of waiting. For tests and shutdown.
  void wait_until_idle() {
    if (!started()) {
      pump();
      return;
    }
    core_->wait_until_idle();
  }

  /// Whether worker threads are running.
  [[nodiscard]] bool started() {
    std::lock_guard lock(core_->mu_);
    return core_->workers_ > 0;
  }

  /// How many unsettled messages `subscription` holds (0 for an unknown name).
  [[nodiscard]] std::size_t unacked(std::string_view subscription) {
    std::lock_guard lock(core_->mu_);
    auto it = core_->subs_.find(subscription);
    return it == core_->subs_.end() ? 0 : it->second->entries.size();
  }

 private:
  std::shared_ptr<internal::MemoryTransportCore> core_;
  std::vector<std::thread> threads_;
};

}  // namespace pipeline::inline v0
