// ServiceRuntime: draining on a stop request, periodic jobs, health, the relay woken right
// after a deciding commit, and SIGTERM/SIGINT in a real child process.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <string>
#include <mutex>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "child_process.hpp"
#include "pipeline/core/manual_clock.hpp"
#include "pipeline/memory/memory_state_store.hpp"
#include "pipeline/memory/metrics_registry.hpp"
#include "pipeline/memory/memory_transport.hpp"
#include "pipeline/mocks/failing_state_store.hpp"
#include "pipeline/mocks/failing_transport.hpp"
#include "pipeline/orchestrate/completion_tracker.hpp"
#include "pipeline/runtime/service_runtime.hpp"
#include "spin_until.hpp"
#include "temp_dir.hpp"

namespace pipeline::service_runtime_test {

using std::chrono::seconds;

// Counts and acks what reaches a topic.
struct Watch {
  std::atomic<int> seen{0};
  std::vector<std::string> ids;
  std::mutex mu;
  Handler handler() {
    return [this](DeliveryPtr d) {
      {
        std::lock_guard lock(mu);
        ids.push_back(d->id());
      }
      (void)d->ack();
      ++seen;
    };
  }
};

// The collaborators of one runtime on the memory implementations, two delivery threads.
struct Fixture {
  ManualClock clock;
  MemoryStateStore store = MemoryStateStore::create().value();
  std::unique_ptr<MemoryTransport> transport = MemoryTransport::create(clock).value();
  std::unique_ptr<ServiceRuntime> runtime;
  explicit Fixture(ServiceRuntimeOptions options = {}) {
    EXPECT_TRUE(transport->start(2));
    auto r = ServiceRuntime::create(clock, store, *transport, std::move(options));
    EXPECT_TRUE(r) << r.error().to_string();
    runtime = std::move(*r);
  }
  ~Fixture() {
    runtime.reset();
    transport->stop();
  }
};

ServiceRuntimeOptions named(std::string name) {
  ServiceRuntimeOptions o;
  o.name = std::move(name);
  return o;
}

// Redelivery far beyond the drain grace (10 s), so moving time through the grace never
// redelivers.
SubscriptionSettings slow_redelivery() {
  SubscriptionSettings s;
  s.ack_deadline = std::chrono::hours(1);
  s.min_backoff = std::chrono::hours(1);
  s.max_backoff = std::chrono::hours(2);
  return s;
}

TEST(ServiceRuntime, StopLetsTheHandlerInFlightFinishThenFlushesWhatItCommitted) {
  Fixture f;
  std::atomic<bool> release{false};
  ASSERT_TRUE(f.runtime->subscribe({"svc-sub", "in-topic", slow_redelivery()}, [&](DeliveryPtr d) {
    EXPECT_TRUE(pipeline_test::spin_until([&] { return release.load(); }));
    ASSERT_TRUE(f.store.transact([](Transaction& tx) {
      return tx.enqueue({"out-topic", {"out-1", "{}", {}}}).map([](bool) {});
    }));
    EXPECT_TRUE(d->ack());
  }));
  Watch out;
  auto watch = f.transport->subscribe({"watch-sub", "out-topic", {}}, out.handler());
  ASSERT_TRUE(watch);
  ASSERT_TRUE(f.runtime->start());
  ASSERT_TRUE(f.transport->publish("in-topic", {"in-1", "{}", {}}));
  ASSERT_TRUE(pipeline_test::spin_until([&] { return f.runtime->health().in_flight == 1; }));

  DrainReport report;
  std::thread waiter([&] { report = f.runtime->wait(); });
  f.runtime->request_stop();
  EXPECT_TRUE(f.runtime->health().stopping);
  EXPECT_FALSE(f.runtime->health().ready());
  // Released only once the drain waits for it.
  ASSERT_TRUE(pipeline_test::spin_until([&] { return f.runtime->health().draining; }));
  release = true;
  waiter.join();

  EXPECT_EQ(report.finished, 1u);
  EXPECT_EQ(report.nacked, 0u);
  EXPECT_FALSE(report.flush_error);
  EXPECT_EQ(f.store.pending_outbox().value(), 0u) << "the stop flushed the outbox";
  f.transport->wait_until_idle();
  EXPECT_EQ(out.seen.load(), 1);
}

TEST(ServiceRuntime, HandlerStillRunningWhenTheGraceEndsIsNackedAndRedelivered) {
  ServiceRuntimeOptions options;
  options.drain_grace = seconds(10);
  Fixture f(options);
  std::atomic<bool> release{false};
  std::atomic<int> first_attempt_ack_failed{0};
  ASSERT_TRUE(f.runtime->subscribe({"svc-sub", "in-topic", slow_redelivery()}, [&](DeliveryPtr d) {
    EXPECT_TRUE(pipeline_test::spin_until([&] { return release.load(); }));
    if (!d->ack()) ++first_attempt_ack_failed;  // the drain nacked it: its lease is gone
  }));
  ASSERT_TRUE(f.runtime->start());
  ASSERT_TRUE(f.transport->publish("in-topic", {"in-1", "{}", {}}));
  ASSERT_TRUE(pipeline_test::spin_until([&] { return f.runtime->health().in_flight == 1; }));

  std::atomic<bool> done{false};
  DrainReport report;
  std::thread waiter([&] {
    report = f.runtime->wait();
    done = true;
  });
  f.runtime->request_stop();
  ASSERT_TRUE(pipeline_test::spin_until([&] { return f.runtime->health().draining; }));
  f.clock.advance(seconds(9));
  EXPECT_FALSE(done.load());
  // Only simulated time ends the grace: the handler is still blocked.
  f.clock.advance(seconds(1));
  EXPECT_TRUE(pipeline_test::spin_until([&] { return done.load(); }));
  waiter.join();
  EXPECT_EQ(report.finished, 0u);
  EXPECT_EQ(report.nacked, 1u);
  release = true;
  EXPECT_TRUE(pipeline_test::spin_until([&] { return first_attempt_ack_failed.load() == 1; }));
  f.runtime.reset();  // the process ends: its handler leaves the subscription

  // Another consumer of the subscription gets it after the nack's backoff, attempt 2.
  std::atomic<int> attempt{0};
  auto other = f.transport->subscribe({"svc-sub", "in-topic", slow_redelivery()}, [&](DeliveryPtr d) {
    attempt = d->attempt();
    (void)d->ack();
  });
  ASSERT_TRUE(other) << other.error().to_string();
  f.clock.advance(std::chrono::hours(3));  // past the nack's backoff (1 h)
  EXPECT_TRUE(pipeline_test::spin_until([&] { return attempt.load() != 0; }));
  EXPECT_EQ(attempt.load(), 2);
}

TEST(ServiceRuntime, DeliveriesAfterTheStopAreNackedUnhandled) {
  Fixture f;
  std::atomic<int> handled{0};
  ASSERT_TRUE(f.runtime->subscribe({"svc-sub", "in-topic", slow_redelivery()}, [&](DeliveryPtr d) {
    ++handled;
    (void)d->ack();
  }));
  ASSERT_TRUE(f.runtime->start());
  f.runtime->request_stop();
  ASSERT_TRUE(f.transport->publish("in-topic", {"in-1", "{}", {}}));
  f.transport->wait_until_idle();
  const DrainReport report = f.runtime->wait();
  EXPECT_EQ(handled.load(), 0);
  EXPECT_EQ(report.refused, 1u);
  EXPECT_FALSE(f.runtime->subscribe({"late-sub", "in-topic", {}}, [](DeliveryPtr) {}));
}

TEST(ServiceRuntime, PeriodicJobRunsEveryPeriodAndItsFailureShowsInHealthUntilItSucceeds) {
  Fixture f;
  int runs = 0;
  ASSERT_TRUE(f.runtime->every("deadlines", seconds(60), [&]() -> Status {
    ++runs;
    if (runs == 1) return fail(ErrorCode::kUnavailable, "store down");
    return ok();
  }));
  EXPECT_FALSE(f.runtime->every("deadlines", seconds(60), [] { return ok(); })) << "names are unique";
  EXPECT_FALSE(f.runtime->every("zero", seconds(0), [] { return ok(); }));
  ASSERT_TRUE(f.runtime->start());
  EXPECT_FALSE(f.runtime->every("late", seconds(1), [] { return ok(); })) << "jobs are added before start";

  f.clock.advance(seconds(59));
  EXPECT_EQ(runs, 0);
  f.clock.advance(seconds(1));
  EXPECT_EQ(runs, 1);
  auto h = f.runtime->health();
  ASSERT_EQ(h.job_errors.count("deadlines"), 1u);
  EXPECT_EQ(h.job_errors.at("deadlines").code, ErrorCode::kUnavailable);
  EXPECT_EQ(h.to_json()["jobs"]["deadlines"].get<std::string>().find("store down") != std::string::npos, true);
  f.clock.advance(seconds(60));
  EXPECT_EQ(runs, 2);
  EXPECT_TRUE(f.runtime->health().job_errors.empty());

  f.runtime->request_stop();
  (void)f.runtime->wait();
  f.clock.advance(seconds(600));
  EXPECT_EQ(runs, 2) << "no run after the stop";
}

TEST(ServiceRuntime, SamplesTheOutboxBacklogAndEachSubscriptionsDeadLettersIntoGauges) {
  MetricsRegistry metrics = MetricsRegistry::create().value();
  ServiceRuntimeOptions options = named("metered");
  options.metrics = &metrics;
  options.relay.poll_interval = std::chrono::hours(1);  // the relay only moves on a notify here
  Fixture f(options);
  ASSERT_TRUE(f.runtime->subscribe({"metered-sub", "metered-topic", {}},
                                   [](DeliveryPtr d) { (void)d->reject("never valid"); }));
  ASSERT_TRUE(f.runtime->start());
  const Labels sub{{"subscription", "metered-sub"}};
  // Sampled at the start already: the series exist before the first period ends.
  EXPECT_EQ(metrics.gauge_value("pipeline_outbox_pending"), 0.0);
  EXPECT_EQ(metrics.gauge_value("pipeline_dead_letters", sub), 0.0);

  ASSERT_TRUE(pipeline_test::spin_until([&] { return f.runtime->relay().rounds() >= 1; }));  // its first round
  ASSERT_TRUE(f.transport->publish("metered-topic", {"m-1", "{}", {}}));
  ASSERT_TRUE(pipeline_test::spin_until([&] {
    auto dead = f.transport->dead_letters("metered-sub");
    return dead && dead->size() == 1;
  }));
  ASSERT_TRUE(f.store.transact([](Transaction& tx) -> Status {
    auto e = tx.enqueue({"elsewhere", {"o-1", "{}", {}}});
    if (!e) return fail(e.error());
    return ok();
  }));
  f.clock.advance(seconds(14));
  EXPECT_EQ(metrics.gauge_value("pipeline_dead_letters", sub), 0.0) << "sampled every 15 s, not on each change";
  f.clock.advance(seconds(1));
  EXPECT_EQ(metrics.gauge_value("pipeline_outbox_pending"), 1.0);
  EXPECT_EQ(metrics.gauge_value("pipeline_dead_letters", sub), 1.0);
  EXPECT_TRUE(f.runtime->health().job_errors.empty());
}

TEST(ServiceRuntime, HealthReportsAnUnreachableStoreAndTransport) {
  ManualClock clock;
  MemoryStateStore real_store = MemoryStateStore::create().value();
  auto real_transport = MemoryTransport::create(clock).value();
  mocks::FailingStateStore store(real_store);
  mocks::FailingTransport transport(*real_transport);
  auto runtime = ServiceRuntime::create(clock, store, transport, named("phase3"));
  ASSERT_TRUE(runtime);
  auto h = (*runtime)->health();
  EXPECT_TRUE(h.ready());
  EXPECT_EQ(h.outbox_pending, std::optional<std::size_t>(0));

  store.fail_transact(ErrorCode::kUnavailable);
  transport.set_down(true);
  h = (*runtime)->health();
  EXPECT_FALSE(h.ready());
  ASSERT_TRUE(h.store_error);
  EXPECT_EQ(h.store_error->code, ErrorCode::kUnavailable);
  ASSERT_TRUE(h.transport_error);
  const auto json = h.to_json();
  EXPECT_EQ(json["name"], "phase3");
  EXPECT_EQ(json["ready"], false);
  EXPECT_TRUE(json["store"].is_string());
  EXPECT_TRUE(json["transport"].is_string());

  store.heal();
  transport.set_down(false);
  EXPECT_TRUE((*runtime)->health().ready());
}

TEST(ServiceRuntime, OptionsAreValidated) {
  ManualClock clock;
  MemoryStateStore store = MemoryStateStore::create().value();
  auto transport = MemoryTransport::create(clock).value();
  EXPECT_FALSE(ServiceRuntime::create(clock, store, *transport, named("")));
  ServiceRuntimeOptions negative;
  negative.drain_grace = seconds(-1);
  EXPECT_FALSE(ServiceRuntime::create(clock, store, *transport, negative));
  ServiceRuntimeOptions never;
  never.backlog_interval = seconds(0);
  EXPECT_FALSE(ServiceRuntime::create(clock, store, *transport, never));
}

TEST(ServiceRuntime, ItsRelaysOptionsAreValidatedToo) {
  ManualClock clock;
  MemoryStateStore store = MemoryStateStore::create().value();
  auto transport = MemoryTransport::create(clock).value();
  ServiceRuntimeOptions no_batch = named("phase3");
  no_batch.relay.batch_size = 0;
  auto r = ServiceRuntime::create(clock, store, *transport, no_batch);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(r.error().message, "OutboxRelayOptions::batch_size must be at least 1");
}

// The tracker wakes the runtime's relay after the commit that decided: the trigger is
// published with no clock movement (the relay's poll would need the clock to move).
TEST(ServiceRuntime, TrackerTriggerIsPublishedRightAfterTheDecidingCommit) {
  Fixture f;
  ASSERT_TRUE(f.runtime->start());
  ASSERT_TRUE(pipeline_test::spin_until([&] { return f.runtime->relay().rounds() >= 1; })) << "the relay's first round";
  CompletionTrackerOptions config;
  config.name = "phase3";
  config.upstream_phase = "phase2_raw";
  config.downstream_phase = "phase3_analytics";
  config.expected = {"a", "b"};
  config.trigger_topic = "test-phase3-trigger";
  config.relay = &f.runtime->relay();
  ASSERT_TRUE(config.registry.add_processor("a", "p2"));
  ASSERT_TRUE(config.registry.add_processor("b", "p2"));
  ASSERT_TRUE(config.registry.add_processor("x", "p3"));
  ASSERT_TRUE(config.registry.add_trigger("a", {"x"}));
  ASSERT_TRUE(config.registry.add_trigger("b", {"x"}));
  auto tracker = CompletionTracker::create(f.clock, f.store, config);
  ASSERT_TRUE(tracker) << tracker.error().to_string();
  Watch out;
  auto watch = f.transport->subscribe({"watch-sub", config.trigger_topic, {}}, out.handler());
  ASSERT_TRUE(watch);
  for (const char* p : {"a", "b"}) {
    Message m;
    m.processor_name = p;
    m.phase = "phase2_raw";
    m.execution_id = std::string("exec-") + p;
    m.partition_date = *CalendarDate::parse("2025-11-18");
    ASSERT_TRUE((*tracker)->record_completion(m));
  }
  EXPECT_TRUE(pipeline_test::spin_until([&] { return out.seen.load() == 1; }));
  std::lock_guard lock(out.mu);
  EXPECT_EQ(out.ids, std::vector<std::string>{"phase3/2025-11-18/w0"});
}

// ---- signals, in a child process --------------------------------------------------------

// The child: one runtime whose handler records each delivery in `log` and, when `stuck`,
// never returns. It logs "started", "handling", "stopping" and "drained <nacked>", then exits 0.
[[noreturn]] void run_child(const std::string& log, bool stuck) {
  using pipeline::testing::append_line;
  // Only the main thread takes the signals: every thread started below inherits this mask,
  // and the main thread unblocks them before it reports "started". Under TSan a signal is
  // handled when its thread next enters an intercepted call, so one that lands on a thread
  // spinning on atomics (the reporter below) could wait for ever.
  sigset_t stop_signals;
  ::sigemptyset(&stop_signals);
  ::sigaddset(&stop_signals, SIGTERM);
  ::sigaddset(&stop_signals, SIGINT);
  if (::pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr) != 0) ::_exit(6);
  ManualClock clock;
  MemoryStateStore store = MemoryStateStore::create().value();
  auto transport = MemoryTransport::create(clock).value();
  if (!transport->start(1)) ::_exit(3);
  auto runtime = ServiceRuntime::create(clock, store, *transport, named("child"));
  if (!runtime) ::_exit(4);
  auto& rt = **runtime;
  (void)rt.subscribe({"svc-sub", "in-topic", slow_redelivery()}, [&](DeliveryPtr d) {
    append_line(log, "handling");
    if (stuck)
      for (;;) ::pause();
    (void)d->ack();
  });
  if (!ServiceRuntime::stop_on_signals(rt) || !rt.start()) ::_exit(5);
  // Detached: the second signal ends the process with it unjoined.
  std::atomic<bool> reported{false};
  std::thread([&] {
    while (!rt.stop_requested()) std::this_thread::yield();
    append_line(log, "stopping");
    reported = true;
  }).detach();
  (void)transport->publish("in-topic", {"in-1", "{}", {}});
  if (::pthread_sigmask(SIG_UNBLOCK, &stop_signals, nullptr) != 0) ::_exit(7);
  append_line(log, "started");
  const DrainReport report = rt.wait();
  while (!reported) std::this_thread::yield();
  append_line(log, "drained " + std::to_string(report.nacked));
  ::_exit(0);
}

