// Fan-in across processes: the deployed shape of a tracker, measured the way the BullMQ
// peer (bench/compare_bullmq.sh) measures its FlowProducer fan-in.
//
// BM_FanInLatency_RedisPostgres: 21 publisher processes (one per expected processor of
//   the NBA Phase 2->3 tracker), each with its own RedisTransport, publish their
//   completion of a date; a tracker process (PostgresStateStore, synchronous_commit on;
//   CompletionTracker fed by subscribe_tracker over RedisTransport; an OutboxRelay woken
//   by the tracker right after the deciding commit) decides the trigger; a consumer
//   process subscribed to the trigger topic receives it. All on one host; timestamps are
//   steady_clock (CLOCK_MONOTONIC, comparable across processes) kept in shared memory.
//   - p50_us, p99_us: per date, run one date at a time (the peer's SEQ flows): from the
//     moment the last of the 21 publishers starts its publish to the trigger reaching the
//     consumer's handler. The reported time per iteration is that latency.
//   - completions_per_s (also items_per_second): kPar dates in flight at once (the peer's
//     PAR flows): 21 * kPar completions over the time from the first publish to the last
//     trigger delivered.
//   Arguments: the tracker's handler threads and its subscription's max_batch (the
//   deliveries one tracker transaction records at most; 1: a transaction each).
//   The counters after p99_us break the time down per stage and per statement.
#include <benchmark/benchmark.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "bench/bench_support.hpp"
#include "examples/nba_synthetic/nba_preset.hpp"
#include "pipeline/core/best_effort_settle.hpp"
#include "pipeline/core/message_codec.hpp"
#include "pipeline/core/system_clock.hpp"
#include "pipeline/orchestrate/completion_tracker.hpp"
#include "pipeline/orchestrate/outbox_relay.hpp"
#include "pipeline/orchestrate/tracker_subscription.hpp"

#if defined(PIPELINE_BENCH_HAVE_POSTGRES) && defined(PIPELINE_BENCH_HAVE_REDIS)
#include "pipeline/redis/redis_transport.hpp"

