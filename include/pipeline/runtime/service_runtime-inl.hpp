#pragma once
/// @file
/// Bodies of pipeline/runtime/service_runtime.hpp (see pipeline/core/config.hpp).

#include "pipeline/core/best_effort_settle.hpp"
#include "pipeline/runtime/service_runtime.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <exception>
#include <utility>

#include <nlohmann/json.hpp>

namespace pipeline::inline v0 {

PIPELINE_INLINE Status ServiceRuntimeOptions::validate() const {
  if (name.empty()) return fail(ErrorCode::kInvalidArgument, "a service runtime needs a name");
  if (drain_grace < Duration::zero())
    return fail(ErrorCode::kInvalidArgument, "drain_grace of service '{}' must not be negative", name);
  if (flush_batches == 0)
    return fail(ErrorCode::kInvalidArgument, "flush_batches of service '{}' must be at least 1", name);
  if (backlog_interval <= Duration::zero())
    return fail(ErrorCode::kInvalidArgument, "backlog_interval of service '{}' must be positive", name);
  return ok();
}

PIPELINE_INLINE nlohmann::json ServiceHealth::to_json() const {
  auto text = [](const std::optional<Error>& e) { return e ? nlohmann::json(e->to_string()) : nlohmann::json(); };
  nlohmann::json jobs = nlohmann::json::object();
  for (const auto& [job, error] : job_errors) jobs[job] = error.to_string();
  return {
      {"name", name},
      {"ready", ready()},
      {"stopping", stopping},
      {"draining", draining},
      {"store", text(store_error)},
      {"transport", text(transport_error)},
      {"outbox_pending", outbox_pending ? nlohmann::json(*outbox_pending) : nlohmann::json()},
      {"relay", text(relay_error)},
      {"in_flight", in_flight},
      {"oldest_in_flight_ms",
       oldest_in_flight
           ? nlohmann::json(std::chrono::duration_cast<std::chrono::milliseconds>(*oldest_in_flight).count())
           : nlohmann::json()},
      {"jobs", jobs},
  };
}

PIPELINE_INLINE Result<std::unique_ptr<ServiceRuntime>> ServiceRuntime::create(Clock& clock, StateStore& store,
                                                                              Transport& transport,
                                                                              ServiceRuntimeOptions options) {
  PIPELINE_TRY(options.validate());
  auto relay = OutboxRelay::create(clock, store, transport, options.relay);
  if (!relay) return fail(relay.error().with("service", options.name));
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0)
    return fail(ErrorCode::kInternal, "service '{}': cannot make its wake-up pipe: {}", options.name,
                std::strerror(errno));
  return std::unique_ptr<ServiceRuntime>(
      new ServiceRuntime(clock, store, transport, std::move(options), std::move(*relay), fds[0], fds[1]));
}

PIPELINE_INLINE ServiceRuntime::ServiceRuntime(Clock& clock, StateStore& store, Transport& transport,
                                               ServiceRuntimeOptions options, std::unique_ptr<OutboxRelay> relay,
                                               int wake_read, int wake_write)
    : clock_(clock),
      store_(store),
      transport_(transport),
      options_(std::move(options)),
      relay_(std::move(relay)),
      wake_read_(wake_read),
      wake_write_(wake_write) {}

PIPELINE_INLINE ServiceRuntime::~ServiceRuntime() {
  bool drained;
  {
    std::lock_guard lock(mu_);
    drained = drained_;
  }
  if (!drained) {
    request_stop();
    (void)wait();  // the report has no reader here; the drain itself is what matters
  }
  relay_->stop();
  // Before the members a running handler touches (in_flight_, mu_) are destroyed.
  std::vector<std::unique_ptr<Subscription>> subs;
  {
    std::lock_guard lock(mu_);
    subs = std::move(subscriptions_);
  }
  for (auto& s : subs) s->close();
  ::close(wake_read_);
  ::close(wake_write_);
}

PIPELINE_INLINE Status ServiceRuntime::subscribe(const SubscribeParams& config, Handler handler) {
  if (stop_requested())
    return fail(ErrorCode::kFailedPrecondition, "service '{}' is stopping: no new subscription", options_.name);
  auto sub = transport_.subscribe(config, [this, handler = std::move(handler)](DeliveryPtr d) {
    handle(handler, std::move(d));
  });
  if (!sub) return fail(sub.error());
  std::lock_guard lock(mu_);
  subscriptions_.push_back(std::move(*sub));
  subscription_names_.push_back(config.name);
  return ok();
}

