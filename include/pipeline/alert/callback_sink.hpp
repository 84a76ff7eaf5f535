#pragma once
/// @file
/// `CallbackAlertSink`: hands every alert to a `std::function`.

#include <functional>
#include <memory>
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

  /// A sink calling `fn`, callable as `Status(const Alert&)` or `void(const Alert&)`.
  /// **Errors:** `kInvalidArgument` when `fn` is an empty `std::function` or a null
  /// function pointer (it would fail every alert).
  template <class F, class = std::enable_if_t<std::is_invocable_v<F&, const Alert&>>>
  [[nodiscard]] static Result<std::shared_ptr<BasicCallbackAlertSink>> create(F fn) {
    if constexpr (std::is_pointer_v<F> || is_std_function<F>::value) {
      if (fn == nullptr) return fail(ErrorCode::kInvalidArgument, "CallbackAlertSink needs a callback (got none)");
    }
    return std::shared_ptr<BasicCallbackAlertSink>(new BasicCallbackAlertSink(wrap(std::move(fn))));
  }

 protected:
  Status send_locked(const Alert& alert) override { return callback_(alert); }

 private:
  template <class T>
  struct is_std_function : std::false_type {};
  template <class R, class... A>
  struct is_std_function<std::function<R(A...)>> : std::true_type {};

  explicit BasicCallbackAlertSink(Callback callback) : callback_(std::move(callback)) {}

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