namespace {

constexpr int kWarm = 20;     // dates decided before timing (the peer warms with 20 flows)
constexpr int kSeq = 200;     // dates timed one at a time (the peer's SEQ)
constexpr int kPar = 200;     // dates in flight at once (the peer's PAR)
constexpr int kMaxDays = kWarm + kSeq + kPar;
constexpr int kMaxProcessors = 32;
constexpr const char* kCompletionTopic = "bench-phase2-complete";

using SteadyClock = std::chrono::steady_clock;
std::int64_t now_ns() { return SteadyClock::now().time_since_epoch().count(); }

// Shared between the bench process and its children (MAP_SHARED before fork).
struct Shared {
  std::atomic<std::int64_t> publish_ns[kMaxDays][kMaxProcessors];  // when each publish started
  std::atomic<std::int64_t> delivered_ns[kMaxDays];                // first trigger delivery per date
  // Stages inside the tracker process, for the per-stage breakdown:
  std::atomic<std::int64_t> reached_tracker_ns[kMaxDays];  // the last completion's handler call began
  std::atomic<std::int64_t> relay_publish_ns[kMaxDays];    // the relay began publishing the trigger
  // Where the tracker process spends its time (totals over the whole run, ns and counts):
  std::atomic<std::int64_t> tx_count, tx_ns;          // tracker transactions, start to committed
  std::atomic<std::int64_t> op_count, op_ns;          // statements inside them (one round trip each)
  std::atomic<std::int64_t> recorded;                 // completions recorded in them (last run of a body)
  std::atomic<std::int64_t> ack_count, ack_ns;        // delivery settlements (one Redis round trip each)
  std::atomic<std::int64_t> outbox_count, outbox_ns;  // the relay's claim and mark calls
  std::atomic<int> failures;
};

pipeline::CompletionTrackerOptions phase3_config() { return nba::tracker_presets().front(); }
const pipeline::CalendarDate& first_date() {
  static const auto d = *pipeline::CalendarDate::parse("2020-01-01");
  return d;
}

using bench_support::redis_uri;

bool write_all(int fd, const void* p, std::size_t n) {
  const char* c = static_cast<const char*>(p);
  while (n > 0) {
    const ssize_t w = ::write(fd, c, n);
    if (w <= 0) return false;
    c += w;
    n -= static_cast<std::size_t>(w);
  }
  return true;
}
bool read_all(int fd, void* p, std::size_t n) {
  char* c = static_cast<char*>(p);
  while (n > 0) {
    const ssize_t r = ::read(fd, c, n);
    if (r <= 0) return false;
    c += r;
    n -= static_cast<std::size_t>(r);
  }
  return true;
}

// One child process; `body` returns its exit status. The child reports "ready" by writing
// one byte to `ready_fd` itself.
template <class Body>
pid_t spawn(Body body) {
  const pid_t pid = ::fork();
  if (pid == 0) ::_exit(body());
  return pid;
}

// A processor: publishes its completion of each date it is told ({first day, count}).
int publisher_main(Shared& shared, const pipeline::CompletionTrackerOptions& config, int index,
                   const std::string& prefix, int commands, int ready) {
  pipeline::SystemClock clock;
  pipeline::RedisTransportOptions o;
  o.key_prefix = prefix;
  o.pool_size = 1;
  auto transport = pipeline::RedisTransport::open(clock, redis_uri(), o);
  if (!transport) return 3;
  const std::string& processor = config.expected[static_cast<std::size_t>(index)];
  if (!write_all(ready, "r", 1)) return 4;
  std::int32_t cmd[2];
  while (read_all(commands, cmd, sizeof cmd)) {
    for (int day = cmd[0]; day < cmd[0] + cmd[1]; ++day) {
      pipeline::Message m;
      m.processor_name = processor;
      m.phase = config.upstream_phase;
      m.execution_id = fmt::format("{}-{}", processor, day);
      m.correlation_id = fmt::format("scrape-{}", day);
      m.traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
      m.partition_date = first_date().plus_days(day);
      m.entities_changed = pipeline::EntityChanges{{"players", {fmt::format("player-{}", index)}}};
      std::string payload = pipeline::encode_message(m);
      shared.publish_ns[day][index].store(now_ns(), std::memory_order_relaxed);
      if (!(*transport)->publish(kCompletionTopic, {fmt::format("{}/{}", processor, day), std::move(payload), {}}))
        shared.failures.fetch_add(1);
    }
  }
  return 0;
}

void store_max(std::atomic<std::int64_t>& a, std::int64_t v) {
  std::int64_t cur = a.load(std::memory_order_relaxed);
  while (cur < v && !a.compare_exchange_weak(cur, v)) {
  }
}
int day_of(std::string_view payload) {
  auto m = pipeline::decode_message(payload);
  if (!m) return -1;
  const int day = first_date().days_until(m->partition_date);
  return day >= 0 && day < kMaxDays ? day : -1;
}

// Runs `f`, adding its duration to `ns` and one to `count`.
template <class F>
auto time_call(std::atomic<std::int64_t>& ns, std::atomic<std::int64_t>& count, F f) {
  const auto t0 = now_ns();
  auto r = f();
  ns.fetch_add(now_ns() - t0, std::memory_order_relaxed);
  count.fetch_add(1, std::memory_order_relaxed);
  return r;
}

// Times each statement of a tracker transaction (the PostgreSQL store: one round trip each).
class TimedTransaction final : public pipeline::Transaction {
 public:
  TimedTransaction(pipeline::Transaction& inner, Shared& shared) : inner_(inner), shared_(shared) {}
  pipeline::Result<std::optional<std::string>> get(std::string_view key) override {
    return time_call(shared_.op_ns, shared_.op_count, [&] { return inner_.get(key); });
  }
  pipeline::Status put(std::string_view key, std::string_view value) override {
    return time_call(shared_.op_ns, shared_.op_count, [&] { return inner_.put(key, value); });
  }
  pipeline::Result<bool> insert(std::string_view key, std::string_view value) override {
    if (key.find("/exec/") != std::string_view::npos) ++inserted_exec_;
    return time_call(shared_.op_ns, shared_.op_count, [&] { return inner_.insert(key, value); });
  }
  pipeline::Result<bool> erase(std::string_view key) override {
    return time_call(shared_.op_ns, shared_.op_count, [&] { return inner_.erase(key); });
  }
  pipeline::Result<std::vector<pipeline::Row>> scan(std::string_view prefix,
                                                    const pipeline::ScanOptions& options) override {
    return time_call(shared_.op_ns, shared_.op_count, [&] { return inner_.scan(prefix, options); });
  }
  pipeline::Result<std::size_t> count(std::string_view prefix) override {
    return time_call(shared_.op_ns, shared_.op_count, [&] { return inner_.count(prefix); });
  }
  pipeline::Result<bool> enqueue(pipeline::OutboxMessage entry) override {
    return time_call(shared_.op_ns, shared_.op_count, [&] { return inner_.enqueue(std::move(entry)); });
  }
  int inserted_exec_ = 0;

