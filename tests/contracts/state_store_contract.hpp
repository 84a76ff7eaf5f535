#pragma once
/// @file
/// The `StateStore` contract: a parameterized GoogleTest suite every implementation
/// instantiates unchanged.
///
/// Usage, in one .cpp of the implementation's test binary:
/// @code
///   INSTANTIATE_TEST_SUITE_P(Memory, StateStoreContract,
///       ::testing::Values(pipeline::contracts::StateStoreFactory{
///           "Memory", [] {
///             return std::make_shared<pipeline::MemoryStateStore>(pipeline::MemoryStateStore::create().value());
///           }}),
///       pipeline::contracts::factory_name);
/// @endcode
/// The factory returns a fresh, empty store per test; a deleter may clean up files.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "contracts/state_store_factory.hpp"
#include "pipeline/core/state_store.hpp"

namespace pipeline::contracts {

class StateStoreContract : public ::testing::TestWithParam<StateStoreFactory> {
 protected:
  void SetUp() override {
    store_ = GetParam().make();
    ASSERT_NE(store_, nullptr);
  }
  StateStore& store() { return *store_; }

  Status put(const std::string& key, const std::string& value) {
    return store().transact([&](Transaction& tx) { return tx.put(key, value); });
  }
  static OutboxMessage message(std::string id, std::string payload = "p") {
    return OutboxMessage{"topic-a", OutgoingMessage{std::move(id), std::move(payload), {{"k", "v"}}}};
  }
  static std::vector<std::string> keys(const std::vector<Row>& rows) {
    std::vector<std::string> out;
    for (const auto& r : rows) out.push_back(r.key);
    return out;
  }

