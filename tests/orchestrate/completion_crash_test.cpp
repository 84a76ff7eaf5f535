// kill -9 over a shared SQLite file: several processes record completions (each delivered
// 1-3 times, shuffled), relay triggers, then let the deadline pass and check their dates'
// waves; each is SIGKILLed at a chosen store operation (at the N-th call, right after
// committing a decision, or in a relay between publish and mark). Restarted processes
// redeliver everything; a final relay runs. The result must equal a run without crashes,
// and every decision is counted: exactly one committed decision per (tracker, date, wave)
// across all processes, one outbox entry per decision, every trigger published (maybe
// twice) and run once by an idempotent consumer.
#include <signal.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <iostream>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "child_process.hpp"
#include "pipeline/core/manual_clock.hpp"
#include "pipeline/core/message_codec.hpp"
#include "pipeline/memory/memory_transport.hpp"
#include "pipeline/mocks/counting_state_store.hpp"
#include "pipeline/orchestrate/completion_tracker.hpp"
#include "pipeline/orchestrate/idempotent_consumer.hpp"
#include "pipeline/orchestrate/outbox_relay.hpp"
#include "temp_dir.hpp"
#include "test_seed.hpp"
#ifdef PIPELINE_TEST_HAVE_SQLITE
#include "pipeline/sqlite/sqlite_state_store.hpp"
#endif

namespace pipeline {
namespace completion_crash_test {

#ifdef PIPELINE_TEST_HAVE_SQLITE

using mocks::CountingStateStore;
using mocks::StoreCall;
using mocks::StoreOperation;
using mocks::WatchedWrite;
using pipeline::testing::append_line;
using pipeline::testing::read_lines;

using Names = std::vector<std::string>;
const Names kUpstream = {"r0", "r1", "r2", "r3", "r4"};
constexpr std::string_view kWitnessPrefix = "crash-witness/";

// Only complete waves trigger (threshold 1), so the result equals a crash-free run; the
// deadline is there so that processes arm timers and check waves after the deadline,
// and those checks meet waves other processes decided.
CompletionTrackerOptions crash_config() {
  CompletionTrackerOptions c;
  c.name = "crash";
  c.upstream_phase = "up";
  c.downstream_phase = "down";
  c.expected = kUpstream;
  c.trigger_topic = "crash-trigger";
  c.deadline = std::chrono::minutes(30);
  c.partial_threshold = 1.0;
  for (const auto& p : kUpstream) (void)c.registry.add_processor(p, "up");
  (void)c.registry.add_processor("d", "down");
  for (const auto& p : kUpstream) (void)c.registry.add_trigger(p, {"d"});
  return c;
}

bool is_decision_key(std::string_view key) {
  return key.starts_with("tracker/crash/") && key.find("/decision/w") != std::string_view::npos;
}

// "tracker/crash/<date>/decision/w<NNN>" -> "crash/<date>/w<N>", the decision's trigger id.
std::string trigger_id_of(std::string_view decision_key) {
  const std::string_view rest = decision_key.substr(std::string_view("tracker/crash/").size());
  const std::string_view date = rest.substr(0, rest.find('/'));
  const std::string_view wave = rest.substr(rest.rfind("/w") + 2);
  return fmt::format("crash/{}/w{}", date, std::stoi(std::string(wave)));
}

// A durable stand-in for an external broker: every publish appends one JSON line to a
// file (O_APPEND, one write), so what a killed process published survives it.
class FileLogTransport final : public Transport {
 public:
  explicit FileLogTransport(std::string path) : path_(std::move(path)) {}
  Status do_publish(PublishParams params) override {
    const OutgoingMessage& m = params.message;
    if (!append_line(path_, nlohmann::json{{"topic", params.topic}, {"id", m.id}, {"payload", m.payload}}.dump()))
      return fail(ErrorCode::kUnavailable, "cannot append to {}", path_);
    return ok();
  }
  Result<std::unique_ptr<Subscription>> subscribe(const SubscribeParams&, Handler) override {
    return fail(ErrorCode::kFailedPrecondition, "FileLogTransport only publishes");
  }
  Result<std::vector<DeadLetter>> dead_letters(std::string_view) override { return std::vector<DeadLetter>{}; }
  Status replay_dead_letter(std::string_view, std::string_view) override {
    return fail(ErrorCode::kNotFound, "no dead letters");
  }