 private:
  pipeline::Transaction& inner_;
  Shared& shared_;
};

// The tracker's store with the time of each transaction, statement and outbox call.
class TimedStore final : public pipeline::StateStore {
 public:
  TimedStore(pipeline::StateStore& inner, Shared& shared) : inner_(inner), shared_(shared) {}
  pipeline::Status transact(const Body& body, const pipeline::TransactionOptions& options) override {
    const auto t0 = now_ns();
    int recorded = 0;
    auto st = inner_.transact(
        [&](pipeline::Transaction& tx) {
          TimedTransaction timed(tx, shared_);
          auto r = body(timed);
          recorded = timed.inserted_exec_;
          return r;
        },
        options);
    shared_.tx_ns.fetch_add(now_ns() - t0, std::memory_order_relaxed);
    shared_.tx_count.fetch_add(1, std::memory_order_relaxed);
    if (st) shared_.recorded.fetch_add(recorded, std::memory_order_relaxed);
    return st;
  }
  pipeline::Result<std::vector<pipeline::OutboxRow>> claim_outbox(const pipeline::ClaimOutboxParams& params) override {
    return time_call(shared_.outbox_ns, shared_.outbox_count, [&] { return inner_.claim_outbox(params); });
  }
  pipeline::Status complete_outbox(const std::vector<std::string>& keys) override {
    return time_call(shared_.outbox_ns, shared_.outbox_count, [&] { return inner_.complete_outbox(keys); });
  }
  pipeline::Result<std::size_t> pending_outbox() override { return inner_.pending_outbox(); }
  pipeline::Result<std::size_t> prune_outbox(pipeline::TimePoint before) override {
    return inner_.prune_outbox(before);
  }
  pipeline::Result<std::size_t> requeue_outbox(pipeline::TimePoint since) override {
    return inner_.requeue_outbox(since);
  }

 private:
  pipeline::StateStore& inner_;
  Shared& shared_;
};

// A delivery whose settlement is timed.
class TimedDelivery final : public pipeline::Delivery {
 public:
  TimedDelivery(pipeline::DeliveryPtr inner, Shared& shared) : inner_(std::move(inner)), shared_(shared) {}
  const std::string& id() const noexcept override { return inner_->id(); }
  const std::string& topic() const noexcept override { return inner_->topic(); }
  const std::string& subscription() const noexcept override { return inner_->subscription(); }
  const std::string& payload() const noexcept override { return inner_->payload(); }
  const pipeline::Attributes& attributes() const noexcept override { return inner_->attributes(); }
  int attempt() const noexcept override { return inner_->attempt(); }
  pipeline::TimePoint deadline() const override { return inner_->deadline(); }
  pipeline::Status ack() override { return time_call(shared_.ack_ns, shared_.ack_count, [&] { return inner_->ack(); }); }
  pipeline::Status nack(std::string_view reason) override { return time_call(shared_.ack_ns, shared_.ack_count, [&] { return inner_->nack(reason); }); }
  pipeline::Status reject(std::string_view reason) override { return time_call(shared_.ack_ns, shared_.ack_count, [&] { return inner_->reject(reason); }); }
  pipeline::Status extend_deadline(pipeline::Duration extension) override { return inner_->extend_deadline(extension); }

