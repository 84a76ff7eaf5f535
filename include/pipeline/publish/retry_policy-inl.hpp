#pragma once
// Bodies of pipeline/publish/retry_policy.hpp (see pipeline/core/config.hpp).

#include <algorithm>
#include <random>
#include <utility>

#include "pipeline/publish/retry_policy.hpp"

namespace pipeline::inline v0 {

PIPELINE_INLINE Result<std::shared_ptr<ExponentialBackoff>> ExponentialBackoff::create(Options options) {
  if (options.initial_delay < Duration::zero() || options.max_delay < Duration::zero() ||
      options.max_elapsed < Duration::zero()) {
    return fail(ErrorCode::kInvalidArgument, "backoff delays and max_elapsed must not be negative");
  }
  if (!(options.multiplier >= 1.0)) {  // NaN too
    return fail(ErrorCode::kInvalidArgument, "backoff multiplier {} is below 1", options.multiplier);
  }
  if (options.max_attempts < 0) {
    return fail(ErrorCode::kInvalidArgument, "backoff max_attempts {} is negative (0: unlimited)", options.max_attempts);
  }
  return std::shared_ptr<ExponentialBackoff>(new ExponentialBackoff(std::move(options)));
}

PIPELINE_INLINE ExponentialBackoff::ExponentialBackoff(Options options)
    : options_(std::move(options)), random_(std::move(options_.random)) {
  if (!random_) {
    random_ = [rng = std::mt19937_64{std::random_device{}()}]() mutable { return rng(); };
  }
}

PIPELINE_INLINE std::optional<Duration> ExponentialBackoff::next_delay(int failed_attempts, Duration elapsed) {
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

PIPELINE_INLINE Duration ExponentialBackoff::ceiling(int failed_attempts) const {
  double d = static_cast<double>(options_.initial_delay.count());
  const double max = static_cast<double>(options_.max_delay.count());
  for (int i = 1; i < failed_attempts && d < max; ++i) d *= options_.multiplier;
  return Duration(static_cast<Duration::rep>(std::min(d, max)));
}

}  // namespace pipeline::inline v0
