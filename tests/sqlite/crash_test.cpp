// Kill -9 tests: writers and relays on one SQLite file are SIGKILLed at chosen store
// operations (a relay always once between publish and mark); afterwards nothing committed
// is lost, every outbox entry was published at least once with its id, and an
// IdempotentConsumer processes each id once.

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <iostream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "child_process.hpp"
#include "orchestrate/outbox_test_support.hpp"
#include "pipeline/core/manual_clock.hpp"
#include "pipeline/mocks/counting_state_store.hpp"
#include "pipeline/orchestrate/idempotent_consumer.hpp"
#include "pipeline/orchestrate/outbox_relay.hpp"
#include "pipeline/orchestrate/run_history.hpp"
#include "pipeline/sqlite/sqlite_state_store.hpp"
#include "temp_dir.hpp"
#include "test_seed.hpp"

namespace crash_test {

using pipeline::SqliteStateStore;
using pipeline::Status;
using pipeline::Transaction;
using pipeline::mocks::CountingStateStore;
using pipeline::mocks::StoreCall;
using pipeline::mocks::StoreOperation;
using pipeline::testing::append_line;
using pipeline::testing::read_lines;
using pipeline::testing::TempDir;

// A transport that appends "id<TAB>payload" to a file and fsyncs before returning.
class FileTransport final : public pipeline::Transport {
 public:
  explicit FileTransport(std::string path) : path_(std::move(path)) {}
  Status do_publish(pipeline::PublishParams params) override {
    if (!append_line(path_, params.message.id + "\t" + params.message.payload, true))
      return pipeline::fail(pipeline::ErrorCode::kUnavailable, "cannot append to the publish log");
    return pipeline::ok();
  }
  pipeline::Result<std::unique_ptr<pipeline::Subscription>> subscribe(const pipeline::SubscribeParams&,
                                                                       pipeline::Handler) override {
    return pipeline::fail(pipeline::ErrorCode::kFailedPrecondition, "FileTransport does not deliver");
  }
  pipeline::Result<std::vector<pipeline::DeadLetter>> dead_letters(std::string_view) override {
    return std::vector<pipeline::DeadLetter>{};
  }
  Status replay_dead_letter(std::string_view, std::string_view) override {
    return pipeline::fail(pipeline::ErrorCode::kNotFound, "none");
  }

 private:
  std::string path_;
};

// Where a relay dies: at its n-th claim_outbox (nothing claimed yet), at its n-th
// complete_outbox (the batch is published and not yet marked sent), or at its n-th store
// call of any kind.
enum class RelayKill { kAtClaim, kBetweenPublishAndMark, kAtOperation };

// Child: commits a row and its outbox entry per transaction and logs each key after the
// commit, until it kills itself at its `kill_at`-th store call (inside a transaction,
// between commit and log line, ...). synchronous=FULL paces it by an fsync per commit.
[[noreturn]] void run_writer(const std::string& db, const std::string& log, const std::string& kills, int generation,
                             long kill_at) {
  auto real = SqliteStateStore::open(db, {.synchronous = pipeline::SqliteSynchronous::kFull});
  if (!real) ::_exit(2);
  CountingStateStore store(**real, {.on_operation = [&](const StoreCall& c) {
                                      if (c.index != kill_at) return;
                                      (void)append_line(kills, fmt::format("writer {} call {}", generation, c.index));
                                      ::kill(::getpid(), SIGKILL);
                                    }});
  for (int i = 0;; ++i) {
    const std::string id = fmt::format("g{}-{}", generation, i);
    auto st = store.transact([&](Transaction& tx) -> Status {
      PIPELINE_TRY(tx.put("row/" + id, "value-" + id));
      return tx.enqueue({"crash-topic", {"msg-" + id, "payload-" + id, {}}}).map([](bool) {});
    });
    if (!st) ::_exit(3);
    if (!append_line(log, "row/" + id, false)) ::_exit(4);
  }
}

// Whether the parent closed its end of `fd` (the writer of this generation has ended).
bool writer_gone(int fd) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLIN)) != 0;
}

// Child: relays until it kills itself at its planned store call, or until the writer has
// ended and nothing is left to claim (then exits 0). Each generation's clock starts an
// hour after the previous one's, so leases held by killed relays (1 minute) have expired
// for the next generation.
[[noreturn]] void run_relay(const std::string& db, const std::string& published, const std::string& kills,
                            int generation, RelayKill kind, long n, int writer_done) {
  auto real = SqliteStateStore::open(db);
  if (!real) ::_exit(2);
  long seen = 0;
  auto kill_here = [&](const StoreCall& c) {
    switch (kind) {
      case RelayKill::kAtClaim: return c.operation == StoreOperation::kClaim && ++seen == n;
      case RelayKill::kBetweenPublishAndMark: return c.operation == StoreOperation::kComplete && ++seen == n;
      case RelayKill::kAtOperation: return c.index == n;
    }
    return false;
  };
  CountingStateStore store(**real, {.on_operation = [&](const StoreCall& c) {
                                      if (!kill_here(c)) return;
                                      // The ids of a batch published and not yet marked sent.
                                      std::string line = fmt::format("relay {} {}", generation, static_cast<int>(kind));
                                      if (c.ids)
                                        for (const auto& id : *c.ids) line += " " + id;
                                      (void)append_line(kills, line);
                                      ::kill(::getpid(), SIGKILL);
                                    }});
  pipeline::ManualClock clock(pipeline::ManualClock::kDefaultStart + std::chrono::hours(generation));
  FileTransport transport(published);
  auto relay = pipeline::OutboxRelay::create(clock, store, transport, {.owner = fmt::format("relay-{}", generation), .batch_size = 5,
                               .lease = std::chrono::minutes(1)}).value();
  for (;;) {
    const bool last_round = writer_gone(writer_done);  // before claiming: nothing is written after
    auto n_relayed = relay->relay_once();
    if (!n_relayed) ::_exit(3);
    if (*n_relayed == 0 && last_round) ::_exit(0);
  }
}

