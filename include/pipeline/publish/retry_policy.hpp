#pragma once
/// @file
/// Retry policies: when to try a failed send again, and when to give up.

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>

#include "pipeline/core/clock.hpp"
#include "pipeline/core/config.hpp"
#include "pipeline/core/result.hpp"

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
  Duration initial_delay = std::chrono::milliseconds(100);  ///< Not negative.
  double multiplier = 2.0;                                  ///< At least 1.
  Duration max_delay = std::chrono::seconds(30);            ///< Not negative.
  int max_attempts = 10;                         ///< Attempts in total, the first included; 0: unlimited.
  Duration max_elapsed = std::chrono::minutes(5);  ///< Since the first attempt; 0: unlimited.
  bool jitter = true;                            ///< false: exactly the exponential delay.
  /// The jitter's random source; empty: a `std::mt19937_64` seeded from `std::random_device`.
  RandomSource random{};
};

/// Exponential backoff with **full jitter** (the delay is uniform in
/// [0, min(max_delay, initial_delay·multiplier^(n-1))]), which spreads out the retries of
/// many clients that failed together. Gives up after `max_attempts` attempts in total
/// or once `max_elapsed` has passed since the first attempt (0 disables either limit);
/// a delay never reaches past `max_elapsed`.
///
/// **Thread safety:** `next_delay` may be called concurrently (the random source is
/// called under a lock). **Performance:** a few arithmetic operations, one lock.
/// **Errors:** `create`: `kInvalidArgument` for a negative delay, limit or attempt count,
/// or a multiplier below 1. Nothing else fails.
///
/// **Example:**
/// @snippet publish_snippets_test.cpp retry_policy
class ExponentialBackoff final : public RetryPolicy {
 public:
  using Options = ExponentialBackoffOptions;

  /// **Errors:** `kInvalidArgument` for a negative `initial_delay`, `max_delay`,
  /// `max_elapsed` or `max_attempts`, or a `multiplier` below 1.
  [[nodiscard]] static Result<std::shared_ptr<ExponentialBackoff>> create(Options options = {});

  std::optional<Duration> next_delay(int failed_attempts, Duration elapsed) override;

  /// The upper bound of the delay after `failed_attempts` failures (before jitter).
  [[nodiscard]] Duration ceiling(int failed_attempts) const;

  [[nodiscard]] const Options& options() const noexcept { return options_; }

 private:
  explicit ExponentialBackoff(Options options);

  Options options_;
  std::mutex mu_;
  RandomSource random_;
};

}  // namespace pipeline::inline v0

#ifdef PIPELINE_HEADER_ONLY
#include "pipeline/publish/retry_policy-inl.hpp"
#endif