  std::shared_ptr<StateStore> store_;
  TimePoint t0_ = TimePoint(std::chrono::seconds(1735689600));
};

TEST_P(StateStoreContract, GetOfMissingKeyIsEmpty) {
  auto r = store().get("missing");
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_FALSE(r->has_value());
}

TEST_P(StateStoreContract, PutThenGetReturnsValueAndPutOverwrites) {
  ASSERT_TRUE(put("a/1", "one"));
  EXPECT_EQ(store().get("a/1").value(), std::optional<std::string>("one"));
  ASSERT_TRUE(put("a/1", "uno"));
  EXPECT_EQ(store().get("a/1").value(), std::optional<std::string>("uno"));
}

TEST_P(StateStoreContract, InsertWritesOnlyWhenKeyIsAbsent) {
  std::vector<bool> results;
  ASSERT_TRUE(store().transact([&](Transaction& tx) -> Status {
    auto first = tx.insert("k", "first");
    if (!first) return fail(first.error());
    auto second = tx.insert("k", "second");
    if (!second) return fail(second.error());
    results = {*first, *second};
    return ok();
  }));
  EXPECT_EQ(results, (std::vector<bool>{true, false}));
  EXPECT_EQ(store().get("k").value(), std::optional<std::string>("first"));
}

TEST_P(StateStoreContract, EraseReportsWhetherTheRowExisted) {
  ASSERT_TRUE(put("k", "v"));
  bool existed = false, again = true;
  ASSERT_TRUE(store().transact([&](Transaction& tx) -> Status {
    existed = tx.erase("k").value();
    again = tx.erase("k").value();
    return ok();
  }));
  EXPECT_TRUE(existed);
  EXPECT_FALSE(again);
  EXPECT_FALSE(store().get("k").value().has_value());
}

TEST_P(StateStoreContract, ReadsSeeTheTransactionsOwnWrites) {
  ASSERT_TRUE(put("x/gone", "old"));
  ASSERT_TRUE(store().transact([&](Transaction& tx) -> Status {
    PIPELINE_TRY(tx.put("x/new", "1"));
    PIPELINE_TRY(tx.erase("x/gone"));
    EXPECT_EQ(tx.get("x/new").value(), std::optional<std::string>("1"));
    EXPECT_FALSE(tx.get("x/gone").value().has_value());
    EXPECT_EQ(keys(tx.scan("x/").value()), std::vector<std::string>{"x/new"});
    return ok();
  }));
}

TEST_P(StateStoreContract, BodyErrorRollsBackRowsAndOutbox) {
  ASSERT_TRUE(put("keep", "before"));
  auto st = store().transact([&](Transaction& tx) -> Status {
    PIPELINE_TRY(tx.put("keep", "after"));
    PIPELINE_TRY(tx.put("new", "x"));
    PIPELINE_TRY(tx.erase("keep"));
    PIPELINE_TRY(tx.enqueue(message("m-rolled-back")).map([](bool) {}));
    return fail(ErrorCode::kFailedPrecondition, "decided not to");
  });
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_EQ(st.error().message, "decided not to");
  EXPECT_EQ(store().get("keep").value(), std::optional<std::string>("before"));
  EXPECT_FALSE(store().get("new").value().has_value());
  EXPECT_EQ(store().pending_outbox().value(), 0u);
  // The rolled-back id was never enqueued, so it can be enqueued now.
  bool added = false;
  ASSERT_TRUE(store().transact([&](Transaction& tx) -> Status {
    added = tx.enqueue(message("m-rolled-back")).value();
    return ok();
  }));
  EXPECT_TRUE(added);
}

TEST_P(StateStoreContract, RollbackRestoresKeysWrittenSeveralTimes) {
  ASSERT_TRUE(put("w/old", "original"));
  auto st = store().transact([&](Transaction& tx) -> Status {
    PIPELINE_TRY(tx.put("w/old", "1"));
    PIPELINE_TRY(tx.put("w/old", "2"));
    PIPELINE_TRY(tx.erase("w/old").map([](bool) {}));
    PIPELINE_TRY(tx.put("w/old", "3"));
    PIPELINE_TRY(tx.insert("w/new", "a").map([](bool) {}));
    PIPELINE_TRY(tx.put("w/new", "b"));
    PIPELINE_TRY(tx.erase("w/new").map([](bool) {}));
    PIPELINE_TRY(tx.insert("w/new", "c").map([](bool) {}));
    return fail(ErrorCode::kFailedPrecondition, "roll back");
  });
  ASSERT_FALSE(st);
  EXPECT_EQ(store().get("w/old").value(), std::optional<std::string>("original"));
  EXPECT_FALSE(store().get("w/new").value().has_value());
  EXPECT_EQ(keys(store().scan("w/").value()), std::vector<std::string>{"w/old"});
}

TEST_P(StateStoreContract, CountMatchesPrefixScanAndSeesOwnWrites) {
  for (const char* k : {"c/a/1", "c/a/2", "c/a2", "c/b/1", "d/a/1"}) ASSERT_TRUE(put(k, "v"));
  ASSERT_TRUE(store().transact([&](Transaction& tx) -> Status {
    EXPECT_EQ(tx.count("c/a/").value(), 2u);
    EXPECT_EQ(tx.count("c/a").value(), 3u);
    EXPECT_EQ(tx.count("c/").value(), 4u);
    EXPECT_EQ(tx.count("e/").value(), 0u);
    PIPELINE_TRY(tx.put("c/a/3", "v"));
    PIPELINE_TRY(tx.erase("c/a/1").map([](bool) {}));
    PIPELINE_TRY(tx.put("c/a/4", "v"));
    EXPECT_EQ(tx.count("c/a/").value(), 3u);
    EXPECT_EQ(tx.count("c/a/").value(), tx.scan("c/a/").value().size());
    EXPECT_FALSE(tx.count("c/\x01"));  // a bad prefix is refused as in scan
    return ok();
  }));
}

TEST_P(StateStoreContract, RowsAndOutboxEntriesCommitTogether) {
  ASSERT_TRUE(store().transact([&](Transaction& tx) -> Status {
    PIPELINE_TRY(tx.put("decision/1", "decided"));
    PIPELINE_TRY(tx.enqueue(message("m-1", "payload-1")).map([](bool) {}));
    return tx.enqueue(message("m-2", "payload-2")).map([](bool) {});
  }));
  EXPECT_EQ(store().get("decision/1").value(), std::optional<std::string>("decided"));
  EXPECT_EQ(store().pending_outbox().value(), 2u);
  auto claimed = store().claim_outbox({"relay-1", 10, t0_, std::chrono::seconds(30)});
  ASSERT_TRUE(claimed) << claimed.error().to_string();
  ASSERT_EQ(claimed->size(), 2u);
  EXPECT_EQ((*claimed)[0].entry.message.id, "m-1");
  EXPECT_EQ((*claimed)[0].entry.message.payload, "payload-1");
  EXPECT_EQ((*claimed)[0].entry.topic, "topic-a");
  EXPECT_EQ((*claimed)[0].entry.message.attributes, (Attributes{{"k", "v"}}));
  EXPECT_EQ((*claimed)[0].claims, 1);
  EXPECT_EQ((*claimed)[1].entry.message.id, "m-2");
  EXPECT_LT((*claimed)[0].sequence, (*claimed)[1].sequence);
}

TEST_P(StateStoreContract, DuplicateOutboxIdIsIgnored) {
  std::vector<bool> added;
  ASSERT_TRUE(store().transact([&](Transaction& tx) -> Status {
    added.push_back(tx.enqueue(message("dup", "first")).value());
    added.push_back(tx.enqueue(message("dup", "second")).value());
    return ok();
  }));
  ASSERT_TRUE(store().complete_outbox({"dup"}));
  ASSERT_TRUE(store().transact([&](Transaction& tx) -> Status {
    added.push_back(tx.enqueue(message("dup", "third")).value());
    return ok();
  }));
  EXPECT_EQ(added, (std::vector<bool>{true, false, false}));
  EXPECT_EQ(store().pending_outbox().value(), 0u);
}

// Retention: only sent entries go, and only once their last lease ended; a pruned key
// may be enqueued again, a kept one may not.
TEST_P(StateStoreContract, PruneOutboxDeletesOnlySentEntriesWhoseLeaseEnded) {
  const auto lease = std::chrono::seconds(30);
  ASSERT_TRUE(store().transact([&](Transaction& tx) -> Status {
    for (const char* id : {"a", "b", "c", "d"}) PIPELINE_TRY(tx.enqueue(message(id)));
    return ok();
  }));
  ASSERT_EQ(store().claim_outbox({"relay", 3, t0_, lease}).value().size(), 3u);  // a, b, c until t0 + 30 s
  ASSERT_TRUE(store().complete_outbox({"a"}));
  // b and c again (their leases ended), until t0 + 70 s; only c is sent.
  ASSERT_EQ(store().claim_outbox({"relay", 2, t0_ + std::chrono::seconds(40), lease}).value().size(), 2u);
  ASSERT_TRUE(store().complete_outbox({"c"}));

  EXPECT_EQ(store().prune_outbox(t0_ + lease).value(), 0u) << "a's lease ends at t0 + 30 s, not before";
  EXPECT_EQ(store().prune_outbox(t0_ + std::chrono::seconds(60)).value(), 1u) << "a only";
  EXPECT_EQ(store().prune_outbox(t0_ + std::chrono::hours(24)).value(), 1u) << "c; b and d are unsent";
  EXPECT_EQ(store().prune_outbox(t0_ + std::chrono::hours(48)).value(), 0u);
  EXPECT_EQ(store().pending_outbox().value(), 2u);

  std::vector<bool> added;
  ASSERT_TRUE(store().transact([&](Transaction& tx) -> Status {
    for (const char* id : {"a", "b", "c", "d"}) added.push_back(tx.enqueue(message(id, "again")).value());
    return ok();
  }));
  EXPECT_EQ(added, (std::vector<bool>{true, false, true, false})) << "pruned keys are forgotten, kept ones are not";
  auto rows = store().claim_outbox({"relay", 10, t0_ + std::chrono::hours(49), lease}).value();
  std::vector<std::string> ids;
  for (const auto& r : rows) ids.push_back(r.entry.outbox_key());
  EXPECT_EQ(ids, (std::vector<std::string>{"b", "d", "a", "c"})) << "commit order, the re-enqueued ones last";
}

// A transport that lost what it accepted: entries sent since a time go out again, with
// their stable ids, in commit order; older sent entries and unsent ones are unchanged.
TEST_P(StateStoreContract, RequeueOutboxSendsAgainWhatWasSentSinceATime) {
  const auto lease = std::chrono::seconds(30);
  ASSERT_TRUE(store().transact([&](Transaction& tx) -> Status {
    for (const char* id : {"a", "b", "c", "d"}) PIPELINE_TRY(tx.enqueue(message(id, std::string("body-") + id)));
    return ok();
  }));
  ASSERT_EQ(store().claim_outbox({"relay", 1, t0_, lease}).value().size(), 1u);  // a, until t0 + 30 s
  ASSERT_TRUE(store().complete_outbox({"a"}));
  ASSERT_EQ(store().claim_outbox({"relay", 2, t0_ + std::chrono::minutes(5), lease}).value().size(), 2u);  // b, c
  ASSERT_TRUE(store().complete_outbox({"b", "c"}));
  EXPECT_EQ(store().pending_outbox().value(), 1u);

  EXPECT_EQ(store().requeue_outbox(t0_ + std::chrono::minutes(6)).value(), 0u) << "nothing sent since";
  EXPECT_EQ(store().requeue_outbox(t0_ + std::chrono::minutes(5)).value(), 2u) << "b and c, not a";
  EXPECT_EQ(store().pending_outbox().value(), 3u);
  // Claimable at once, though the lease of their last claim has not ended yet.
  auto rows = store().claim_outbox({"relay-2", 10, t0_ + std::chrono::minutes(5), lease}).value();
  std::vector<std::string> ids, payloads;
  for (const auto& r : rows) {
    ids.push_back(r.entry.message.id);
    payloads.push_back(r.entry.message.payload);
  }
  EXPECT_EQ(ids, (std::vector<std::string>{"b", "c", "d"}));
  EXPECT_EQ(payloads, (std::vector<std::string>{"body-b", "body-c", "body-d"}));
  ASSERT_TRUE(store().complete_outbox({"b", "c", "d"}));
  EXPECT_EQ(store().pending_outbox().value(), 0u);
  bool added = true;
  ASSERT_TRUE(store().transact([&](Transaction& tx) -> Status {
    added = tx.enqueue(message("b")).value();
    return ok();
  }));
  EXPECT_FALSE(added) << "a requeued key is still the outbox's";
}

TEST_P(StateStoreContract, InvalidOutboxEntryIsRejected) {
  auto st = store().transact([&](Transaction& tx) { return tx.enqueue(message("")).map([](bool) {}); });
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, ErrorCode::kInvalidArgument);
  OutboxMessage bad_key = message("m-ok");
  bad_key.key = std::string("k\n");
  st = store().transact([&](Transaction& tx) { return tx.enqueue(bad_key).map([](bool) {}); });
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, ErrorCode::kInvalidArgument);
}