 private:
  std::string path_;
};

// Where a worker dies: at its n-th store call, right after the commit of its n-th
// decision (before the tracker returns it), or in its relay's n-th complete_outbox (the
// batch is published, not yet marked sent). kNever: it finishes and exits 0.
enum class Kill { kNever, kAtOperation, kAfterDecisionCommit, kBetweenPublishAndMark };
struct KillPlan {
  Kill kind = Kill::kNever;
  long n = 0;
};

std::string_view to_string(Kill k) {
  switch (k) {
    case Kill::kNever: return "never";
    case Kill::kAtOperation: return "at_operation";
    case Kill::kAfterDecisionCommit: return "after_decision_commit";
    case Kill::kBetweenPublishAndMark: return "between_publish_and_mark";
  }
  return "never";
}

struct Paths {
  std::string db;         // the shared SQLite file
  std::string published;  // what relays published (FileLogTransport)
  std::string events;     // what workers decided: attempt / triggered / kill lines
};

// Counting the decisions of processes that may be killed at any store call.
//
// Each worker's store is a CountingStateStore watching the tracker's decision rows. When
// the tracker writes one (the conditional insert, or whatever write would replace it), the
// hook, inside that same transaction, (1) appends "attempt <token> <key>" to the events
// log — one write(2) on O_APPEND, done before the commit can happen — and (2) puts the
// row crash-witness/<token> = <key> into the transaction. The witness commits if and only
// if the decision write commits (same transaction), so after the run the witness rows
// are exactly the committed decision writes, one per commit, whichever process made it and
// whenever it died. A worker that learns of its decision appends "triggered <pid> <id>".
//
// A log line written after the commit can be missed: the worker is killed between the
// commit and the write (the kAfterDecisionCommit plan does exactly that). So the parent
// does not count decisions from "triggered" lines; it counts witness rows per decision key
// (must be exactly 1), requires every witness to have its "attempt" line (written before
// the commit, so it cannot be missed — a missing one means the accounting is broken), and
// uses "triggered" lines only as a cross-check: at most one per id, from the process whose
// witness committed it. A second decision of a wave — even one that writes the same row
// value and enqueues the same trigger id the outbox then ignores — leaves a second witness.
[[noreturn]] void worker(const Paths& paths, const std::vector<Message>& work, KillPlan plan) {
  auto real = SqliteStateStore::open(paths.db);
  if (!real) ::_exit(10);
  const pid_t self = ::getpid();
  int attempts = 0;
  bool attempt_decided = false;
  long decision_commits = 0, completes = 0;
  auto die = [&](std::string_view where) {
    (void)append_line(paths.events, fmt::format("kill {} {}", self, where));
    ::kill(self, SIGKILL);
  };
  mocks::CountingStateStoreOptions options;
  options.watch = is_decision_key;
  options.on_watched_write = [&](Transaction& tx, const WatchedWrite& w) -> Status {
    attempt_decided = true;
    const std::string token = fmt::format("{}-{}", self, ++attempts);
    if (!append_line(paths.events, fmt::format("attempt {} {}", token, w.key)))
      return fail(ErrorCode::kUnavailable, "cannot append to the events log");
    return tx.put(std::string(kWitnessPrefix) + token, w.key);
  };
  options.on_operation = [&](const StoreCall& c) {
    if (c.operation == StoreOperation::kAttempt) attempt_decided = false;
    switch (plan.kind) {
      case Kill::kNever: break;
      case Kill::kAtOperation:
        if (c.index == plan.n) die(to_string(plan.kind));
        break;
      case Kill::kAfterDecisionCommit:
        if (c.operation == StoreOperation::kCommit && attempt_decided && ++decision_commits == plan.n)
          die(to_string(plan.kind));
        break;
      case Kill::kBetweenPublishAndMark:
        if (c.operation == StoreOperation::kComplete && ++completes == plan.n) die(to_string(plan.kind));
        break;
    }
  };
  CountingStateStore store(**real, options);
  ManualClock clock;
  auto tracker = CompletionTracker::create(clock, store, crash_config());
  if (!tracker) ::_exit(11);
  auto report = [&](const Result<RecordOutcome>& r) {
    for (const auto& id : r->triggered) (void)append_line(paths.events, fmt::format("triggered {} {}", self, id));
  };
  // Transient errors (the file is busy past the store's retries) are what a redelivery
  // fixes: retry like a transport would; a call that keeps failing fails the worker.
  auto with_retries = [&](auto call) {
    for (int attempt = 0; attempt < 50; ++attempt) {
      auto r = call();
      if (r) return report(r);
    }
    ::_exit(12);
  };
  FileLogTransport transport(paths.published);
  OutboxRelayOptions relay_options;
  relay_options.owner = fmt::format("relay-{}", self);
  relay_options.batch_size = 4;
  auto relay = OutboxRelay::create(clock, store, transport, relay_options).value();
  std::set<CalendarDate> dates;
  for (std::size_t i = 0; i < work.size(); ++i) {
    with_retries([&] { return (*tracker)->record_completion(work[i]); });
    dates.insert(work[i].partition_date);
    if (i % 3 == 2) (void)relay->relay_once();
  }
  (void)relay->drain();
  // The deadline passes in this process: the timers it armed fire, and it checks the
  // wave of every date it worked on. Other processes decided most of these waves; the
  // checks must find them decided and decide nothing again.
  clock.advance(std::chrono::hours(1));
  for (const auto& date : dates) with_retries([&] { return (*tracker)->check_wave(date, 0); });
  (void)relay->drain();
  ::_exit(0);
}

struct RoundResult {
  int killed = 0;
  int clean = 0;
};

RoundResult run_round(const Paths& paths, const std::vector<std::vector<Message>>& slices,
                      const std::vector<KillPlan>& plans) {
  std::vector<pid_t> pids;
  for (std::size_t i = 0; i < slices.size(); ++i) {
    const pid_t pid = ::fork();
    if (pid == 0) worker(paths, slices[i], plans[i]);
    EXPECT_GT(pid, 0) << "fork failed";
    if (pid > 0) pids.push_back(pid);
  }
  RoundResult r;
  for (std::size_t i = 0; i < pids.size(); ++i) {
    const auto status = pipeline::testing::wait_child(pids[i]);
    if (!status) {
      ADD_FAILURE() << "worker " << i << " (kill plan " << to_string(plans[i].kind) << ") did not end within the deadline";
    } else if (pipeline::testing::killed_by_sigkill(*status)) {
      ++r.killed;
    } else if (pipeline::testing::exited_cleanly(*status)) {
      ++r.clean;
    } else {
      ADD_FAILURE() << "worker " << i << " (kill plan " << to_string(plans[i].kind) << " " << plans[i].n << ") "
                    << pipeline::testing::describe_status(*status);
    }
  }
  return r;
}

std::vector<std::vector<Message>> split(const std::vector<Message>& deliveries, int parts) {
  std::vector<std::vector<Message>> slices(static_cast<std::size_t>(parts));
  for (std::size_t i = 0; i < deliveries.size(); ++i) slices[i % slices.size()].push_back(deliveries[i]);
  return slices;
}

TEST(CompletionCrash, KillNineAtChosenStoreOperationsThenRestartDecidesEachWaveExactlyOnce) {
  const unsigned seed = pipeline::testing::test_seed(20251118);
  pipeline::testing::TempDir dir;
  const Paths paths{dir.file("state.db"), dir.file("published.log"), dir.file("events.log")};
  constexpr int kDates = 10;
  constexpr int kProcesses = 3;
  std::mt19937 rng(seed);

  // The completions and, per date, the union of changes a crash-free run would trigger.
  // One more date, the sentinel, is delivered in the first round only to the worker
  // killed right after its first decision commits, so that case happens in every run.
  const CalendarDate first = *CalendarDate::parse("2025-11-01");
  const CalendarDate sentinel = first.plus_days(kDates);
  std::vector<Message> deliveries, sentinel_deliveries;
  std::map<std::string, EntityChanges> expected_changes;
  std::map<std::string, std::set<std::string>> expected_execs;
  for (int day = 0; day <= kDates; ++day) {
    for (const auto& p : kUpstream) {
      Message m;
      m.processor_name = p;
      m.phase = "up";
      m.execution_id = fmt::format("{}-{}", p, day);
      m.correlation_id = m.execution_id;
      m.partition_date = first.plus_days(day);
      m.entities_changed = EntityChanges{{"players", {fmt::format("player-{}", rng() % 20)}}};
      ChangedEntities acc = expected_changes[m.partition_date.to_string()];
      merge_into(acc, m.entities_changed);
      expected_changes[m.partition_date.to_string()] = *acc;
      expected_execs[m.partition_date.to_string()].insert(m.execution_id);
      if (day == kDates) {
        sentinel_deliveries.push_back(m);
        continue;
      }
      const int copies = 1 + static_cast<int>(rng() % 3);
      for (int c = 0; c < copies; ++c) deliveries.push_back(m);
    }
  }

  // Two rounds of killed processes, each with a shuffled share and its own kill plan.
  int killed = 0;
  for (int round = 0; round < 2; ++round) {
    std::shuffle(deliveries.begin(), deliveries.end(), rng);
    auto slices = split(deliveries, kProcesses);
    std::vector<KillPlan> plans;
    for (int i = 0; i < kProcesses; ++i) {
      const long size = static_cast<long>(slices[static_cast<std::size_t>(i)].size());
      switch ((round + i) % 3) {
        // About 10 store calls per completion: somewhere inside the work, past start-up.
        case 0: plans.push_back({Kill::kAtOperation, 20 + static_cast<long>(rng() % (size * 10))}); break;
        case 1: plans.push_back({Kill::kBetweenPublishAndMark, 1 + static_cast<long>(rng() % 3)}); break;
        default: plans.push_back({Kill::kAfterDecisionCommit, 1 + static_cast<long>(rng() % 2)}); break;
      }
    }
    if (round == 0) {
      slices[2].insert(slices[2].begin(), sentinel_deliveries.begin(), sentinel_deliveries.end());
      plans[2] = {Kill::kAfterDecisionCommit, 1};
      deliveries.insert(deliveries.end(), sentinel_deliveries.begin(), sentinel_deliveries.end());
    }
    killed += run_round(paths, slices, plans).killed;
  }
  EXPECT_GT(killed, 0) << "the test must actually kill processes";

  // Restart: nothing was acknowledged, so every delivery comes again (shuffled, split).
  std::shuffle(deliveries.begin(), deliveries.end(), rng);
  const RoundResult restart = run_round(paths, split(deliveries, kProcesses), std::vector<KillPlan>(kProcesses));
  EXPECT_EQ(restart.clean, kProcesses);

  // Final relay (leases of killed relays, taken at most an hour in, have expired by now).
  auto store = SqliteStateStore::open(paths.db);
  ASSERT_TRUE(store) << store.error().to_string();
  ManualClock clock(ManualClock::kDefaultStart + std::chrono::hours(3));
  FileLogTransport file_log(paths.published);
  auto relay = OutboxRelay::create(clock, **store, file_log).value();
  ASSERT_TRUE(relay->drain());
  ASSERT_TRUE((*store)->pending_outbox());
  EXPECT_EQ(*(*store)->pending_outbox(), 0u);

  // One decision row per date, wave 0 only.
  std::set<std::string> decision_keys;
  for (int day = 0; day <= kDates; ++day) {
    const auto date = first.plus_days(day);
    auto decisions = (*store)->scan(fmt::format("tracker/crash/{}/decision/", date));
    ASSERT_TRUE(decisions);
    ASSERT_EQ(decisions->size(), 1u) << date.to_string();
    EXPECT_EQ((*decisions)[0].key, fmt::format("tracker/crash/{}/decision/w000", date));
    decision_keys.insert((*decisions)[0].key);
    auto s = CompletionTracker::load_status(**store, "crash", date);
    ASSERT_TRUE(s);
    EXPECT_TRUE(s->missing.empty());
    EXPECT_EQ(s->done.size(), kUpstream.size());
  }

  // Exactly one committed decision per (tracker, date, wave), counted across all processes.
  std::map<std::string, std::string> attempts;             // token -> decision key
  std::map<std::string, std::vector<std::string>> told;    // trigger id -> pids told "triggered"
  std::map<std::string, int> kills;                        // kill plan -> processes killed by it
  for (const auto& line : read_lines(paths.events)) {
    std::istringstream in(line);
    std::string kind, a, b;
    in >> kind >> a >> b;
    if (kind == "attempt") attempts[a] = b;
    else if (kind == "triggered") told[b].push_back(a);
    else if (kind == "kill") ++kills[b];
    else ADD_FAILURE() << "torn or unknown events line: " << line;
  }
  auto witnesses = (*store)->scan(kWitnessPrefix);
  ASSERT_TRUE(witnesses);
  std::map<std::string, std::vector<std::string>> committed;  // decision key -> pids that committed it
  for (const auto& w : *witnesses) {
    const std::string token = w.key.substr(kWitnessPrefix.size());
    auto it = attempts.find(token);
    EXPECT_TRUE(it != attempts.end() && it->second == w.value)
        << "committed decision " << w.value << " (" << token << ") has no attempt line: the accounting is broken";
    committed[w.value].push_back(token.substr(0, token.find('-')));
  }
  for (const auto& key : decision_keys) {
    EXPECT_EQ(committed[key].size(), 1u) << key << " was decided " << committed[key].size() << " times";
  }
  EXPECT_EQ(committed.size(), decision_keys.size()) << "a decision was committed for a wave without a decision row";
  int lost_lines = 0;
  for (const auto& key : decision_keys) {
    const std::string id = trigger_id_of(key);
    const auto& pids = told[id];
    EXPECT_LE(pids.size(), 1u) << id << " was returned as triggered " << pids.size() << " times";
    if (pids.empty()) {
      ++lost_lines;
    } else if (committed[key].size() == 1) {
      EXPECT_EQ(pids[0], committed[key][0]) << id << ": told a process that did not commit it";
    }
  }
  std::set<std::string> decided_ids;
  for (const auto& key : decision_keys) decided_ids.insert(trigger_id_of(key));
  for (const auto& [id, pids] : told) EXPECT_TRUE(decided_ids.count(id)) << "triggered " << id << " has no decision row";
  EXPECT_GE(lost_lines, 1) << "no worker died between a decision's commit and its report";
  EXPECT_TRUE(told[fmt::format("crash/{}/w0", sentinel)].empty())
      << "the sentinel's decider was to die right after its commit, before reporting it";
  EXPECT_GE(kills[std::string(to_string(Kill::kAfterDecisionCommit))], 1);

  // Everything published, possibly twice, goes to an idempotent consumer: once per id.
  auto transport = MemoryTransport::create(clock).value();
  std::map<std::string, int> runs;
  std::map<std::string, Message> triggers;
  auto consumer = IdempotentConsumer::create(**store, [&](Transaction& tx, const Delivery& d) -> Status {
    auto m = decode_message(d.payload());
    if (!m) return fail(m.error());
    triggers[d.id()] = *m;
    return tx.put("crash-out/" + d.id(), "ran");
  }, {"crash-downstream"}).value();
  auto sub = transport->subscribe({"crash-downstream", "crash-trigger", {}}, [&](DeliveryPtr d) {
    auto r = consumer.process(*d);
    ASSERT_TRUE(r) << r.error().to_string();
    if (*r == IdempotentConsumer::Outcome::kProcessed) ++runs[d->id()];
    (void)d->ack();
  });
  ASSERT_TRUE(sub);
  int published = 0;
  for (const auto& line : read_lines(paths.published)) {
    auto j = nlohmann::json::parse(line);
    ASSERT_EQ(j["topic"], "crash-trigger");
    ASSERT_TRUE(transport->publish("crash-trigger", {j["id"].get<std::string>(), j["payload"].get<std::string>(), {}}));
    ++published;
  }
  transport->pump();
  EXPECT_GE(published, kDates + 1);
  ASSERT_EQ(runs.size(), static_cast<std::size_t>(kDates + 1));
  for (const auto& [id, n] : runs) EXPECT_EQ(n, 1) << id;

  // The same content a crash-free run decides.
  for (int day = 0; day <= kDates; ++day) {
    const auto date = first.plus_days(day);
    const std::string id = fmt::format("crash/{}/w0", date);
    ASSERT_TRUE(triggers.count(id)) << id;
    const Message& t = triggers[id];
    ASSERT_TRUE(t.entities_changed);
    EXPECT_EQ(*t.entities_changed, expected_changes[date.to_string()]) << id;
    std::set<std::string> execs;
    for (const auto& l : t.trace_links) execs.insert(l.execution_id);
    EXPECT_EQ(execs, expected_execs[date.to_string()]) << id;
    EXPECT_EQ(t.status, CompletionStatus::kSuccess);
  }
  std::cout << "[ crash    ] killed " << killed << " (at_operation " << kills["at_operation"]
            << ", after_decision_commit " << kills["after_decision_commit"] << ", between_publish_and_mark "
            << kills["between_publish_and_mark"] << "); " << witnesses->size() << " decisions committed of "
            << attempts.size() << " attempted; " << lost_lines << " reports lost to a kill; " << published
            << " publishes\n";
}

#endif  // PIPELINE_TEST_HAVE_SQLITE

}  // namespace completion_crash_test
}  // namespace pipeline
