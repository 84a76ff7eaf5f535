#pragma once
// Bodies of pipeline/orchestrate/outbox_relay.hpp (see pipeline/core/config.hpp).

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "pipeline/core/ids.hpp"
#include "pipeline/orchestrate/outbox_relay.hpp"

namespace pipeline::inline v0 {

struct OutboxRelay::Background {
  // Shared with clock callbacks, which may outlive the relay (a timer already firing).
  struct Signal {
    std::mutex mu;
    std::condition_variable cv;
    bool wake = false;
    bool stop = false;
  };
  std::shared_ptr<Signal> signal = std::make_shared<Signal>();
  std::thread worker;
  TimerId timer = 0;  // only the worker schedules it (and stop() after joining it)
  // Guarded by signal->mu:
  int failures = 0;
  std::uint64_t rounds = 0;
  TimePoint first_failure{};
  std::optional<Error> last_error;
};

PIPELINE_INLINE Status OutboxRelayOptions::validate() const {
  if (batch_size == 0) return fail(ErrorCode::kInvalidArgument, "OutboxRelayOptions::batch_size must be at least 1");
  if (lease <= Duration::zero()) return fail(ErrorCode::kInvalidArgument, "OutboxRelayOptions::lease must be positive");
  if (poll_interval <= Duration::zero())
    return fail(ErrorCode::kInvalidArgument, "OutboxRelayOptions::poll_interval must be positive");
  if (max_backoff <= Duration::zero())
    return fail(ErrorCode::kInvalidArgument, "OutboxRelayOptions::max_backoff must be positive");
  return ok();
}

PIPELINE_INLINE Result<std::unique_ptr<OutboxRelay>> OutboxRelay::create(Clock& clock, StateStore& store,
                                                                         Transport& transport,
                                                                         OutboxRelayOptions options) {
  auto step = SendStep::create(transport);
  if (!step) return fail(step.error());
  return create(clock, store, std::move(*step), std::move(options));
}

PIPELINE_INLINE Result<std::unique_ptr<OutboxRelay>> OutboxRelay::create(Clock& clock, StateStore& store,
                                                                         std::shared_ptr<SendStep> step,
                                                                         OutboxRelayOptions options) {
  PIPELINE_TRY(options.validate());
  if (!step) return fail(ErrorCode::kInvalidArgument, "OutboxRelay needs a send step (got null)");
  if (options.owner.empty()) options.owner = "relay-" + new_execution_id();
  if (!options.retry_policy) {
    // Without a policy of its own the relay backs off from its poll interval to its cap.
    auto policy = ExponentialBackoff::create({.initial_delay = options.poll_interval,
                                              .multiplier = 2.0,
                                              .max_delay = std::max(options.max_backoff, options.poll_interval),
                                              .max_attempts = 0,
                                              .max_elapsed = Duration::zero(),
                                              .jitter = true});
    if (!policy) return fail(policy.error());
    options.retry_policy = std::move(*policy);
  }
  return std::unique_ptr<OutboxRelay>(new OutboxRelay(clock, store, std::move(step), std::move(options)));
}

PIPELINE_INLINE OutboxRelay::OutboxRelay(Clock& clock, StateStore& store, std::shared_ptr<SendStep> step,
                                         OutboxRelayOptions options)
    : store_(store),
      step_(std::move(step)),
      clock_(clock),
      options_(std::move(options)),
      bg_(std::make_unique<Background>()) {}

PIPELINE_INLINE OutboxRelay::~OutboxRelay() { stop(); }

PIPELINE_INLINE Result<std::size_t> OutboxRelay::relay_once() {
  auto claimed = store_.claim_outbox({options_.owner, options_.batch_size, clock_.now(), options_.lease});
  if (!claimed) return fail(claimed.error());
  auto& rows = *claimed;
  std::vector<std::string> published;
  published.reserve(rows.size());
  std::optional<Error> publish_error;
  for (std::size_t first = 0; first < rows.size();) {
    // A run of entries with one topic and one claim count goes out in one batch (one
    // round trip on a networked transport); the claims count the run's attempts, since
    // the outbox keeps no first-attempt time.
    std::size_t end = first + 1;
    while (end < rows.size() && rows[end].entry.topic == rows[first].entry.topic &&
           rows[end].claims == rows[first].claims)
      ++end;
    std::vector<std::string> keys;
    std::vector<OutgoingMessage> messages;
    for (std::size_t i = first; i < end; ++i) {
      keys.push_back(rows[i].entry.outbox_key());
      messages.push_back(std::move(rows[i].entry.message));
    }
    auto attempt = step_->send_batch(rows[first].entry.topic, std::move(messages), std::max(1, rows[first].claims));
    for (std::size_t i = 0; i < attempt.sent; ++i) published.push_back(std::move(keys[i]));
    if (!attempt.refused.sent()) {
      // The transport is likely down: stop here; the rest is retried after the lease.
      publish_error =
          attempt.refused.status.error().with("outbox_id", keys[attempt.sent]).with("topic", rows[first].entry.topic);
      break;
    }
    first = end;
  }
  if (!published.empty()) PIPELINE_TRY(store_.complete_outbox(published));
  if (publish_error) return fail(std::move(*publish_error));
  return published.size();
}

PIPELINE_INLINE Result<std::size_t> OutboxRelay::drain(std::size_t max_batches) {
  std::size_t total = 0;
  for (std::size_t i = 0; i < max_batches; ++i) {
    auto n = relay_once();
    if (!n) return fail(n.error());
    total += *n;
    if (*n < options_.batch_size) break;
  }
  return total;
}

PIPELINE_INLINE void OutboxRelay::start() {
  auto& s = *bg_->signal;
  std::lock_guard lock(s.mu);
  if (bg_->worker.joinable()) return;
  s.stop = false;
  s.wake = true;
  bg_->worker = std::thread([this] { run(); });
}

PIPELINE_INLINE void OutboxRelay::notify() {
  auto& s = *bg_->signal;
  {
    std::lock_guard lock(s.mu);
    s.wake = true;
  }
  s.cv.notify_one();
}

PIPELINE_INLINE void OutboxRelay::stop() {
  auto& s = *bg_->signal;
  std::thread worker;
  {
    std::lock_guard lock(s.mu);
    s.stop = true;
    worker = std::move(bg_->worker);
  }
  s.cv.notify_one();
  if (worker.joinable()) worker.join();
  if (bg_->timer != 0) clock_.cancel(bg_->timer);
  bg_->timer = 0;
}

PIPELINE_INLINE int OutboxRelay::consecutive_failures() const {
  std::lock_guard lock(bg_->signal->mu);
  return bg_->failures;
}

PIPELINE_INLINE std::uint64_t OutboxRelay::rounds() const {
  std::lock_guard lock(bg_->signal->mu);
  return bg_->rounds;
}

PIPELINE_INLINE std::optional<Error> OutboxRelay::last_error() const {
  std::lock_guard lock(bg_->signal->mu);
  return bg_->last_error;
}

PIPELINE_INLINE void OutboxRelay::run() {
  auto& bg = *bg_;
  auto& s = *bg.signal;
  for (;;) {
    {
      std::unique_lock lock(s.mu);
      s.cv.wait(lock, [&] { return s.wake || s.stop; });
      if (s.stop) return;
      s.wake = false;
    }
    auto result = drain();
    Duration next = options_.poll_interval;
    {
      std::lock_guard lock(s.mu);
      if (result) {
        bg.failures = 0;
        bg.last_error.reset();
      } else {
        if (bg.failures++ == 0) bg.first_failure = clock_.now();
        bg.last_error = result.error();
        if (auto delay = options_.retry_policy->next_delay(bg.failures, clock_.now() - bg.first_failure))
          next = *delay;
        else
          bg.failures = 0;  // the policy gave up: back to plain polling
      }
    }
    // Only this thread schedules the poll timer, so the timer id needs no lock.
    if (bg.timer != 0) clock_.cancel(bg.timer);
    std::weak_ptr<Background::Signal> weak = bg.signal;
    bg.timer = clock_.schedule_after(next, [weak] {
      if (auto sig = weak.lock()) {
        {
          std::lock_guard lock(sig->mu);
          sig->wake = true;
        }
        sig->cv.notify_one();
      }
    });
    std::lock_guard lock(s.mu);
    ++bg.rounds;
  }
}

}  // namespace pipeline::inline v0