// A replay sends a stable id the outbox already had, under an outbox key of its own:
// claimed with the original id (and its key), completed by key, never re-enqueued by key.
TEST_P(StateStoreContract, AnOutboxKeySendsTheSameStableIdAgain) {
  OutboxMessage replay = message("orig", "again");
  replay.key = "orig~replay1";
  std::vector<bool> added;
  ASSERT_TRUE(store().transact([&](Transaction& tx) -> Status {
    added.push_back(tx.enqueue(message("orig", "first")).value());
    added.push_back(tx.enqueue(replay).value());
    added.push_back(tx.enqueue(replay).value());
    return ok();
  }));
  EXPECT_EQ(added, (std::vector<bool>{true, true, false}));
  auto claimed = store().claim_outbox({"relay-1", 10, t0_, std::chrono::seconds(30)});
  ASSERT_TRUE(claimed) << claimed.error().to_string();
  ASSERT_EQ(claimed->size(), 2u);
  EXPECT_EQ((*claimed)[0].entry.message.id, "orig");
  EXPECT_EQ((*claimed)[0].entry.outbox_key(), "orig");
  EXPECT_EQ((*claimed)[1].entry.message.id, "orig");
  EXPECT_EQ((*claimed)[1].entry.outbox_key(), "orig~replay1");
  EXPECT_EQ((*claimed)[1].entry.message.payload, "again");
  EXPECT_EQ((*claimed)[1].entry.message.attributes, (Attributes{{"k", "v"}}));

  // Completing the key leaves the entry that delivers the same id under its own key.
  ASSERT_TRUE(store().complete_outbox({"orig~replay1"}));
  EXPECT_EQ(store().pending_outbox().value(), 1u);
  auto again = store().claim_outbox({"relay-2", 10, t0_ + std::chrono::minutes(1), std::chrono::seconds(30)});
  ASSERT_TRUE(again);
  ASSERT_EQ(again->size(), 1u);
  EXPECT_EQ(again->front().entry.outbox_key(), "orig");
  ASSERT_TRUE(store().complete_outbox({"orig"}));
  ASSERT_TRUE(store().transact([&](Transaction& tx) -> Status {
    added.push_back(tx.enqueue(replay).value());  // a sent key stays taken
    OutboxMessage second = message("orig");
    second.key = "orig~replay2";
    added.push_back(tx.enqueue(second).value());
    return ok();
  }));
  EXPECT_EQ(added, (std::vector<bool>{true, true, false, false, true}));
  EXPECT_EQ(store().pending_outbox().value(), 1u);
}