PIPELINE_INLINE void ServiceRuntime::handle(const Handler& handler, DeliveryPtr delivery) {
  std::uint64_t id = 0;
  {
    std::lock_guard lock(mu_);
    if (!stop_requested()) {
      id = ++next_delivery_;
      in_flight_.emplace(id, InFlight{delivery, clock_.now()});
    } else {
      ++refused_;
    }
  }
  if (id == 0) {
    best_effort_nack(*delivery, "service stopping: delivery not taken");  // another consumer takes it
    return;
  }
  // The transport turns a throw into a nack; the bookkeeping must end either way.
  struct Done {
    ServiceRuntime& rt;
    std::uint64_t id;
    ~Done() {
      {
        std::lock_guard lock(rt.mu_);
        rt.in_flight_.erase(id);
      }
      rt.changed_.notify_all();
    }
  } done{*this, id};
  handler(std::move(delivery));
}

PIPELINE_INLINE Status ServiceRuntime::every(std::string name, Duration period, std::function<Status()> job) {
  if (period <= Duration::zero())
    return fail(ErrorCode::kInvalidArgument, "periodic job '{}' of service '{}' needs a positive period", name,
                options_.name);
  std::lock_guard lock(mu_);
  if (started_)
    return fail(ErrorCode::kFailedPrecondition, "service '{}' already started: add job '{}' before start", options_.name,
                name);
  for (const auto& j : jobs_)
    if (j.name == name)
      return fail(ErrorCode::kInvalidArgument, "service '{}' already has a periodic job '{}'", options_.name, name);
  jobs_.push_back(Job{std::move(name), period, std::move(job), 0});
  return ok();
}

PIPELINE_INLINE Status ServiceRuntime::start() {
  {
    std::lock_guard lock(mu_);
    if (started_ || stop_requested())
      return fail(ErrorCode::kFailedPrecondition, "service '{}' was already started or stopped", options_.name);
    started_ = true;
    if (options_.metrics != nullptr)
      jobs_.push_back(Job{"backlog_metrics", options_.backlog_interval, [this] { return sample_backlog(); }, 0});
    for (std::size_t i = 0; i < jobs_.size(); ++i) arm(i);
  }
  // Sampled once now too, so the gauges exist before the first period ends.
  if (options_.metrics != nullptr)
    if (auto st = sample_backlog(); !st) {
      std::lock_guard lock(mu_);
      job_errors_.insert_or_assign("backlog_metrics", st.error());
    }
  relay_->start();
  return ok();
}

// Called with mu_ held.
PIPELINE_INLINE void ServiceRuntime::arm(std::size_t job) {
  jobs_[job].timer = clock_.schedule_after(jobs_[job].period, [this, job] { run_job(job); });
}

PIPELINE_INLINE void ServiceRuntime::run_job(std::size_t job) {
  std::function<Status()> fn;
  std::string name;
  {
    std::lock_guard lock(mu_);
    if (stop_requested()) return;
    fn = jobs_[job].run;
    name = jobs_[job].name;
    ++jobs_running_;
  }
  Status st = ok();
  try {
    st = fn();
  } catch (const std::exception& e) {
    st = fail(ErrorCode::kInternal, "periodic job '{}' threw: {}", name, e.what());
  } catch (...) {
    st = fail(ErrorCode::kInternal, "periodic job '{}' threw", name);
  }
  {
    std::lock_guard lock(mu_);
    --jobs_running_;
    if (st) job_errors_.erase(name);
    else job_errors_.insert_or_assign(name, st.error());
    if (!stop_requested()) arm(job);
  }
  changed_.notify_all();
}

PIPELINE_INLINE Status ServiceRuntime::sample_backlog() {
  MetricsSink& metrics = *options_.metrics;
  // Asked each time rather than kept: the sink returns the same series, and this runs
  // once per interval.
  auto pending = store_.pending_outbox();
  if (!pending) return fail(pending.error());
  metrics.gauge("pipeline_outbox_pending", "Outbox entries committed but not yet sent (the relay's lag)")
      ->set(static_cast<double>(*pending));
  std::vector<std::string> names;
  {
    std::lock_guard lock(mu_);
    names = subscription_names_;
  }
  for (const auto& name : names) {
    auto dead = transport_.dead_letters(name);
    if (!dead) return fail(dead.error());
    metrics.gauge("pipeline_dead_letters", "Dead letters waiting in a subscription's dead-letter queue",
                  {{"subscription", name}})
        ->set(static_cast<double>(dead->size()));
  }
  return ok();
}

