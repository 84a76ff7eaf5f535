#pragma once
/// @file
/// `mocks::FailingTransport`: wraps a `Transport` and fails `publish` on demand.

#include <atomic>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "pipeline/core/result.hpp"
#include "pipeline/core/transport.hpp"

namespace pipeline::inline v0::mocks {

/// Forwards every call to the wrapped transport, except that `publish` fails with a
/// chosen `ErrorCode` for the next N calls (`fail_next`) or while the transport is
/// `set_down(true)`. Counts calls and injected failures.
///
/// **Thread safety:** every member may be called from any thread.
/// **Performance:** one lock per publish on top of the wrapped transport.
/// **Errors:** the injected code (default `kUnavailable`) with message "injected failure".
///
/// **Example:**
/// @code
///   pipeline::mocks::RecordingTransport inner;
///   pipeline::mocks::FailingTransport transport{inner};
///   transport.fail_next(2);                      // two kUnavailable, then through
///   transport.set_down(true, pipeline::ErrorCode::kUnavailable);
/// @endcode
class FailingTransport final : public Transport {
 public:
  explicit FailingTransport(Transport& inner) : inner_(inner) {}

  /// Fails the next `n` publish calls with `code`.
  void fail_next(std::size_t n, ErrorCode code = ErrorCode::kUnavailable) {
    std::lock_guard lock(mu_);
    fail_next_ = n;
    code_ = code;
  }
  /// While down, every publish and `ping` fails with `code`.
  void set_down(bool down, ErrorCode code = ErrorCode::kUnavailable) {
    std::lock_guard lock(mu_);
    down_ = down;
    code_ = code;
  }

  Result<std::unique_ptr<Subscription>> subscribe(const SubscribeParams& config, Handler handler) override {
    return inner_.subscribe(config, std::move(handler));
  }
  Result<std::vector<DeadLetter>> dead_letters(std::string_view subscription) override {
    return inner_.dead_letters(subscription);
  }
  Status replay_dead_letter(std::string_view subscription, std::string_view id) override {
    return inner_.replay_dead_letter(subscription, id);
  }
  /// Fails while down, as the broker would not answer.
  Status ping() override {
    {
      std::lock_guard lock(mu_);
      if (down_) return fail(code_, "injected failure: the transport is down");
    }
    return inner_.ping();
  }

  /// Publish calls seen, and how many of them were failed on purpose.
  [[nodiscard]] std::size_t calls() const { return calls_.load(std::memory_order_relaxed); }
  [[nodiscard]] std::size_t failures() const { return failures_.load(std::memory_order_relaxed); }

 protected:
  Status do_publish(PublishParams params) override {
    calls_.fetch_add(1, std::memory_order_relaxed);
    {
      std::lock_guard lock(mu_);
      if (down_ || fail_next_ > 0) {
        if (fail_next_ > 0) --fail_next_;
        failures_.fetch_add(1, std::memory_order_relaxed);
        return fail(code_, "injected failure publishing '{}' to '{}'", params.message.id, params.topic);
      }
    }
    return inner_.publish(std::move(params));
  }

 private:
  Transport& inner_;
  std::mutex mu_;
  bool down_ = false;
  std::size_t fail_next_ = 0;
  ErrorCode code_ = ErrorCode::kUnavailable;
  std::atomic<std::size_t> calls_{0};
  std::atomic<std::size_t> failures_{0};
};

}  // namespace pipeline::inline v0::mocks