TEST_P(StateStoreContract, ConcurrentReadModifyWriteLosesNoIncrement) {
  constexpr int kThreads = 4;
  constexpr int kIncrements = 50;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kIncrements; ++i) {
        auto st = store().transact([&](Transaction& tx) -> Status {
          for (const std::string& key : {std::string("counter/shared"), "counter/" + std::to_string(t)}) {
            auto cur = tx.get(key);
            if (!cur) return fail(cur.error());
            const int n = cur->has_value() ? std::stoi(**cur) : 0;
            PIPELINE_TRY(tx.put(key, std::to_string(n + 1)));
          }
          return ok();
        });
        if (!st) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(store().get("counter/shared").value(), std::optional<std::string>(std::to_string(kThreads * kIncrements)));
  for (int t = 0; t < kThreads; ++t)
    EXPECT_EQ(store().get("counter/" + std::to_string(t)).value(), std::optional<std::string>(std::to_string(kIncrements)));
}

TEST_P(StateStoreContract, BodyReturningConflictIsRetried) {
  int runs = 0;
  auto st = store().transact([&](Transaction& tx) -> Status {
    ++runs;
    PIPELINE_TRY(tx.put("attempt/" + std::to_string(runs), "x"));
    if (runs < 3) return fail(ErrorCode::kConflict, "try again");
    return ok();
  });
  ASSERT_TRUE(st) << st.error().to_string();
  EXPECT_EQ(runs, 3);
  // Only the successful attempt's writes remain.
  EXPECT_EQ(keys(store().scan("attempt/").value()), std::vector<std::string>{"attempt/3"});
}