TEST(SqliteCrash, KilledWritersAndRelaysLoseNothingAndRepublishWithSameIds) {
  const unsigned seed = pipeline::testing::test_seed(20251118);
  TempDir dir;
  const std::string db = dir.file("state.db");
  const std::string committed_log = dir.file("committed.log");
  const std::string published_log = dir.file("published.log");
  const std::string kills_log = dir.file("kills.log");
  ASSERT_TRUE(SqliteStateStore::open(db));
  std::mt19937 rng(seed);
  constexpr int kGenerations = 9;
  int writers_killed = 0, relays_killed = 0, relays_clean = 0;
  for (int g = 0; g < kGenerations; ++g) {
    // A writer call is transact, attempt, put, enqueue or commit (five per row): it dies
    // after 10 to 40 rows, at any of them. The relay's plan cycles through the kinds; a
    // relay planned to die between publish and mark dies at its first or second batch
    // (the writer commits at least 10 rows, 5 per batch, so that call always comes).
    const long writer_kill_at = 50 + static_cast<long>(rng() % 151);
    const auto relay_kind = static_cast<RelayKill>(g % 3);
    const long relay_n = relay_kind == RelayKill::kAtOperation ? 1 + static_cast<long>(rng() % 12)
                                                               : 1 + static_cast<long>(rng() % 2);
    int gate[2];
    ASSERT_EQ(::pipe(gate), 0);
    const pid_t writer = ::fork();
    ASSERT_GE(writer, 0);
    if (writer == 0) {
      ::close(gate[0]);
      run_writer(db, committed_log, kills_log, g, writer_kill_at);
    }
    const pid_t relay = ::fork();
    ASSERT_GE(relay, 0);
    if (relay == 0) {
      ::close(gate[1]);
      run_relay(db, published_log, kills_log, g, relay_kind, relay_n, gate[0]);
    }
    ::close(gate[0]);
    const auto w = pipeline::testing::wait_child(writer);
    ::close(gate[1]);  // the relay may finish once the outbox is empty
    const auto r = pipeline::testing::wait_child(relay);
    ASSERT_TRUE(w) << "generation " << g << ": the writer did not end within the deadline";
    ASSERT_TRUE(r) << "generation " << g << ": the relay did not end within the deadline";
    ASSERT_TRUE(pipeline::testing::killed_by_sigkill(*w))
        << "generation " << g << ": the writer " << pipeline::testing::describe_status(*w);
    ++writers_killed;
    if (pipeline::testing::killed_by_sigkill(*r)) ++relays_killed;
    else if (pipeline::testing::exited_cleanly(*r)) ++relays_clean;
    else FAIL() << "generation " << g << ": the relay " << pipeline::testing::describe_status(*r);
  }

  // The kills the children announced (one line each, just before SIGKILL).
  std::vector<std::vector<std::string>> between_publish_and_mark;  // the ids of each such kill
  for (const auto& line : read_lines(kills_log)) {
    std::istringstream in(line);
    std::string who;
    int generation = 0, kind = 0;
    in >> who >> generation >> kind;
    if (who == "relay" && kind == static_cast<int>(RelayKill::kBetweenPublishAndMark)) {
      std::vector<std::string> ids;
      for (std::string id; in >> id;) ids.push_back(id);
      between_publish_and_mark.push_back(std::move(ids));
    }
  }
  ASSERT_GE(between_publish_and_mark.size(), 1u) << "no relay was killed between publish and mark";

  auto store = SqliteStateStore::open(db);
  ASSERT_TRUE(store);
  // A last relay publishes what the killed ones left.
  pipeline::ManualClock clock(pipeline::ManualClock::kDefaultStart + std::chrono::hours(kGenerations));
  FileTransport transport(published_log);
  auto relay = pipeline::OutboxRelay::create(clock, **store, transport, {.owner = "final", .lease = std::chrono::minutes(1)}).value();
  ASSERT_TRUE(relay->drain(100000));
  EXPECT_EQ((*store)->pending_outbox().value(), 0u);

  // Nothing committed is lost.
  const auto committed = read_lines(committed_log);
  ASSERT_GT(committed.size(), 0u) << "the writers made no progress";
  for (const auto& key : committed) {
    auto v = (*store)->get(key);
    ASSERT_TRUE(v);
    ASSERT_TRUE(v->has_value()) << "committed row lost: " << key;
  }

  // Every outbox entry (one per stored row) was published at least once, with its id and payload.
  std::map<std::string, std::string> published;
  std::map<std::string, int> publishes;
  std::size_t publish_lines = 0;
  for (const auto& line : read_lines(published_log)) {
    const auto tab = line.find('\t');
    ASSERT_NE(tab, std::string::npos) << "torn publish line: " << line;
    const std::string id = line.substr(0, tab);
    published[id] = line.substr(tab + 1);
    ++publishes[id];
    ++publish_lines;
  }
  auto rows = (*store)->scan("row/");
  ASSERT_TRUE(rows);
  EXPECT_GE(rows->size(), committed.size());
  for (const auto& row : *rows) {
    const std::string id = row.key.substr(4);
    auto it = published.find("msg-" + id);
    ASSERT_NE(it, published.end()) << "outbox entry never published: msg-" << id;
    EXPECT_EQ(it->second, "payload-" + id);
  }
  EXPECT_EQ(published.size(), rows->size());
  // What a relay published and died before marking was published again, with its id.
  for (const auto& ids : between_publish_and_mark) {
    ASSERT_FALSE(ids.empty());
    for (const auto& id : ids) EXPECT_GE(publishes[id], 2) << id << " was published, not marked, and never republished";
  }

  // An IdempotentConsumer reading the publish log processes each id once.
  std::map<std::string, int> runs;
  auto consumer = pipeline::IdempotentConsumer::create(**store, [&](Transaction& tx, const pipeline::Delivery& d) -> Status {
                                          ++runs[d.id()];
                                          return tx.put("effect/" + d.id(), d.payload());
                                        }, {"crash-consumer"}).value();
  std::size_t duplicates = 0;
  for (const auto& line : read_lines(published_log)) {
    const auto tab = line.find('\t');
    pipeline::outbox_test::RecordedDelivery d(line.substr(0, tab), line.substr(tab + 1));
    auto outcome = consumer.process(d);
    ASSERT_TRUE(outcome) << outcome.error().to_string();
    if (*outcome == pipeline::IdempotentConsumer::Outcome::kDuplicate) ++duplicates;
  }
  EXPECT_EQ(runs.size(), published.size());
  for (const auto& [id, n] : runs) EXPECT_EQ(n, 1) << id;
  EXPECT_EQ(duplicates, publish_lines - published.size());
  std::cout << "[ crash    ] writers killed " << writers_killed << ", relays killed " << relays_killed << " ("
            << between_publish_and_mark.size() << " between publish and mark), relays finished " << relays_clean
            << "; committed " << committed.size() << ", stored " << rows->size() << ", published lines "
            << publish_lines << ", redelivered " << duplicates << "\n";
}

