#pragma once
/// @file
/// `BasicAlertSink<Mutex>`: an `AlertSink` base that does the locking for implementers.

#include <mutex>

#include "pipeline/core/alert_sink.hpp"
#include "pipeline/core/result.hpp"

namespace pipeline::inline v0 {

/// A mutex that does nothing, for sinks that are thread-safe by themselves or used from
/// one thread only.
struct NullMutex {
  void lock() noexcept {}
  void unlock() noexcept {}
  bool try_lock() noexcept { return true; }
};

/// Base for sinks that want their `send` serialized (in the spirit of spdlog's
/// `base_sink`): `send` takes the sink's mutex and calls `send_locked`.
/// `BasicAlertSink<std::mutex>` serializes concurrent calls; `BasicAlertSink<NullMutex>`
/// adds nothing.
///
/// **Thread safety:** with `std::mutex`, `send_locked` never runs twice at once. A sink
/// whose `send_locked` raises an alert that comes back to the same sink on the same
/// thread would deadlock on `std::mutex`: use `NullMutex` (or `std::recursive_mutex`) for
/// such sinks.
/// **Performance:** one lock per alert. A slow sink delays only the threads sending to it;
/// `AlertManager` never calls a sink while holding its own locks.
/// **Errors:** whatever `send_locked` returns; throws propagate to `AlertManager`, which
/// catches and counts them.
///
/// **Example:**
/// @snippet alert_snippets_test.cpp sink_base
template <class Mutex>
class BasicAlertSink : public AlertSink {
 public:
  Status send(const Alert& alert) final {
    std::lock_guard<Mutex> lock(mutex_);
    return send_locked(alert);
  }

 protected:
  /// Delivers one alert; called with the sink's mutex held.
  virtual Status send_locked(const Alert& alert) = 0;

  Mutex mutex_;
};

}  // namespace pipeline::inline v0
