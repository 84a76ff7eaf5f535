#pragma once
/// @file
/// `OutboxRelay`: publishes committed outbox entries through the `Transport`.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "pipeline/core/clock.hpp"
#include "pipeline/core/config.hpp"
#include "pipeline/core/result.hpp"
#include "pipeline/core/state_store.hpp"
#include "pipeline/core/transport.hpp"
#include "pipeline/publish/retry_policy.hpp"
#include "pipeline/publish/send_step.hpp"

namespace pipeline::inline v0 {

/// Options of an `OutboxRelay`.
struct OutboxRelayOptions {
  /// Names this relay in the outbox leases; empty = a fresh execution id.
  std::string owner{};
  /// Entries claimed (and published) per round trip to the store.
  std::size_t batch_size = 100;
  /// How long a claimed entry stays reserved for this relay. An entry whose publish
  /// failed, or whose relay died, is published again once its lease ends, so this is
  /// also the retry delay of a failed entry.
  Duration lease = std::chrono::seconds(30);
  /// Background mode: how often the outbox is polled when nobody calls `notify()`.
  Duration poll_interval = std::chrono::seconds(1);
  /// Background mode: the delay of the next round after failed rounds. Null = an
  /// `ExponentialBackoff` from `poll_interval` up to `max_backoff`, never giving up
  /// (when a policy gives up, the relay goes back to polling every `poll_interval`).
  std::shared_ptr<RetryPolicy> retry_policy{};
  /// The cap of the default retry policy.
  Duration max_backoff = std::chrono::seconds(60);

  /// A `batch_size` of at least 1 and positive durations. **Errors:** `kInvalidArgument`
  /// naming the first bad option.
  [[nodiscard]] Status validate() const;
};

/// Moves outbox entries from the `StateStore` to the `Transport`: claims a batch under a
/// lease, sends the entries with their stable ids through a `SendStep` — synchronously,
/// on the calling thread, each run of entries for one topic as one `publish_batch` — then
/// marks the ones the transport accepted as sent. The step is
/// the one `UnifiedPublisher` uses (pass `publisher.send_step()` to share its retry
/// policy, metrics and hooks): one publishing path, and no in-memory queue or thread
/// between the deciding commit and the transport.
///
/// Delivery is at least once with the same id: a relay that dies (or fails to mark)
/// after publishing leaves the entry leased; when the lease ends another relay (or this
/// one) publishes it again with the same id, and consumers deduplicate on it
/// (`IdempotentConsumer`). Nothing is lost: an entry leaves the outbox only after its
/// publish succeeded. Several relays may run against one store (in one process or
/// several); leases keep them from publishing the same entry at the same time.
///
/// Two ways to drive it: call `relay_once()` / `drain()` yourself (tests, the inline
/// path right after a commit), or `start()` a background worker thread that relays when
/// `notify()` is called and otherwise every `poll_interval` on the injected clock.
///
/// **Thread safety:** every member may be called from any thread; concurrent
/// `relay_once` calls behave like separate relays. `stop()` must not be called from the
/// transport's publish.
/// **Performance:** per batch one claim and one complete transaction plus one
/// `publish_batch` per run of entries with the same topic (one round trip each on Redis). The worker sleeps on a condition variable between rounds (no busy wait);
/// after failed rounds it waits as the `RetryPolicy` says (jittered exponential backoff
/// by default).
/// **Errors:** `create`: `kInvalidArgument` for a bad option or a null step. `relay_once` returns the first publish error (after marking the entries
/// published before it) or the store's error; entries not marked are retried after their
/// lease. The step counts and reports each failed send: `on_retry` while the step's
/// policy (asked with the entry's claim count as the attempt) would retry, `on_failed`
/// once it gives up — the entry still stays in the outbox and is retried after each
/// lease: a decided trigger is never dropped.
///
/// **Example:**
/// @snippet orchestrate_snippets_test.cpp outbox_relay
class OutboxRelay {
 public:
  /// A relay with its own `SendStep` over `transport` (default policy, no metrics).
  /// **Errors:** `kInvalidArgument` naming the first bad option.
  static Result<std::unique_ptr<OutboxRelay>> create(Clock& clock, StateStore& store, Transport& transport,
                                                    OutboxRelayOptions options = {});
  /// A relay that sends through `step` (e.g. `UnifiedPublisher::send_step()`).
  /// **Errors:** `kInvalidArgument` naming the first bad option, or for a null `step`.
  static Result<std::unique_ptr<OutboxRelay>> create(Clock& clock, StateStore& store, std::shared_ptr<SendStep> step,
                                                    OutboxRelayOptions options = {});
  ~OutboxRelay();
  OutboxRelay(const OutboxRelay&) = delete;
  OutboxRelay& operator=(const OutboxRelay&) = delete;

  [[nodiscard]] const std::string& owner() const noexcept { return options_.owner; }
  /// The step every entry is sent through.
  [[nodiscard]] const std::shared_ptr<SendStep>& send_step() const noexcept { return step_; }

  /// Claims one batch, publishes it in commit order and marks what was published.
  /// Returns how many entries were published (0 when nothing was due).
  Result<std::size_t> relay_once();

  /// Relays batches until one comes back short, or `max_batches` ran. Returns the total
  /// published; stops at the first error.
  Result<std::size_t> drain(std::size_t max_batches = 1000);

  /// Starts the background worker (idempotent). It relays at once, then on `notify()`
  /// and every `poll_interval` (backing off after failures).
  void start();

  /// Asks the worker to relay now (e.g. right after a commit that enqueued entries).
  void notify();

  /// Stops the worker after its current round and cancels its poll timer (idempotent).
  void stop();

  /// Background mode: rounds that failed in a row (0 after a good round).
  [[nodiscard]] int consecutive_failures() const;

  /// Background mode: rounds finished so far (each has armed the next poll timer).
  [[nodiscard]] std::uint64_t rounds() const;

  /// Background mode: the last error of a round, if the last round failed.
  [[nodiscard]] std::optional<Error> last_error() const;

 private:
  struct Background;  // worker thread, wake-up signal and round statistics (outbox_relay-inl.hpp)

  OutboxRelay(Clock& clock, StateStore& store, std::shared_ptr<SendStep> step, OutboxRelayOptions options);

  void run();

  StateStore& store_;
  std::shared_ptr<SendStep> step_;
  Clock& clock_;
  OutboxRelayOptions options_;
  std::unique_ptr<Background> bg_;
};

}  // namespace pipeline::inline v0

#ifdef PIPELINE_HEADER_ONLY
#include "pipeline/orchestrate/outbox_relay-inl.hpp"
#endif
