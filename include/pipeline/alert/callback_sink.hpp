#pragma once
/// @file
/// `CallbackAlertSink`: hands every alert to a `std::function`.

#include <functional>
#include <mutex>
#include <type_traits>
#include <utility>

#include "pipeline/alert/sink_base.hpp"
#include "pipeline/core/alert_sink.hpp"
#include "pipeline/core/result.hpp"

namespace pipeline::inline v0 {

/// An alert sink that calls a function: to forward alerts to an existing notifier, or to
/// collect them in a test. The callback may return `Status` (an error is counted as a
/// failed delivery) or `void`.
///
/// **Thread safety:** `CallbackAlertSink` (over `NullMutex`) may call the callback from
/// several threads at once, and re-entrantly when the callback itself raises an alert;
/// `CallbackAlertSinkMt` (over `std::mutex`) serializes the calls (so the callback must
/// not raise an alert that comes back to it).
/// **Performance:** one `std::function` call per alert.
/// **Errors:** what the callback returns; a throw is caught and counted by `AlertManager`.
///
/// **Example:**
/// @snippet alert_snippets_test.cpp callback_sink
template <class Mutex>
class BasicCallbackAlertSink final : public BasicAlertSink<Mutex> {
 public:
  using Callback = std::function<Status(const Alert&)>;

  /// `fn` is callable as `Status(const Alert&)` or `void(const Alert&)`.
  template <class F, class = std::enable_if_t<std::is_invocable_v<F&, const Alert&>>>
  explicit BasicCallbackAlertSink(F fn) : callback_(wrap(std::move(fn))) {}

 protected:
  Status send_locked(const Alert& alert) override { return callback_(alert); }

 private:
  template <class F>
  static Callback wrap(F fn) {
    if constexpr (std::is_void_v<std::invoke_result_t<F&, const Alert&>>) {
      return [fn = std::move(fn)](const Alert& a) mutable -> Status {
        fn(a);
        return ok();
      };
    } else {
      return Callback(std::move(fn));
    }
  }

  Callback callback_;
};

/// Calls the callback without locking (see `BasicCallbackAlertSink`).
using CallbackAlertSink = BasicCallbackAlertSink<NullMutex>;
/// Serializes the calls to the callback.
using CallbackAlertSinkMt = BasicCallbackAlertSink<std::mutex>;

}  // namespace pipeline::inline v0
