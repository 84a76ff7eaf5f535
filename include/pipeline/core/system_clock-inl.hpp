#pragma once
/// @file
/// Bodies of pipeline/core/system_clock.hpp.

#include "pipeline/core/system_clock.hpp"

#include <condition_variable>
#include <mutex>
#include <thread>
#include <utility>

#include "pipeline/core/timer_queue.hpp"

namespace pipeline::inline v0 {

struct SystemClock::State {
  explicit State(Duration o) : offset(o) {}
  const Duration offset;  // added to the system clock; timers are due on the shifted time
  std::mutex mu;
  std::condition_variable cv;
  internal::TimerQueue timers;
  bool stopping = false;
  std::thread thread;

  void run() {
    std::unique_lock lock(mu);
    while (!stopping) {
      if (auto next = timers.pop_due(std::chrono::system_clock::now() + offset)) {
        lock.unlock();
        next->second();
        lock.lock();
        continue;
      }
      if (auto due = timers.next_due()) {
        cv.wait_until(lock, *due - offset);
      } else {
        cv.wait(lock);
      }
    }
  }
};

PIPELINE_INLINE SystemClock::SystemClock(Duration offset) : state_(std::make_unique<State>(offset)) {}

PIPELINE_INLINE TimePoint SystemClock::now() const noexcept { return std::chrono::system_clock::now() + state_->offset; }

PIPELINE_INLINE SystemClock::~SystemClock() {
  {
    std::lock_guard lock(state_->mu);
    state_->stopping = true;
  }
  state_->cv.notify_all();
  if (state_->thread.joinable()) state_->thread.join();
}

PIPELINE_INLINE TimerId SystemClock::schedule_at(TimePoint due, std::function<void()> fn) {
  TimerId id;
  {
    std::lock_guard lock(state_->mu);
    id = state_->timers.add(due, std::move(fn));
    if (!state_->thread.joinable()) state_->thread = std::thread([state = state_.get()] { state->run(); });
  }
  state_->cv.notify_all();
  return id;
}

PIPELINE_INLINE bool SystemClock::cancel(TimerId id) noexcept {
  std::lock_guard lock(state_->mu);
  return state_->timers.cancel(id);
}

}  // namespace pipeline::inline v0
