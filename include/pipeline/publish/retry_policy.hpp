#pragma once
/// @file
/// Retry policies: when to try a failed send again, and when to give up.

#include <algorithm>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <random>
#include <utility>

#include "pipeline/core/clock.hpp"

namespace pipeline::inline v0 {

/// Decides the delay before the next attempt of an operation that failed transiently.
/// Its users: `UnifiedPublisher` and the outbox relay.
///
/// **Thread safety:** implementations must allow concurrent calls.
/// **Errors:** none; `std::nullopt` means give up.
class RetryPolicy {
 public:
  virtual ~RetryPolicy() = default;
  /// `failed_attempts` ≥ 1 attempts have failed, the first one `elapsed` ago. Returns
  /// the delay before the next attempt, or `std::nullopt` to give up.
  [[nodiscard]] virtual std::optional<Duration> next_delay(int failed_attempts, Duration elapsed) = 0;
};

/// A source of uniformly distributed 64-bit values (injectable so tests are exact).
using RandomSource = std::function<std::uint64_t()>;

/// Settings of `ExponentialBackoff`.
struct ExponentialBackoffOptions {
  Duration initial_delay = std::chrono::milliseconds(100);
  double multiplier = 2.0;
  Duration max_delay = std::chrono::seconds(30);
  int max_attempts = 10;                         ///< Attempts in total, the first included; 0: unlimited.
  Duration max_elapsed = std::chrono::minutes(5);  ///< Since the first attempt; 0: unlimited.
  bool jitter = true;                            ///< false: exactly the exponential delay.
};

/// Exponential backoff with **full jitter** (the delay is uniform in
/// [0, min(max_delay, initial_delay·multiplier^(n-1))]), which spreads out the retries of
/// many clients that failed together. Gives up after `max_attempts` attempts in total
/// or once `max_elapsed` has passed since the first attempt (0 disables either limit);
/// a delay never reaches past `max_elapsed`.
///
/// **Thread safety:** `next_delay` may be called concurrently (the random source is
/// called under a lock). **Performance:** a few arithmetic operations, one lock.
/// **Errors:** none.
///
/// **Example:**
/// @code
///   pipeline::ExponentialBackoff backoff{{.initial_delay = std::chrono::milliseconds(100),
///                                         .max_attempts = 8}};
///   auto delay = backoff.next_delay(1, {});   // in [0, 100 ms]
/// @endcode
class ExponentialBackoff final : public RetryPolicy {
 public:
  using Options = ExponentialBackoffOptions;

  explicit ExponentialBackoff(Options options = {}, RandomSource random = {})
      : options_(options), random_(std::move(random)) {
    if (!random_) {
      random_ = [rng = std::mt19937_64{std::random_device{}()}]() mutable { return rng(); };
    }
  }

  std::optional<Duration> next_delay(int failed_attempts, Duration elapsed) override {
    if (options_.max_attempts > 0 && failed_attempts >= options_.max_attempts) return std::nullopt;
    if (options_.max_elapsed > Duration::zero() && elapsed >= options_.max_elapsed) return std::nullopt;
    const Duration cap = ceiling(failed_attempts);
    Duration delay = cap;
    if (options_.jitter) {
      std::uint64_t r;
      {
        std::lock_guard lock(mu_);
        r = random_();
      }
      const double unit = static_cast<double>(r >> 11) * 0x1.0p-53;  // [0, 1)
      delay = Duration(static_cast<Duration::rep>(unit * static_cast<double>(cap.count() + 1)));
    }
    if (options_.max_elapsed > Duration::zero()) delay = std::min(delay, options_.max_elapsed - elapsed);
    return delay;
  }

  /// The upper bound of the delay after `failed_attempts` failures (before jitter).
  [[nodiscard]] Duration ceiling(int failed_attempts) const {
    double d = static_cast<double>(options_.initial_delay.count());
    const double max = static_cast<double>(options_.max_delay.count());
    for (int i = 1; i < failed_attempts && d < max; ++i) d *= options_.multiplier;
    return Duration(static_cast<Duration::rep>(std::min(d, max)));
  }

  [[nodiscard]] const Options& options() const noexcept { return options_; }

 private:
  Options options_;
  std::mutex mu_;
  RandomSource random_;
};

}  // namespace pipeline::inline v0
