#pragma once
/// @file
/// Internal: the ordered timer set shared by `SystemClock` and `ManualClock`.

#include <functional>
#include <map>
#include <optional>
#include <utility>

#include "pipeline/core/clock.hpp"

namespace pipeline::inline v0::internal {

/// Timers ordered by (due, id): equal due times fire in scheduling order.
/// Not synchronized: the owning clock holds its own lock around every call.
class TimerQueue {
 public:
  TimerId add(TimePoint due, std::function<void()> fn) {
    const TimerId id = ++last_id_;
    by_key_.emplace(Key{due, id}, std::move(fn));
    due_of_.emplace(id, due);
    return id;
  }

  bool cancel(TimerId id) {
    auto it = due_of_.find(id);
    if (it == due_of_.end()) return false;
    by_key_.erase(Key{it->second, id});
    due_of_.erase(it);
    return true;
  }

  [[nodiscard]] std::optional<TimePoint> next_due() const {
    if (by_key_.empty()) return std::nullopt;
    return by_key_.begin()->first.due;
  }

  /// Removes and returns the earliest timer if it is due at `now`.
  std::optional<std::pair<TimePoint, std::function<void()>>> pop_due(TimePoint now) {
    if (by_key_.empty() || by_key_.begin()->first.due > now) return std::nullopt;
    auto node = by_key_.extract(by_key_.begin());
    due_of_.erase(node.key().id);
    return std::make_pair(node.key().due, std::move(node.mapped()));
  }

  [[nodiscard]] std::size_t size() const { return by_key_.size(); }

 private:
  struct Key {
    TimePoint due;
    TimerId id;
    bool operator<(const Key& o) const { return due != o.due ? due < o.due : id < o.id; }
  };
  std::map<Key, std::function<void()>> by_key_;
  std::map<TimerId, TimePoint> due_of_;
  TimerId last_id_ = 0;
};

}  // namespace pipeline::inline v0::internal
