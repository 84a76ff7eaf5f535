#pragma once
/// @file
/// `ServiceRuntime`: runs one long-lived service process — its subscriptions, its outbox
/// relay and its periodic jobs — until asked to stop, then drains it.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "pipeline/core/clock.hpp"
#include "pipeline/core/config.hpp"
#include "pipeline/core/metrics_sink.hpp"
#include "pipeline/core/result.hpp"
#include "pipeline/core/state_store.hpp"
#include "pipeline/core/transport.hpp"
#include "pipeline/orchestrate/outbox_relay.hpp"

namespace pipeline::inline v0 {

/// Settings of a `ServiceRuntime`.
struct ServiceRuntimeOptions {
  /// Names the service in its health report (`phase3-analytics`).
  std::string name = "service";
  /// After a stop request, how long handlers already running may take to finish; what is
  /// still running then is nacked (redelivered to another consumer). Measured on the
  /// injected clock.
  Duration drain_grace = std::chrono::seconds(10);
  /// The runtime's outbox relay.
  OutboxRelayOptions relay;
  /// Batches the final outbox flush may publish at most.
  std::size_t flush_batches = 1000;
  /// Where the backlog gauges go (null: not sampled). At `start` and every
  /// `backlog_interval` after it, a periodic job ("backlog_metrics" in
  /// `health().job_errors` when it fails) sets `pipeline_outbox_pending` (outbox entries
  /// not yet sent: the relay's lag) and `pipeline_dead_letters{subscription=...}` (dead
  /// letters of each subscription made through `subscribe`). Must outlive the runtime.
  MetricsSink* metrics = nullptr;
  /// How often the backlog gauges are sampled (a Prometheus scrape interval is typical).
  Duration backlog_interval = std::chrono::seconds(15);

  /// **Errors:** `kInvalidArgument` for an empty name, a negative grace, no flush batch or
  /// a backlog interval that is not positive.
  [[nodiscard]] Status validate() const;
};

/// What a service can say about itself, for liveness and readiness probes.
struct ServiceHealth {
  std::string name;
  bool stopping = false;                  ///< A stop was requested; no new deliveries are taken.
  bool draining = false;                  ///< `wait` is draining (waiting for handlers, flushing).
  std::optional<Error> store_error;       ///< The store's answer to a read, when it failed.
  std::optional<Error> transport_error;   ///< The transport's `ping`, when it failed.
  std::optional<std::size_t> outbox_pending;  ///< Relay lag: outbox entries not yet sent (unknown when the store failed).
  std::optional<Error> relay_error;       ///< The relay's last round, when it failed.
  std::size_t in_flight = 0;              ///< Deliveries being handled now.
  std::optional<Duration> oldest_in_flight;  ///< Age of the oldest of them, on the injected clock.
  std::map<std::string, Error> job_errors;   ///< Periodic jobs whose last run failed.

  /// Ready to take work: not stopping, store and transport reachable.
  [[nodiscard]] bool ready() const noexcept { return !stopping && !store_error && !transport_error; }
  /// `{"name", "ready", "stopping", "draining", "store", "transport", "outbox_pending", "relay",
  /// "in_flight", "oldest_in_flight_ms", "jobs"}`; errors as their text, `null` when fine.
  [[nodiscard]] nlohmann::json to_json() const;
};

/// What `ServiceRuntime::wait` did to drain the service.
struct DrainReport {
  std::size_t finished = 0;  ///< Deliveries in flight at the stop that finished within the grace.
  std::size_t nacked = 0;    ///< Deliveries still running when the grace ended, nacked.
  std::size_t refused = 0;   ///< Deliveries that arrived after the stop, nacked unhandled.
  std::size_t flushed = 0;   ///< Outbox entries the final flush published.
  /// Why the final flush stopped short; the entries stay in the outbox for the next relay.
  std::optional<Error> flush_error;
};

/// Runs one service process: attaches its handlers to the transport, runs an outbox relay
/// and periodic jobs (a tracker's `check_deadlines`, a coordinator's `recover`) on the
/// injected clock, answers health checks, and on a stop request drains in order: stop
/// taking deliveries (new ones are nacked unhandled, so another consumer takes them), let
/// the handlers in flight finish for `drain_grace` and nack the rest, stop the periodic
/// jobs, flush the outbox. `stop_on_signals` turns SIGTERM and SIGINT into a stop request;
/// a second signal exits the process at once (status 128 + signal).
///
/// A trigger reaches the transport right after the commit that decided it when its
/// decider wakes `relay()` (`CompletionTrackerOptions::relay`, `ProcessorOptions::relay`);
/// the relay's poll stays the safety net after a crash.
///
/// **Thread safety:** every member may be called from any thread; `request_stop` also from
/// a signal handler. Handlers run on the transport's threads, periodic jobs on the clock's
/// thread (`ManualClock::advance` in tests), never under a runtime lock.
/// **Performance:** a handler call costs one lock and a map insert and erase around it;
/// `health()` makes one store read, one `pending_outbox` and one transport ping.
/// With `ServiceRuntimeOptions::metrics`, the backlog job costs one `pending_outbox` and
/// one `dead_letters` listing per subscription every `backlog_interval`.
/// **Errors:** see each member. A handler still running when the grace ends is nacked and
/// `wait` returns; the destructor then waits for it (under systemd the unit's stop timeout,
/// or a second signal, ends a handler that never returns).
///
/// **Example:**
/// @snippet runtime_snippets_test.cpp service_runtime
/// @snippet phase_trackers/service_main.cpp service_runtime_signals
class ServiceRuntime {
 public:
  /// **Errors:** `kInvalidArgument` from `ServiceRuntimeOptions::validate` or, for `relay`,
  /// `OutboxRelayOptions::validate`; `kInternal` when the wake-up pipe cannot be made.
  static Result<std::unique_ptr<ServiceRuntime>> create(Clock& clock, StateStore& store, Transport& transport,
                                                        ServiceRuntimeOptions options = {});
  /// Requests a stop and drains when `wait` was not called; closes the subscriptions
  /// (waiting for handlers still running).
  ~ServiceRuntime();
  ServiceRuntime(const ServiceRuntime&) = delete;
  ServiceRuntime& operator=(const ServiceRuntime&) = delete;

