#pragma once

#include "pipeline/coordinate/scheduler.hpp"

#include <condition_variable>
#include <mutex>
#include <thread>

namespace pipeline::inline v0 {

// Shared with the armed timer's callback, so a timer that fires while the scheduler
// is being destroyed finds valid (stopped) state instead of a dangling pointer.
struct Scheduler::State {
  State(Clock& c, NextDue n, OnDue o) : clock(c), next_due(std::move(n)), on_due(std::move(o)) {}
  Clock& clock;
  const NextDue next_due;
  const OnDue on_due;
  mutable std::mutex mu;
  std::condition_variable idle;
  bool running = false;
  std::uint64_t generation = 0;  // bumped by start/stop: stale timers see a mismatch
  TimerId timer = 0;
  std::optional<Due> armed;
  bool in_flight = false;
  std::thread::id firing_thread;
  std::uint64_t fired = 0;
};


PIPELINE_INLINE Result<std::unique_ptr<Scheduler>> Scheduler::create(Clock& clock, NextDue next_due, OnDue on_due) {
  if (!next_due) return fail(ErrorCode::kInvalidArgument, "Scheduler needs a source of due jobs (got none)");
  if (!on_due) return fail(ErrorCode::kInvalidArgument, "Scheduler needs a callback for due jobs (got none)");
  return std::unique_ptr<Scheduler>(new Scheduler(clock, std::move(next_due), std::move(on_due)));
}

PIPELINE_INLINE Scheduler::Scheduler(Clock& clock, NextDue next_due, OnDue on_due)
    : state_(std::make_shared<State>(clock, std::move(next_due), std::move(on_due))) {}

PIPELINE_INLINE bool Scheduler::running() const {
  std::lock_guard lock(state_->mu);
  return state_->running;
}

PIPELINE_INLINE std::optional<Scheduler::Due> Scheduler::armed() const {
  std::lock_guard lock(state_->mu);
  return state_->armed;
}

PIPELINE_INLINE std::uint64_t Scheduler::fired() const {
  std::lock_guard lock(state_->mu);
  return state_->fired;
}

PIPELINE_INLINE TimePoint Scheduler::clock_now() const { return state_->clock.now(); }

PIPELINE_INLINE bool Scheduler::start(TimePoint from) {
  std::uint64_t generation;
  {
    std::lock_guard lock(state_->mu);
    if (state_->running) return false;
    state_->running = true;
    generation = ++state_->generation;
  }
  // "At or after now": the source answers strictly after its argument.
  auto first = state_->next_due(from - Duration(1));
  std::lock_guard lock(state_->mu);
  if (state_->running && state_->generation == generation) arm(state_, generation, std::move(first));
  return true;
}

PIPELINE_INLINE void Scheduler::stop() {
  std::unique_lock lock(state_->mu);
  if (state_->running) {
    state_->running = false;
    ++state_->generation;
    if (state_->timer != 0) state_->clock.cancel(state_->timer);
    state_->timer = 0;
    state_->armed.reset();
  }
  state_->idle.wait(lock, [&] { return !state_->in_flight || state_->firing_thread == std::this_thread::get_id(); });
}

PIPELINE_INLINE void Scheduler::arm(const std::shared_ptr<State>& st, std::uint64_t generation, std::optional<Due> due) {
  st->armed = std::move(due);
  st->timer = 0;
  if (!st->armed) return;
  st->timer = st->clock.schedule_at(st->armed->at, [st, generation] { fire(st, generation); });
}

PIPELINE_INLINE void Scheduler::fire(const std::shared_ptr<State>& st, std::uint64_t generation) {
  Due due;
  {
    std::lock_guard lock(st->mu);
    if (!st->running || st->generation != generation || !st->armed) return;
    due = *st->armed;
    st->timer = 0;
    st->in_flight = true;
    st->firing_thread = std::this_thread::get_id();
  }
  st->on_due(due.job, due.at);
  auto next = st->next_due(due.at);
  if (next && next->at <= due.at) next.reset();  // a source that does not advance would spin
  {
    std::lock_guard lock(st->mu);
    st->in_flight = false;
    ++st->fired;
    if (st->running && st->generation == generation) arm(st, generation, std::move(next));
  }
  st->idle.notify_all();
}

}  // namespace pipeline::inline v0
