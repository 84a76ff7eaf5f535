// kill -9 over a shared SQLite file: several processes record completions (each delivered
// 1-3 times, shuffled) and relay triggers; each is SIGKILLed at a random store operation
// (inside a transaction, after a commit, in the middle of a relay). Restarted processes
// redeliver everything; a final relay runs. The result must equal a run without crashes:
// one decision per date, one outbox entry per decision, every trigger published (maybe
// twice: a relay killed between publish and mark) and run once by an idempotent consumer.
#include <fcntl.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "pipeline/core/manual_clock.hpp"
#include "pipeline/core/message_codec.hpp"
#include "pipeline/memory/memory_transport.hpp"
#include "pipeline/orchestrate/completion_tracker.hpp"
#include "pipeline/orchestrate/idempotent_consumer.hpp"
#include "pipeline/orchestrate/outbox_relay.hpp"
#ifdef PIPELINE_TEST_HAVE_SQLITE
#include "pipeline/sqlite/sqlite_state_store.hpp"
#endif

namespace pipeline {
namespace completion_crash_test {

#ifdef PIPELINE_TEST_HAVE_SQLITE

using Names = std::vector<std::string>;
const Names kUpstream = {"r0", "r1", "r2", "r3", "r4"};

CompletionTrackerConfig crash_config() {
  CompletionTrackerConfig c;
  c.name = "crash";
  c.upstream_phase = "up";
  c.downstream_phase = "down";
  c.expected = kUpstream;
  c.trigger_topic = "crash-trigger";
  c.deadline = std::nullopt;
  for (const auto& p : kUpstream) (void)c.registry.add_processor(p, "up");
  (void)c.registry.add_processor("d", "down");
  for (const auto& p : kUpstream) (void)c.registry.add_trigger(p, {"d"});
  return c;
}

// Counts store operations and SIGKILLs its own process at the `kill_at`-th one (0: never).
class KillingStore final : public StateStore {
 public:
  KillingStore(StateStore& inner, long kill_at) : inner_(inner), kill_at_(kill_at) {}

  Status transact(const Body& body, const TransactionOptions& options = {}) override {
    tick();
    auto st = inner_.transact(
        [&](Transaction& tx) -> Status {
          Tx wrapped(*this, tx);
          return body(wrapped);
        },
        options);
    tick();  // after the commit, before the caller learns of it
    return st;
  }
  Result<std::vector<OutboxRow>> claim_outbox(std::string_view owner, std::size_t max, TimePoint now,
                                              Duration lease) override {
    tick();
    auto r = inner_.claim_outbox(owner, max, now, lease);
    tick();
    return r;
  }
  Status complete_outbox(const std::vector<std::string>& ids) override {
    tick();
    return inner_.complete_outbox(ids);
  }
  Result<std::size_t> pending_outbox() override { return inner_.pending_outbox(); }

  void tick() {
    if (kill_at_ > 0 && ++ops_ >= kill_at_) ::kill(::getpid(), SIGKILL);
  }

 private:
  class Tx final : public Transaction {
   public:
    Tx(KillingStore& s, Transaction& inner) : s_(s), inner_(inner) {}
    Result<std::optional<std::string>> get(std::string_view k) override { s_.tick(); return inner_.get(k); }
    Status put(std::string_view k, std::string_view v) override { s_.tick(); return inner_.put(k, v); }
    Result<bool> insert(std::string_view k, std::string_view v) override { s_.tick(); return inner_.insert(k, v); }
    Result<bool> erase(std::string_view k) override { s_.tick(); return inner_.erase(k); }
    Result<std::vector<Row>> scan(std::string_view p, const ScanOptions& o) override {
      s_.tick();
      return inner_.scan(p, o);
    }
    Result<bool> enqueue(OutboxMessage e) override { s_.tick(); return inner_.enqueue(std::move(e)); }

   private:
    KillingStore& s_;
    Transaction& inner_;
  };