 private:
  pipeline::DeliveryPtr inner_;
  Shared& shared_;
};

// The tracker's RedisTransport with timestamps: when each completion reaches the
// tracker's handler and when the relay publishes each trigger (one decode each).
class StampingTransport final : public pipeline::Transport {
 public:
  StampingTransport(pipeline::Transport& inner, Shared& shared) : inner_(inner), shared_(shared) {}
  pipeline::Status do_publish(pipeline::PublishParams params) override {
    if (const int day = day_of(params.message.payload); day >= 0) store_max(shared_.relay_publish_ns[day], now_ns());
    return inner_.publish(std::move(params));
  }
  pipeline::Result<std::unique_ptr<pipeline::Subscription>> subscribe(const pipeline::SubscribeParams& config,
                                                                       pipeline::Handler handler) override {
    return inner_.subscribe(config, [this, handler = std::move(handler)](pipeline::DeliveryPtr d) {
      if (const int day = day_of(d->payload()); day >= 0) store_max(shared_.reached_tracker_ns[day], now_ns());
      handler(std::make_shared<TimedDelivery>(std::move(d), shared_));
    });
  }
  pipeline::Result<std::vector<pipeline::DeadLetter>> dead_letters(std::string_view s) override {
    return inner_.dead_letters(s);
  }
  pipeline::Status replay_dead_letter(std::string_view s, std::string_view id) override {
    return inner_.replay_dead_letter(s, id);
  }