bool logged(const std::string& log, const std::string& line) {
  return pipeline_test::spin_until(
      [&] {
        for (const auto& l : pipeline::testing::read_lines(log))
          if (l == line) return true;
        return false;
      },
      std::chrono::seconds(60));
}

TEST(ServiceRuntimeSignals, SigtermDrainsAndExitsZero) {
  pipeline::testing::TempDir dir;
  const std::string log = dir.file("child.log");
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) run_child(log, false);
  ASSERT_TRUE(logged(log, "handling"));
  ASSERT_TRUE(logged(log, "started"));
  ::kill(pid, SIGTERM);
  auto status = pipeline::testing::wait_child(pid);
  ASSERT_TRUE(status) << "the child hung after SIGTERM";
  EXPECT_TRUE(pipeline::testing::exited_cleanly(*status)) << pipeline::testing::describe_status(*status);
  EXPECT_TRUE(logged(log, "drained 0"));
}

TEST(ServiceRuntimeSignals, SecondSignalExitsAtOnceWhileAHandlerIsStuck) {
  pipeline::testing::TempDir dir;
  const std::string log = dir.file("child.log");
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) run_child(log, true);
  ASSERT_TRUE(logged(log, "handling"));
  ::kill(pid, SIGINT);
  ASSERT_TRUE(logged(log, "stopping"));
  // The grace runs on a clock nobody moves: only the second signal can end the child.
  ::kill(pid, SIGTERM);
  auto status = pipeline::testing::wait_child(pid);
  ASSERT_TRUE(status) << "the child ignored the second signal";
  ASSERT_TRUE(WIFEXITED(*status)) << pipeline::testing::describe_status(*status);
  EXPECT_EQ(WEXITSTATUS(*status), 128 + SIGTERM);
}

}  // namespace pipeline::service_runtime_test