  StateStore& inner_;
  long kill_at_;
  long ops_ = 0;
};

// A durable stand-in for an external broker: every publish appends one JSON line to a
// file (O_APPEND, one write), so what a killed process published survives it.
class FileLogTransport final : public Transport {
 public:
  explicit FileLogTransport(std::string path) : path_(std::move(path)) {}
  Status publish(std::string_view topic, OutgoingMessage m) override {
    const std::string line =
        nlohmann::json{{"topic", topic}, {"id", m.id}, {"payload", m.payload}}.dump() + "\n";
    const int fd = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT, 0644);
    if (fd < 0) return fail(ErrorCode::kUnavailable, "cannot open {}", path_);
    const auto n = ::write(fd, line.data(), line.size());
    ::close(fd);
    if (n != static_cast<ssize_t>(line.size())) return fail(ErrorCode::kUnavailable, "short write to {}", path_);
    return ok();
  }
  Result<std::unique_ptr<Subscription>> subscribe(const SubscriptionConfig&, Handler) override {
    return fail(ErrorCode::kFailedPrecondition, "FileLogTransport only publishes");
  }
  Result<std::vector<DeadLetter>> dead_letters(std::string_view) override { return std::vector<DeadLetter>{}; }
  Status replay_dead_letter(std::string_view, std::string_view) override {
    return fail(ErrorCode::kNotFound, "no dead letters");
  }

 private:
  std::string path_;
};

// One worker process: records its completions, relaying every few; may be killed.
[[noreturn]] void worker(const std::string& db, const std::string& log, const std::vector<Message>& work,
                         long kill_at) {
  auto real = SqliteStateStore::open(db);
  if (!real) ::_exit(10);
  KillingStore store(**real, kill_at);
  ManualClock clock;
  auto tracker = CompletionTracker::create(store, clock, crash_config());
  if (!tracker) ::_exit(11);
  FileLogTransport transport(log);
  OutboxRelayOptions options;
  options.owner = fmt::format("relay-{}", ::getpid());
  options.batch_size = 4;
  OutboxRelay relay(store, transport, clock, options);
  for (std::size_t i = 0; i < work.size(); ++i) {
    // Transient errors (the file is busy past the retries) are what a redelivery fixes:
    // retry like a transport would.
    for (int attempt = 0; attempt < 50 && !(*tracker)->record_completion(work[i]); ++attempt) {
    }
    if (i % 3 == 2) (void)relay.relay_once();
  }
  (void)relay.drain();
  ::_exit(0);
}

struct RoundResult {
  int killed = 0;
  int clean = 0;
};

RoundResult run_round(const std::string& db, const std::string& log, const std::vector<std::vector<Message>>& slices,
              std::mt19937& rng, bool kill) {
  std::vector<pid_t> pids;
  for (const auto& slice : slices) {
    // About 10 store operations per completion: kill somewhere inside the slice's work.
    const long kill_at = kill ? 1 + static_cast<long>(rng() % (slice.size() * 10 + 1)) : 0;
    const pid_t pid = ::fork();
    if (pid == 0) worker(db, log, slice, kill_at);
    pids.push_back(pid);
  }
  RoundResult r;
  for (pid_t pid : pids) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) ++r.killed;
    else if (WIFEXITED(status) && WEXITSTATUS(status) == 0) ++r.clean;
  }
  return r;
}

