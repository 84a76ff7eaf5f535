// Kill -9 tests: writers and relays on one SQLite file are SIGKILLed at random points;
// afterwards nothing committed is lost and every outbox entry was published at least once
// with its id, and an IdempotentConsumer processes each id once.

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <iostream>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "orchestrate/outbox_test_support.hpp"
#include "pipeline/core/manual_clock.hpp"
#include "pipeline/orchestrate/idempotent_consumer.hpp"
#include "pipeline/orchestrate/outbox_relay.hpp"
#include "pipeline/orchestrate/run_history.hpp"
#include "pipeline/sqlite/sqlite_state_store.hpp"
#include "temp_dir.hpp"

namespace crash_test {

using pipeline::SqliteStateStore;
using pipeline::Status;
using pipeline::Transaction;
using pipeline::testing::TempDir;

// Appends one line and returns only once it is on disk.
bool append_line(const std::string& path, const std::string& line, bool sync) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (fd < 0) return false;
  const std::string text = line + "\n";
  const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && (!sync || ::fsync(fd) == 0);
  ::close(fd);
  return ok;
}

std::vector<std::string> read_lines(const std::string& path) {
  std::vector<std::string> out;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// A transport that appends "id<TAB>payload" to a file and fsyncs before returning.
class FileTransport final : public pipeline::Transport {
 public:
  explicit FileTransport(std::string path) : path_(std::move(path)) {}
  Status publish(std::string_view, pipeline::OutgoingMessage m) override {
    if (!append_line(path_, m.id + "\t" + m.payload, true))
      return pipeline::fail(pipeline::ErrorCode::kUnavailable, "cannot append to the publish log");
    return pipeline::ok();
  }
  pipeline::Result<std::unique_ptr<pipeline::Subscription>> subscribe(const pipeline::SubscriptionConfig&,
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

// Child: commits a row and its outbox entry per transaction, logging each key after commit.
// synchronous=FULL paces it by an fsync per commit, like the relay's fsync per publish.
[[noreturn]] void run_writer(const std::string& db, const std::string& log, int generation) {
  auto store = SqliteStateStore::open(db, {.synchronous = pipeline::SqliteSynchronous::kFull});
  if (!store) ::_exit(2);
  for (int i = 0;; ++i) {
    const std::string id = fmt::format("g{}-{}", generation, i);
    auto st = (*store)->transact([&](Transaction& tx) -> Status {
      PIPELINE_TRY(tx.put("row/" + id, "value-" + id));
      return tx.enqueue({"crash-topic", {"msg-" + id, "payload-" + id, {}}}).map([](bool) {});
    });
    if (!st) ::_exit(3);
    if (!append_line(log, "row/" + id, false)) ::_exit(4);
  }
}

// Child: relays forever. Each generation's clock starts an hour after the previous one's,
// so leases held by killed relays (1 minute) have expired for the next generation.
[[noreturn]] void run_relay(const std::string& db, const std::string& published, int generation) {
  auto store = SqliteStateStore::open(db);
  if (!store) ::_exit(2);
  pipeline::ManualClock clock(pipeline::ManualClock::kDefaultStart + std::chrono::hours(generation));
  FileTransport transport(published);
  pipeline::OutboxRelay relay(**store, transport, clock,
                              {.owner = fmt::format("relay-{}", generation), .batch_size = 5,
                               .lease = std::chrono::minutes(1)});
  for (;;) {
    if (!relay.relay_once()) ::_exit(3);
  }
}

TEST(SqliteCrash, KilledWritersAndRelaysLoseNothingAndRepublishWithSameIds) {
  TempDir dir;
  const std::string db = dir.file("state.db");
  const std::string committed_log = dir.file("committed.log");
  const std::string published_log = dir.file("published.log");
  ASSERT_TRUE(SqliteStateStore::open(db));
  std::mt19937 rng(std::random_device{}());
  std::uniform_int_distribution<int> delay_ms(30, 150);
  constexpr int kGenerations = 8;
  for (int g = 0; g < kGenerations; ++g) {
    const pid_t writer = ::fork();
    ASSERT_GE(writer, 0);
    if (writer == 0) run_writer(db, committed_log, g);
    const pid_t relay = ::fork();
    ASSERT_GE(relay, 0);
    if (relay == 0) run_relay(db, published_log, g);
    // Random kill timing; nothing below asserts on time.
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms(rng)));
    ::kill(relay, SIGKILL);
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms(rng) / 3));
    ::kill(writer, SIGKILL);
    for (pid_t pid : {writer, relay}) {
      int status = 0;
      ASSERT_EQ(::waitpid(pid, &status, 0), pid);
      ASSERT_TRUE(WIFSIGNALED(status)) << "child exited early with " << WEXITSTATUS(status);
    }
  }

  auto store = SqliteStateStore::open(db);
  ASSERT_TRUE(store);
  // A last relay publishes what the killed ones left.
  pipeline::ManualClock clock(pipeline::ManualClock::kDefaultStart + std::chrono::hours(kGenerations));
  FileTransport transport(published_log);
  pipeline::OutboxRelay relay(**store, transport, clock, {.owner = "final", .lease = std::chrono::minutes(1)});
  ASSERT_TRUE(relay.drain(100000));
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
  std::size_t publish_lines = 0;
  for (const auto& line : read_lines(published_log)) {
    const auto tab = line.find('\t');
    ASSERT_NE(tab, std::string::npos) << "torn publish line: " << line;
    const std::string id = line.substr(0, tab);
    published[id] = line.substr(tab + 1);
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

  // An IdempotentConsumer reading the publish log processes each id once.
  std::map<std::string, int> runs;
  pipeline::IdempotentConsumer consumer(**store, "crash-consumer",
                                        [&](Transaction& tx, const pipeline::Delivery& d) -> Status {
                                          ++runs[d.id()];
                                          return tx.put("effect/" + d.id(), d.payload());
                                        });
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
  std::cout << "[ crash    ] committed " << committed.size() << ", stored " << rows->size() << ", published lines "
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
        pipeline::RunHistory history(**store, clock);
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
      int status = 0;
      ASSERT_EQ(::waitpid(pid, &status, 0), pid);
      ASSERT_TRUE(WIFEXITED(status));
      const int code = WEXITSTATUS(status);
      ASSERT_TRUE(code == 0 || code == 1) << "child failed with " << code;
      (code == 0 ? started : lost)++;
    }
    EXPECT_EQ(started, 1);
    EXPECT_EQ(lost, 1);
  }
}

}  // namespace crash_test
