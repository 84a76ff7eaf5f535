#pragma once
/// @file
/// Bodies of pipeline/memory/memory_transport_core.hpp.

#include "pipeline/core/best_effort_settle.hpp"
#include "pipeline/memory/memory_transport_core.hpp"

#include <algorithm>
#include <exception>
#include <utility>

#include <fmt/format.h>

#include "pipeline/core/topics.hpp"

namespace pipeline::inline v0::internal {

PIPELINE_INLINE Status MemoryTransportCore::publish(std::string_view topic, OutgoingMessage message) {
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

PIPELINE_INLINE Result<std::vector<DeadLetter>> MemoryTransportCore::dead_letters(std::string_view subscription) {
  std::lock_guard lock(mu_);
  auto it = subs_.find(subscription);
  if (it == subs_.end()) return fail(ErrorCode::kNotFound, "no subscription named '{}'", subscription);
  return it->second->dead_letters;
}

PIPELINE_INLINE Status MemoryTransportCore::replay_dead_letter(std::string_view subscription, std::string_view id) {
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

PIPELINE_INLINE std::size_t MemoryTransportCore::pump() {
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

PIPELINE_INLINE void MemoryTransportCore::wait_until_idle() {
  std::unique_lock lock(mu_);
  idle_cv_.wait(lock, [&] { return in_progress_ == 0 && !has_deliverable_locked(); });
}

PIPELINE_INLINE void MemoryTransportCore::worker_loop() {
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

PIPELINE_INLINE void MemoryTransportCore::shut_down() {
  std::lock_guard lock(mu_);
  shut_down_ = true;
  if (armed_timer_ != 0) clock_.cancel(armed_timer_);
  armed_timer_ = 0;
}

PIPELINE_INLINE Status MemoryTransportCore::ack(MemorySubscriptionState* sub, std::uint64_t seq, std::uint64_t lease, const std::string& id) {
  std::lock_guard lock(mu_);
  auto found = find_leased_locked(sub, seq, lease, id);
  if (!found) return fail(std::move(found).error());
  stop_timing_locked((*found)->second);
  sub->entries.erase(*found);
  return ok();
}

PIPELINE_INLINE Status MemoryTransportCore::nack(MemorySubscriptionState* sub, std::uint64_t seq, std::uint64_t lease, const std::string& id,
                                                 std::string_view reason, bool reject) {
  std::unique_lock lock(mu_);
  auto found = find_leased_locked(sub, seq, lease, id);
  if (!found) return fail(std::move(found).error());
  auto it = *found;
  MemoryEntry& e = it->second;
  e.last_error.assign(reason);
  stop_timing_locked(e);
  if (reject || e.attempts >= sub->settings.max_delivery_attempts) {
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

PIPELINE_INLINE Status MemoryTransportCore::extend(MemorySubscriptionState* sub, std::uint64_t seq, std::uint64_t lease, const std::string& id,
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

PIPELINE_INLINE TimePoint MemoryTransportCore::deadline_of(MemorySubscriptionState* sub, std::uint64_t seq, std::uint64_t lease) {
  std::lock_guard lock(mu_);
  auto it = sub->entries.find(seq);
  if (it == sub->entries.end() || it->second.lease != lease || it->second.state != MemoryEntryState::kInFlight)
    return TimePoint{};
  return it->second.due;
}

PIPELINE_INLINE void MemoryTransportCore::close(MemorySubscriptionState* sub, const std::shared_ptr<MemoryHandlerSlot>& slot) {
  std::unique_lock lock(mu_);
  slot->closed = true;
  if (sub->slot == slot) sub->slot.reset();
  // Closing from inside the handler itself must not wait for that very call.
  const int own = memory_current_slot == slot.get() ? 1 : 0;
  idle_cv_.wait(lock, [&] { return slot->running <= own; });
}

PIPELINE_INLINE Duration MemoryTransportCore::backoff_for(const SubscriptionSettings& s, int attempt) {
  Duration d = s.min_backoff;
  for (int i = 1; i < attempt && d < s.max_backoff; ++i) d *= 2;
  return std::min(d, s.max_backoff);
}

PIPELINE_INLINE Status MemoryTransportCore::validate_id(std::string_view id) {
  if (id.empty() || id.size() > 256)
    return fail(ErrorCode::kInvalidArgument, "message id must be 1 to 256 characters (got {})", id.size());
  for (char c : id)
    if (c < 0x20 || c > 0x7e)
      return fail(ErrorCode::kInvalidArgument, "message id '{}' must be printable ASCII", id.substr(0, 64));
  return ok();
}

PIPELINE_INLINE void MemoryTransportCore::fan_out_locked(const std::vector<MemorySubscriptionState*>& subs,
                                                         const std::shared_ptr<const MemoryStoredMessage>& stored) {
  for (auto* sub : subs) enqueue_locked(sub, stored);
}

PIPELINE_INLINE void MemoryTransportCore::enqueue_locked(MemorySubscriptionState* sub, std::shared_ptr<const MemoryStoredMessage> stored) {
  const std::uint64_t seq = sub->next_seq++;
  MemoryEntry entry;
  entry.message = std::move(stored);
  sub->entries.emplace_hint(sub->entries.end(), seq, std::move(entry));
  sub->ready.push_back(seq);
  make_runnable_locked(sub);
}

PIPELINE_INLINE void MemoryTransportCore::make_runnable_locked(MemorySubscriptionState* sub) {
  if (!sub->runnable && sub->slot && !sub->slot->closed && !sub->ready.empty()) {
    sub->runnable = true;
    runnable_.push_back(sub);
  }
}

PIPELINE_INLINE void MemoryTransportCore::make_ready_locked(MemorySubscriptionState* sub, std::uint64_t seq, MemoryEntry& e) {
  e.state = MemoryEntryState::kReady;
  sub->ready.push_back(seq);
  make_runnable_locked(sub);
}

PIPELINE_INLINE bool MemoryTransportCore::has_deliverable_locked() const {
  for (auto* sub : runnable_)
    if (sub->slot && !sub->slot->closed && !sub->ready.empty()) return true;
  return false;
}

PIPELINE_INLINE std::optional<MemoryTransportCore::Work> MemoryTransportCore::take_locked() {
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

PIPELINE_INLINE void MemoryTransportCore::run(Work& work) {
  memory_current_slot = work.slot.get();
  try {
    work.slot->handler(work.delivery);
  } catch (const std::exception& ex) {
    best_effort_nack(*work.delivery, ex.what());
  } catch (...) {
    best_effort_nack(*work.delivery, "handler threw a non-standard exception");
  }
  memory_current_slot = nullptr;
}

PIPELINE_INLINE void MemoryTransportCore::finish_locked(Work& work) {
  --work.slot->running;
  --in_progress_;
  idle_cv_.notify_all();
}

PIPELINE_INLINE void MemoryTransportCore::after_enqueue(std::unique_lock<std::mutex>& lock, std::size_t added) {
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

PIPELINE_INLINE Result<std::map<std::uint64_t, MemoryEntry>::iterator> MemoryTransportCore::find_leased_locked(MemorySubscriptionState* sub,
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

PIPELINE_INLINE void MemoryTransportCore::start_timing_locked(MemorySubscriptionState* sub, std::uint64_t seq, MemoryEntry& e, TimePoint due) {
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

PIPELINE_INLINE void MemoryTransportCore::stop_timing_locked(MemoryEntry& e) {
  if (e.state == MemoryEntryState::kReady) return;
  ++e.timer_gen;
  --timed_live_;
}

PIPELINE_INLINE bool MemoryTransportCore::is_live(const Due& d) {
  auto it = d.sub->entries.find(d.seq);
  return it != d.sub->entries.end() && it->second.state != MemoryEntryState::kReady &&
         it->second.timer_gen == d.gen;
}

PIPELINE_INLINE void MemoryTransportCore::arm_locked(TimePoint due) {
  if (shut_down_) return;
  if (armed_timer_ != 0 && armed_due_ <= due) return;
  if (armed_timer_ != 0) clock_.cancel(armed_timer_);
  armed_due_ = due;
  const std::uint64_t gen = ++arm_gen_;
  armed_timer_ = clock_.schedule_at(due, [weak = weak_from_this(), gen] {
    if (auto core = weak.lock()) core->on_timer(gen);
  });
}

PIPELINE_INLINE void MemoryTransportCore::on_timer(std::uint64_t gen) {
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

PIPELINE_INLINE void MemoryTransportCore::dead_letter_locked(MemorySubscriptionState* sub, std::map<std::uint64_t, MemoryEntry>::iterator it) {
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

PIPELINE_INLINE DeliveryPtr MemoryTransportCore::make_delivery(MemorySubscriptionState* sub, std::uint64_t seq,
                                                               const MemoryEntry& e) {
  return std::make_shared<MemoryDelivery>(shared_from_this(), sub, seq, e.lease, e.message, e.attempts);
}

PIPELINE_INLINE Result<std::unique_ptr<Subscription>> MemoryTransportCore::subscribe(const SubscribeParams& config,
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

}  // namespace pipeline::inline v0::internal