  /// Attaches `handler` to the subscription (created if needed), counted as in flight
  /// while it runs. **Errors:** the transport's `subscribe` errors;
  /// `kFailedPrecondition` once a stop was requested.
  Status subscribe(const SubscribeParams& config, Handler handler);

  /// Runs `job` every `period` on the clock from `start` on (first after one period), until
  /// the stop. A failure is kept for `health()` until the job next succeeds.
  /// **Errors:** `kInvalidArgument` for a period that is not positive or a name used
  /// twice; `kFailedPrecondition` after `start`.
  Status every(std::string name, Duration period, std::function<Status()> job);

  /// The runtime's relay, to wake right after a commit that enqueued.
  [[nodiscard]] OutboxRelay& relay() noexcept { return *relay_; }

  /// Starts the relay and the periodic jobs. **Errors:** `kFailedPrecondition` when
  /// called twice or after a stop request.
  Status start();

  /// Asks `wait` to drain and return. Async-signal-safe; idempotent.
  void request_stop() noexcept;
  [[nodiscard]] bool stop_requested() const noexcept;

  /// Blocks until a stop is requested, drains as the class comment says and returns what
  /// it did. Call it once, from one thread (usually `main`'s).
  DrainReport wait();

  /// The service's health now (one store read, one outbox count, one transport ping).
  ServiceHealth health();

  /// Makes SIGTERM and SIGINT request a stop of `runtime`; a second one exits the process
  /// at once with status 128 + the signal. One runtime per process; `runtime` must
  /// outlive the process's handling of those signals. **Errors:** `kInternal` when
  /// `sigaction` fails.
  static Status stop_on_signals(ServiceRuntime& runtime);

 private:
  struct Job {
    std::string name;
    Duration period;
    std::function<Status()> run;
    TimerId timer = 0;
  };
  struct InFlight {
    DeliveryPtr delivery;
    TimePoint since;
  };

  ServiceRuntime(Clock& clock, StateStore& store, Transport& transport, ServiceRuntimeOptions options,
                 std::unique_ptr<OutboxRelay> relay, int wake_read, int wake_write);
  void handle(const Handler& handler, DeliveryPtr delivery);
  void arm(std::size_t job);
  void run_job(std::size_t job);
  /// The "backlog_metrics" job: one `pending_outbox` and one `dead_letters` per subscription.
  Status sample_backlog();

  Clock& clock_;
  StateStore& store_;
  Transport& transport_;
  ServiceRuntimeOptions options_;
  std::unique_ptr<OutboxRelay> relay_;
  int wake_read_;
  int wake_write_;
  std::atomic<bool> stop_{false};

  mutable std::mutex mu_;
  std::condition_variable changed_;
  std::vector<std::unique_ptr<Subscription>> subscriptions_;
  std::vector<std::string> subscription_names_;  // for the dead-letter gauges
  std::vector<Job> jobs_;
  std::map<std::uint64_t, InFlight> in_flight_;
  std::map<std::string, Error> job_errors_;
  std::uint64_t next_delivery_ = 0;
  int jobs_running_ = 0;
  bool started_ = false;
  bool draining_ = false;
  bool drained_ = false;
  bool grace_over_ = false;
  std::size_t refused_ = 0;
};

}  // namespace pipeline::inline v0

#ifdef PIPELINE_HEADER_ONLY
#include "pipeline/runtime/service_runtime-inl.hpp"
#endif