TEST(CompletionCrash, KillNineAtRandomPointsThenRestartAndRelayGivesTheSameResult) {
  const auto dir = std::filesystem::temp_directory_path() /
                   fmt::format("pipeline-crash-{}-{}", ::getpid(), std::random_device{}());
  std::filesystem::create_directories(dir);
  const std::string db = (dir / "state.db").string(), log = (dir / "published.log").string();
  constexpr int kDates = 10;
  constexpr int kProcesses = 3;
  std::mt19937 rng(20251118);

  // The completions and, per date, the union of changes a crash-free run would trigger.
  const CalendarDate first = *CalendarDate::parse("2025-11-01");
  std::vector<Message> deliveries;
  std::map<std::string, EntityChanges> expected_changes;
  std::map<std::string, std::set<std::string>> expected_execs;
  for (int day = 0; day < kDates; ++day) {
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
      const int copies = 1 + static_cast<int>(rng() % 3);
      for (int c = 0; c < copies; ++c) deliveries.push_back(m);
    }
  }

  // Two rounds of processes killed at random points, each with a shuffled share.
  int killed = 0;
  for (int round = 0; round < 2; ++round) {
    std::shuffle(deliveries.begin(), deliveries.end(), rng);
    std::vector<std::vector<Message>> slices(kProcesses);
    for (std::size_t i = 0; i < deliveries.size(); ++i) slices[i % kProcesses].push_back(deliveries[i]);
    killed += run_round(db, log, slices, rng, /*kill=*/true).killed;
  }
  EXPECT_GT(killed, 0) << "the test must actually kill processes";

  // Restart: nothing was acknowledged, so every delivery comes again (shuffled, split).
  std::shuffle(deliveries.begin(), deliveries.end(), rng);
  std::vector<std::vector<Message>> slices(kProcesses);
  for (std::size_t i = 0; i < deliveries.size(); ++i) slices[i % kProcesses].push_back(deliveries[i]);
  const RoundResult restart = run_round(db, log, slices, rng, /*kill=*/false);
  EXPECT_EQ(restart.clean, kProcesses);

  // Final relay (leases of killed relays have expired by now) into the durable log.
  auto store = SqliteStateStore::open(db);
  ASSERT_TRUE(store) << store.error().to_string();
  ManualClock clock(ManualClock::kDefaultStart + std::chrono::hours(1));
  FileLogTransport file_log(log);
  OutboxRelay relay(**store, file_log, clock);
  ASSERT_TRUE(relay.drain());
  ASSERT_TRUE((*store)->pending_outbox());
  EXPECT_EQ(*(*store)->pending_outbox(), 0u);

  // One decision per date, wave 0 only.
  for (int day = 0; day < kDates; ++day) {
    const auto date = first.plus_days(day);
    auto decisions = (*store)->scan(fmt::format("tracker/crash/{}/decision/", date));
    ASSERT_TRUE(decisions);
    ASSERT_EQ(decisions->size(), 1u) << date.to_string();
    EXPECT_EQ((*decisions)[0].key, fmt::format("tracker/crash/{}/decision/w000", date));
    auto s = CompletionTracker::load_status(**store, "crash", date);
    ASSERT_TRUE(s);
    EXPECT_TRUE(s->missing.empty());
    EXPECT_EQ(s->done.size(), kUpstream.size());
  }

  // Everything published, possibly twice, goes to an idempotent consumer: once per id.
  MemoryTransport transport(clock);
  std::map<std::string, int> runs;
  std::map<std::string, Message> triggers;
  IdempotentConsumer consumer(**store, "crash-downstream", [&](Transaction& tx, const Delivery& d) -> Status {
    auto m = decode_message(d.payload());
    if (!m) return fail(m.error());
    triggers[d.id()] = *m;
    return tx.put("crash-out/" + d.id(), "ran");
  });
  auto sub = transport.subscribe({"crash-downstream", "crash-trigger", {}}, [&](DeliveryPtr d) {
    auto r = consumer.process(*d);
    ASSERT_TRUE(r) << r.error().to_string();
    if (*r == IdempotentConsumer::Outcome::kProcessed) ++runs[d->id()];
    (void)d->ack();
  });
  ASSERT_TRUE(sub);
  std::ifstream in(log);
  std::string line;
  int published = 0;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line);
    ASSERT_EQ(j["topic"], "crash-trigger");
    ASSERT_TRUE(transport.publish("crash-trigger", {j["id"].get<std::string>(), j["payload"].get<std::string>(), {}}));
    ++published;
  }
  transport.pump();
  EXPECT_GE(published, kDates);
  ASSERT_EQ(runs.size(), static_cast<std::size_t>(kDates));
  for (const auto& [id, n] : runs) EXPECT_EQ(n, 1) << id;

  // The same content a crash-free run decides.
  for (int day = 0; day < kDates; ++day) {
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
  std::filesystem::remove_all(dir);
}

#endif  // PIPELINE_TEST_HAVE_SQLITE

}  // namespace completion_crash_test
}  // namespace pipeline