// Two processes race to start the same run; exactly one wins every time.
TEST(SqliteCrash, TwoProcessesStartingOneRunExactlyOneWins) {
  TempDir dir;
  const std::string db = dir.file("runs.db");
  ASSERT_TRUE(SqliteStateStore::open(db));
  constexpr int kRounds = 5;
  for (int round = 0; round < kRounds; ++round) {
    int gate[2];
    ASSERT_EQ(::pipe(gate), 0);
    std::vector<pid_t> children;
    for (int p = 0; p < 2; ++p) {
      const pid_t pid = ::fork();
      ASSERT_GE(pid, 0);
      if (pid == 0) {
        ::close(gate[1]);
        auto store = SqliteStateStore::open(db);
        if (!store) ::_exit(10);
        pipeline::ManualClock clock;
        pipeline::RunHistory history = pipeline::RunHistory::create(clock, **store).value();
        char c;
        if (::read(gate[0], &c, 1) < 0) ::_exit(11);  // returns at EOF: both start together
        auto r = history.try_start({"proc", pipeline::CalendarDate::parse("2025-11-18").value(), round},
                                   fmt::format("p{}", p), std::chrono::hours(1));
        if (!r) ::_exit(12);
        ::_exit(r->decision == pipeline::StartDecision::kStarted ? 0 : 1);
      }
      children.push_back(pid);
    }
    ::close(gate[0]);
    ::close(gate[1]);
    int started = 0, lost = 0;
    for (pid_t pid : children) {
      const auto waited = pipeline::testing::wait_child(pid);
      ASSERT_TRUE(waited) << "a child did not end within the deadline";
      const int status = *waited;
      ASSERT_TRUE(WIFEXITED(status)) << "child " << pipeline::testing::describe_status(status);
      const int code = WEXITSTATUS(status);
      ASSERT_TRUE(code == 0 || code == 1) << "child " << pipeline::testing::describe_status(status);
      (code == 0 ? started : lost)++;
    }
    EXPECT_EQ(started, 1);
    EXPECT_EQ(lost, 1);
  }
}

}  // namespace crash_test