TEST_P(StateStoreContract, ConflictAfterLastAttemptIsReturned) {
  int runs = 0;
  auto st = store().transact(
      [&](Transaction&) -> Status {
        ++runs;
        return fail(ErrorCode::kConflict, "always");
      },
      TransactionOptions{.max_attempts = 4});
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, ErrorCode::kConflict);
  EXPECT_EQ(runs, 4);
}

TEST_P(StateStoreContract, PrefixScanIsOrderedAndExcludesNeighbours) {
  for (const char* k : {"a/bc", "a/b/2", "a/b/10", "a/b/1", "a/a", "a/b", "b/x", "a/b0"}) ASSERT_TRUE(put(k, k));
  auto rows = store().scan("a/b/");
  ASSERT_TRUE(rows);
  EXPECT_EQ(keys(*rows), (std::vector<std::string>{"a/b/1", "a/b/10", "a/b/2"}));
  EXPECT_EQ((*rows)[0].value, "a/b/1");
  EXPECT_EQ(keys(store().scan("a/b").value()),
            (std::vector<std::string>{"a/b", "a/b/1", "a/b/10", "a/b/2", "a/b0", "a/bc"}));
  EXPECT_EQ(keys(store().scan("").value()).size(), 8u);
  EXPECT_TRUE(store().scan("c/").value().empty());
}

TEST_P(StateStoreContract, PrefixScanPagesWithLimitAndStartAfter) {
  for (int i = 0; i < 7; ++i) ASSERT_TRUE(put("p/" + std::to_string(i), "v"));
  ASSERT_TRUE(put("q/0", "v"));
  std::vector<std::string> all;
  ScanOptions opts{.limit = 3, .start_after = ""};
  for (int page = 0; page < 10; ++page) {
    auto rows = store().scan("p/", opts).value();
    if (rows.empty()) break;
    EXPECT_LE(rows.size(), 3u);
    for (auto& r : rows) all.push_back(r.key);
    opts.start_after = rows.back().key;
  }
  EXPECT_EQ(all, (std::vector<std::string>{"p/0", "p/1", "p/2", "p/3", "p/4", "p/5", "p/6"}));
  EXPECT_TRUE(store().scan("p/", ScanOptions{.limit = 0, .start_after = ""}).value().empty());
}

TEST_P(StateStoreContract, LargeValuesRoundTrip) {
  std::string big(8u << 20, '\0');
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>((i * 131) & 0xFF);
  ASSERT_TRUE(put("big", big));
  auto got = store().get("big").value();
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->size(), big.size());
  EXPECT_TRUE(*got == big);
}

