#pragma once
/// @file
/// `SystemClock`: real time, for long-running servers.

#include <condition_variable>
#include <mutex>
#include <thread>

#include "pipeline/core/clock.hpp"
#include "pipeline/core/timer_queue.hpp"

namespace pipeline::inline v0 {

/// The wall clock, with a timer thread started on the first `schedule_at`.
///
/// **Thread safety:** all members may be called from any thread. Callbacks run one at a
/// time on the clock's timer thread, without the clock's lock held; a slow callback
/// delays the timers after it. The destructor stops the thread; timers not yet due are
/// dropped (destroy components that schedule before the clock they use).
/// **Performance:** `now()` reads `std::chrono::system_clock`; one thread per instance.
///
/// **Example:**
/// @code
///   pipeline::SystemClock clock;
///   clock.schedule_after(std::chrono::seconds(5), [] { std::puts("five seconds later"); });
/// @endcode
class SystemClock final : public Clock {
 public:
  SystemClock() = default;
  SystemClock(const SystemClock&) = delete;
  SystemClock& operator=(const SystemClock&) = delete;

  ~SystemClock() override {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

  [[nodiscard]] TimePoint now() const noexcept override { return std::chrono::system_clock::now(); }

  TimerId schedule_at(TimePoint due, std::function<void()> fn) override {
    TimerId id;
    {
      std::lock_guard lock(mu_);
      id = timers_.add(due, std::move(fn));
      if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
    }
    cv_.notify_all();
    return id;
  }

  bool cancel(TimerId id) noexcept override {
    std::lock_guard lock(mu_);
    return timers_.cancel(id);
  }

 private:
  void run() {
    std::unique_lock lock(mu_);
    while (!stopping_) {
      if (auto next = timers_.pop_due(now())) {
        lock.unlock();
        next->second();
        lock.lock();
        continue;
      }
      if (auto due = timers_.next_due()) {
        cv_.wait_until(lock, *due);
      } else {
        cv_.wait(lock);
      }
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  internal::TimerQueue timers_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace pipeline::inline v0