 private:
  pipeline::Transport& inner_;
  Shared& shared_;
};

// The tracker service: runs until `stop` is readable (or closed).
int tracker_main(Shared& shared, const bench_support::PostgresTables& tables, const std::string& prefix, int handler_threads,
                 int max_batch, int stop, int ready) {
  pipeline::SystemClock clock;
  auto opened = tables.open();
  if (!opened) return 3;
  TimedStore timed_store(**opened, shared);
  auto* store = &timed_store;
  pipeline::RedisTransportOptions o;
  o.key_prefix = prefix;
  o.handler_threads = static_cast<std::size_t>(handler_threads);
  auto transport = pipeline::RedisTransport::open(clock, redis_uri(), o);
  if (!transport) return 4;
  StampingTransport stamped(**transport, shared);
  pipeline::OutboxRelayOptions ropts;
  ropts.owner = "bench-tracker-relay";
  auto created_relay = pipeline::OutboxRelay::create(clock, *store, stamped, ropts);
  if (!created_relay) return 8;
  pipeline::OutboxRelay& relay = **created_relay;
  auto config = phase3_config();
  config.relay = &relay;
  auto tracker = pipeline::CompletionTracker::create(clock, *store, config);
  if (!tracker) return 5;
  relay.start();
  pipeline::TrackerSubscriptionOptions sopts;
  sopts.max_batch = static_cast<std::size_t>(max_batch);
  auto sub = pipeline::subscribe_tracker(stamped, **tracker, kCompletionTopic, sopts);
  if (!sub) return 6;
  if (!write_all(ready, "r", 1)) return 7;
  char c;
  (void)::read(stop, &c, 1);
  sub->reset();
  relay.stop();
  return 0;
}

// The downstream phase: stamps each date's first trigger delivery, tells the bench.
int consumer_main(Shared& shared, const std::string& trigger_topic, const std::string& prefix, int delivered,
                  int stop, int ready) {
  pipeline::SystemClock clock;
  pipeline::RedisTransportOptions o;
  o.key_prefix = prefix;
  o.handler_threads = 1;
  auto transport = pipeline::RedisTransport::open(clock, redis_uri(), o);
  if (!transport) return 3;
  auto sub = (*transport)->subscribe({"bench-phase3", trigger_topic, {}}, [&](pipeline::DeliveryPtr d) {
    const std::int64_t t = now_ns();
    auto m = pipeline::decode_message(d->payload());
    pipeline::best_effort_ack(*d);
    if (!m) return;
    const int day = first_date().days_until(m->partition_date);
    if (day < 0 || day >= kMaxDays) return;
    std::int64_t unset = 0;
    // At-least-once: a redelivered trigger keeps the first time and is not announced again.
    if (shared.delivered_ns[day].compare_exchange_strong(unset, t)) {
      const std::int32_t announced = day;
      (void)write_all(delivered, &announced, sizeof announced);
    }
  });
  if (!sub) return 4;
  if (!write_all(ready, "r", 1)) return 5;
  char c;
  (void)::read(stop, &c, 1);
  sub->reset();
  return 0;
}

void BM_FanInLatency_RedisPostgres(benchmark::State& state) {
  const int handler_threads = static_cast<int>(state.range(0));
  const int max_batch = static_cast<int>(state.range(1));
  const auto config = phase3_config();
  const int processors = static_cast<int>(config.expected.size());
  if (processors > kMaxProcessors) {
    state.SkipWithError("too many processors for the shared table");
    return;
  }
  if (bench_support::postgres_uri().empty() || redis_uri().empty()) {
    state.SkipWithError("no PostgreSQL or Redis server: run scripts/services.sh start and start-redis");
    return;
  }
  bench_support::PostgresTables tables;
  {
    auto created = tables.open();  // creates the tables before any child races to
    if (!created) {
      state.SkipWithError(created.error().to_string().c_str());
      return;
    }
  }
  const std::string prefix = fmt::format("bench-fanin-{}-{}:", ::getpid(), now_ns());
  void* mem = ::mmap(nullptr, sizeof(Shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) {
    state.SkipWithError("mmap failed");
    return;
  }
  auto& shared = *new (mem) Shared{};

  int ready[2], stop[2], delivered[2];
  if (::pipe(ready) != 0 || ::pipe(stop) != 0 || ::pipe(delivered) != 0) {
    state.SkipWithError("pipe failed");
    return;
  }
  std::vector<pid_t> children;
  auto wait_ready = [&](int n) {
    for (int i = 0; i < n; ++i) {
      pollfd p{ready[0], POLLIN, 0};
      char c;
      if (::poll(&p, 1, 30000) != 1 || ::read(ready[0], &c, 1) != 1) return false;
    }
    return true;
  };
  auto child_setup = [&] { ::close(stop[1]); };
  // The consumer first, then the tracker: each creates its group at the stream's end.
  children.push_back(spawn([&] {
    child_setup();
    return consumer_main(shared, config.trigger_topic, prefix, delivered[1], stop[0], ready[1]);
  }));
  bool ok = wait_ready(1);
  if (ok) {
    children.push_back(spawn([&] {
      child_setup();
      return tracker_main(shared, tables, prefix, handler_threads, max_batch, stop[0], ready[1]);
    }));
    ok = wait_ready(1);
  }
  std::vector<int> commands;
  for (int i = 0; ok && i < processors; ++i) {
    int cmd[2];
    if (::pipe(cmd) != 0) {
      ok = false;
      break;
    }
    children.push_back(spawn([&, i] {
      child_setup();
      ::close(cmd[1]);
      for (int fd : commands) ::close(fd);
      return publisher_main(shared, config, i, prefix, cmd[0], ready[1]);
    }));
    ::close(cmd[0]);
    commands.push_back(cmd[1]);
  }
  ok = ok && wait_ready(processors);

  auto publish = [&](int first, int count) {
    const std::int32_t cmd[2] = {first, count};
    for (int fd : commands)
      if (!write_all(fd, cmd, sizeof cmd)) return false;
    return true;
  };
  // Waits for `n` more dates' triggers (30 s without one is a failure).
  auto await_triggers = [&](int n) {
    for (int i = 0; i < n; ++i) {
      pollfd p{delivered[0], POLLIN, 0};
      std::int32_t day;
      if (::poll(&p, 1, 30000) != 1 || !read_all(delivered[0], &day, sizeof day)) return false;
    }
    return true;
  };
  auto latency_us = [&](int day) {
    std::int64_t last = 0;
    for (int i = 0; i < processors; ++i) last = std::max(last, shared.publish_ns[day][i].load());
    return static_cast<double>(shared.delivered_ns[day].load() - last) / 1000.0;
  };

  std::vector<double> latencies, to_tracker, to_relay, to_consumer;
  auto stage_us = [](std::int64_t from, std::int64_t to) { return static_cast<double>(to - from) / 1000.0; };
  double completions_per_s = 0;
  if (!ok) {
    state.SkipWithError("a child process did not start (Redis or PostgreSQL unreachable?)");
  } else {
    for (int day = 0; day < kWarm && ok; ++day) ok = publish(day, 1) && await_triggers(1);
    int day = kWarm;
    for (auto _ : state) {
      if (!ok || day >= kWarm + kSeq) break;
      ok = publish(day, 1) && await_triggers(1);
      if (!ok) break;
      const double us = latency_us(day);
      latencies.push_back(us);
      std::int64_t last = 0;
      for (int i = 0; i < processors; ++i) last = std::max(last, shared.publish_ns[day][i].load());
      to_tracker.push_back(stage_us(last, shared.reached_tracker_ns[day].load()));
      to_relay.push_back(stage_us(shared.reached_tracker_ns[day].load(), shared.relay_publish_ns[day].load()));
      to_consumer.push_back(stage_us(shared.relay_publish_ns[day].load(), shared.delivered_ns[day].load()));
      state.SetIterationTime(us / 1e6);
      ++day;
    }
    if (ok) {
      const auto t0 = now_ns();
      ok = publish(kWarm + kSeq, kPar) && await_triggers(kPar);
      const auto t1 = now_ns();
      completions_per_s = static_cast<double>(kPar * processors) / (static_cast<double>(t1 - t0) / 1e9);
    }
    if (!ok) state.SkipWithError("a trigger did not arrive within 30 s");
    if (shared.failures.load() > 0) state.SkipWithError("a publish failed");
  }

  for (int fd : commands) ::close(fd);
  ::close(stop[1]);
  for (pid_t pid : children) {
    int status = 0;
    ::waitpid(pid, &status, 0);
  }
  ::close(stop[0]);
  ::close(ready[0]);
  ::close(ready[1]);
  ::close(delivered[0]);
  ::close(delivered[1]);
  struct Unmap {
    void* mem;
    ~Unmap() { ::munmap(mem, sizeof(Shared)); }
  } unmap{mem};
  if (!ok || latencies.empty()) return;
  auto at = [](std::vector<double>& v, double q) {
    std::sort(v.begin(), v.end());
    return v[std::min(v.size() - 1, static_cast<std::size_t>(q * static_cast<double>(v.size())))];
  };
  state.counters["p50_us"] = at(latencies, 0.50);
  state.counters["p99_us"] = at(latencies, 0.99);
  // Where the time goes (each stage's own percentiles; they do not add up exactly):
  // last publish -> last completion reaches the tracker's handler -> the relay publishes
  // the trigger (queue, decision commit, outbox claim) -> the consumer's handler.
  state.counters["to_tracker_p50_us"] = at(to_tracker, 0.50);
  state.counters["to_tracker_p99_us"] = at(to_tracker, 0.99);
  state.counters["decide_p50_us"] = at(to_relay, 0.50);
  state.counters["decide_p99_us"] = at(to_relay, 0.99);
  state.counters["to_consumer_p50_us"] = at(to_consumer, 0.50);
  state.counters["to_consumer_p99_us"] = at(to_consumer, 0.99);
  // The tracker process over the whole run (warm-up, timed dates and the kPar dates):
  // per transaction and per completion, where the time went.
  auto per = [](std::int64_t total_ns, std::int64_t n) { return n > 0 ? static_cast<double>(total_ns) / 1000.0 / static_cast<double>(n) : 0.0; };
  const auto txs = shared.tx_count.load(), recorded = shared.recorded.load();
  state.counters["tracker_tx"] = static_cast<double>(txs);
  state.counters["completions_per_tx"] = txs > 0 ? static_cast<double>(recorded) / static_cast<double>(txs) : 0.0;
  state.counters["tx_us"] = per(shared.tx_ns.load(), txs);
  state.counters["statements_per_completion"] = recorded > 0 ? static_cast<double>(shared.op_count.load()) / static_cast<double>(recorded) : 0.0;
  state.counters["statement_us"] = per(shared.op_ns.load(), shared.op_count.load());
  state.counters["commit_us"] = per(shared.tx_ns.load() - shared.op_ns.load(), txs);
  state.counters["ack_us"] = per(shared.ack_ns.load(), shared.ack_count.load());
  state.counters["outbox_call_us"] = per(shared.outbox_ns.load(), shared.outbox_count.load());
  state.counters["tracker_busy_s"] = static_cast<double>(shared.tx_ns.load() + shared.ack_ns.load()) / 1e9;
  state.counters["completions_per_s"] = completions_per_s;
  state.counters["items_per_second"] = completions_per_s;
  state.counters["handler_threads"] = handler_threads;
  state.counters["max_batch"] = max_batch;
}
// One iteration per date timed alone; then the kPar dates in flight at once, untimed.
// {tracker handler threads, deliveries per tracker transaction at most}.
BENCHMARK(BM_FanInLatency_RedisPostgres)->Args({1, 256})->Args({1, 1})->UseManualTime()->Iterations(kSeq);

}  // namespace
#endif

BENCHMARK_MAIN();