TEST_P(StateStoreContract, BadKeysAreRejectedWithClearError) {
  const std::string too_long(Transaction::kMaxKeyBytes + 1, 'k');
  for (const std::string& key : {std::string(), too_long, std::string("a\nb"), std::string("tab\there"),
                                 std::string("nul\0x", 5), std::string("del\x7f")}) {
    auto st = put(key, "v");
    ASSERT_FALSE(st) << "key accepted: " << key;
    EXPECT_EQ(st.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(st.error().message.find("state key"), std::string::npos) << st.error().message;
    auto g = store().get(key);
    ASSERT_FALSE(g);
    EXPECT_EQ(g.error().code, ErrorCode::kInvalidArgument);
  }
  EXPECT_TRUE(put(std::string(Transaction::kMaxKeyBytes, 'k'), "v"));
}

TEST_P(StateStoreContract, WriteInReadOnlyTransactionFails) {
  auto st = store().transact([&](Transaction& tx) { return tx.put("k", "v"); },
                             TransactionOptions{.max_attempts = 1, .read_only = true});
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_FALSE(store().get("k").value().has_value());
}

TEST_P(StateStoreContract, OutboxLeaseExpiresAndEntryIsReclaimed) {
  ASSERT_TRUE(store().transact([&](Transaction& tx) -> Status {
    for (const char* id : {"o-1", "o-2", "o-3"}) PIPELINE_TRY(tx.enqueue(message(id)).map([](bool) {}));
    return ok();
  }));
  const auto lease = std::chrono::seconds(30);
  auto first = store().claim_outbox({"relay-a", 2, t0_, lease}).value();
  ASSERT_EQ(first.size(), 2u);
  EXPECT_EQ(first[0].entry.message.id, "o-1");
  EXPECT_EQ(first[1].entry.message.id, "o-2");
  // Leased entries are not handed to another relay before the lease ends.
  auto second = store().claim_outbox({"relay-b", 10, t0_ + std::chrono::seconds(10), lease}).value();
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].entry.message.id, "o-3");
  EXPECT_TRUE(store().claim_outbox({"relay-b", 10, t0_ + std::chrono::seconds(29), lease}).value().empty());
  // relay-a completes o-1 and dies before completing o-2.
  ASSERT_TRUE(store().complete_outbox({"o-1"}));
  EXPECT_EQ(store().pending_outbox().value(), 2u);
  auto reclaimed = store().claim_outbox({"relay-b", 10, t0_ + std::chrono::seconds(31), lease}).value();
  ASSERT_EQ(reclaimed.size(), 1u);
  EXPECT_EQ(reclaimed[0].entry.message.id, "o-2");
  EXPECT_EQ(reclaimed[0].claims, 2);
  ASSERT_TRUE(store().complete_outbox({"o-2", "o-3", "unknown", "o-1"}));
  EXPECT_EQ(store().pending_outbox().value(), 0u);
  EXPECT_TRUE(store().claim_outbox({"relay-b", 10, t0_ + std::chrono::hours(1), lease}).value().empty());
}

TEST_P(StateStoreContract, ConcurrentClaimsNeverShareAnEntry) {
  constexpr int kEntries = 60;
  ASSERT_TRUE(store().transact([&](Transaction& tx) -> Status {
    for (int i = 0; i < kEntries; ++i) PIPELINE_TRY(tx.enqueue(message("c-" + std::to_string(i))).map([](bool) {}));
    return ok();
  }));
  std::vector<std::vector<std::string>> got(3);
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&, t] {
      for (;;) {
        auto rows = store().claim_outbox({"relay-" + std::to_string(t), 4, t0_, std::chrono::seconds(60)});
        if (!rows || rows->empty()) return;
        for (auto& r : *rows) got[t].push_back(r.entry.message.id);
      }
    });
  }
  for (auto& th : threads) th.join();
  std::vector<std::string> all;
  for (auto& g : got) all.insert(all.end(), g.begin(), g.end());
  std::sort(all.begin(), all.end());
  EXPECT_EQ(all.size(), static_cast<std::size_t>(kEntries));
  EXPECT_EQ(std::adjacent_find(all.begin(), all.end()), all.end());
}

}  // namespace pipeline::contracts