PIPELINE_INLINE void ServiceRuntime::request_stop() noexcept {
  stop_.store(true);
  const char byte = 's';
  [[maybe_unused]] const auto n = ::write(wake_write_, &byte, 1);  // a full pipe already wakes `wait`
}

PIPELINE_INLINE bool ServiceRuntime::stop_requested() const noexcept { return stop_.load(); }

PIPELINE_INLINE DrainReport ServiceRuntime::wait() {
  while (!stop_requested()) {
    pollfd p{wake_read_, POLLIN, 0};
    ::poll(&p, 1, -1);
    char buf[64];
    while (::read(wake_read_, buf, sizeof buf) > 0) {
    }
  }
  DrainReport report;
  std::unique_lock lock(mu_);
  if (drained_ || draining_) return report;
  const std::size_t at_stop = in_flight_.size();
  // Periodic jobs: no new run; wait for a running one.
  for (auto& j : jobs_) clock_.cancel(j.timer);
  changed_.wait(lock, [&] { return jobs_running_ == 0; });
  // Handlers in flight: until they finish or the grace ends, on the injected clock.
  grace_over_ = false;
  lock.unlock();
  const TimerId grace = clock_.schedule_after(options_.drain_grace, [this] {
    {
      std::lock_guard l(mu_);
      grace_over_ = true;
    }
    changed_.notify_all();
  });
  lock.lock();
  draining_ = true;  // visible once the grace runs
  changed_.wait(lock, [&] { return in_flight_.empty() || grace_over_; });
  std::vector<DeliveryPtr> late;
  for (auto& [id, f] : in_flight_) late.push_back(f.delivery);
  report.finished = at_stop - std::min(at_stop, late.size());
  report.nacked = late.size();
  report.refused = refused_;
  drained_ = true;
  std::vector<std::unique_ptr<Subscription>> subs;
  if (late.empty()) subs = std::move(subscriptions_);
  lock.unlock();
  clock_.cancel(grace);
  for (auto& d : late) best_effort_nack(*d, "service stopping: not finished within the drain grace");  // redelivered
  // close() waits for running handlers, so it is called here only when none is stuck; else
  // the destructor closes the subscriptions (and waits for the stuck handler).
  for (auto& s : subs) s->close();
  // The outbox: what the handlers committed goes out now rather than from the next process.
  relay_->stop();
  auto flushed = relay_->drain(options_.flush_batches);
  if (flushed) report.flushed = *flushed;
  else report.flush_error = flushed.error();
  return report;
}

PIPELINE_INLINE ServiceHealth ServiceRuntime::health() {
  ServiceHealth h;
  h.name = options_.name;
  h.stopping = stop_requested();
  auto read = store_.read([](Transaction& tx) { return tx.get("runtime/health"); });
  if (!read) h.store_error = read.error();
  auto pending = store_.pending_outbox();
  if (pending) h.outbox_pending = *pending;
  else if (!h.store_error) h.store_error = pending.error();
  if (auto pinged = transport_.ping(); !pinged) h.transport_error = pinged.error();
  h.relay_error = relay_->last_error();
  const TimePoint now = clock_.now();
  std::lock_guard lock(mu_);
  h.draining = draining_ && !drained_;
  h.in_flight = in_flight_.size();
  for (const auto& [id, f] : in_flight_)
    if (!h.oldest_in_flight || now - f.since > *h.oldest_in_flight) h.oldest_in_flight = now - f.since;
  h.job_errors = job_errors_;
  return h;
}

namespace internal {
inline std::atomic<ServiceRuntime*>& signalled_runtime() {
  static std::atomic<ServiceRuntime*> runtime{nullptr};
  return runtime;
}
inline std::atomic<int>& stop_signals_seen() {
  static std::atomic<int> seen{0};
  return seen;
}
}  // namespace internal

PIPELINE_INLINE Status ServiceRuntime::stop_on_signals(ServiceRuntime& runtime) {
  // Touch both statics here, outside the handler, so it never runs their initialization.
  internal::stop_signals_seen().store(0);
  internal::signalled_runtime().store(&runtime);
  struct sigaction sa {};
  sa.sa_handler = [](int sig) {
    if (internal::stop_signals_seen().fetch_add(1) > 0) ::_exit(128 + sig);
    if (ServiceRuntime* r = internal::signalled_runtime().load()) r->request_stop();
  };
  ::sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  for (int sig : {SIGTERM, SIGINT})
    if (::sigaction(sig, &sa, nullptr) != 0)
      return fail(ErrorCode::kInternal, "cannot handle signal {}: {}", sig, std::strerror(errno));
  return ok();
}

}  // namespace pipeline::inline v0
