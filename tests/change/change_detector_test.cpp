#include "pipeline/change/change_detector.hpp"

#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "pipeline/memory/memory_state_store.hpp"
#include "pipeline/mocks/failing_state_store.hpp"

namespace change_detector_test {

using pipeline::CalendarDate;
using ChangeDetector = pipeline::FingerprintChangeDetector;  // the fingerprint implementation of the interface
using pipeline::ChangeSet;
using pipeline::EntitySnapshot;
using pipeline::MemoryStateStore;
using pipeline::Status;
using pipeline::Transaction;

const CalendarDate kDate = *CalendarDate::parse("2025-11-18");

// Sanitizer builds check memory and thread safety and run ~20x slower; they diff 100k
// entities, the Release build the full million.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr int kManyEntities = 100'000;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
constexpr int kManyEntities = 100'000;
#else
constexpr int kManyEntities = 1'000'000;
#endif
#else
constexpr int kManyEntities = 1'000'000;
#endif

EntitySnapshot player(std::string id, std::string status, std::int64_t minutes = 30, std::int64_t jersey = 0) {
  return {std::move(id),
          {{"injury_status", std::move(status)}, {"minutes", minutes}, {"jersey", jersey}, {"team_abbr", std::string("LAL")}}};
}

std::vector<EntitySnapshot> roster(int n) {
  std::vector<EntitySnapshot> out;
  for (int i = 0; i < n; ++i) out.push_back(player(fmt::format("player-{:04}", i), "active", 20 + i % 20));
  return out;
}

ChangeDetector make(pipeline::StateStore& store, pipeline::MetricsSink* metrics = nullptr,
                    std::function<void(std::string_view)> log = {}) {
  auto options = pipeline::player_change_detector();
  options.metrics = metrics;
  options.log = std::move(log);
  auto d = ChangeDetector::create(store, std::move(options));
  EXPECT_TRUE(d.has_value());
  return std::move(*d);
}

Status commit(pipeline::StateStore& store, const ChangeDetector& d, const ChangeSet& cs) {
  return store.transact([&](Transaction& tx) { return d.commit(tx, cs); });
}

/// Records counters and events.
class RecordingMetrics final : public pipeline::MetricsSink {
  struct RecCounter final : pipeline::Counter {
    std::uint64_t value = 0;
    void add(std::uint64_t n) noexcept override { value += n; }
  };

 public:
  std::map<std::string, std::shared_ptr<RecCounter>> counters;
  std::vector<std::pair<std::string, pipeline::Labels>> events;
  std::shared_ptr<pipeline::Counter> counter(std::string_view name, std::string_view, pipeline::Labels) override {
    auto& c = counters[std::string(name)];
    if (!c) c = std::make_shared<RecCounter>();
    return c;
  }
  std::shared_ptr<pipeline::Gauge> gauge(std::string_view n, std::string_view h, pipeline::Labels l) override {
    return pipeline::NullMetricsSink::instance().gauge(n, h, l);
  }
  std::shared_ptr<pipeline::Histogram> histogram(std::string_view n, std::string_view h, std::vector<double> b,
                                                 pipeline::Labels l) override {
    return pipeline::NullMetricsSink::instance().histogram(n, h, b, l);
  }
  void event(std::string_view name, pipeline::Labels attributes) override {
    events.emplace_back(std::string(name), std::move(attributes));
  }
};

TEST(ChangeDetector, FirstDetectionReportsEveryEntityAdded) {
  MemoryStateStore store = MemoryStateStore::create().value();
  auto d = make(store);
  auto cs = d.detect(kDate, roster(5));
  EXPECT_FALSE(cs.full_fallback);
  EXPECT_EQ(cs.added.size(), 5u);
  EXPECT_TRUE(cs.changed.empty());
  EXPECT_TRUE(cs.removed.empty());
  EXPECT_EQ(cs.unchanged, 0u);
}

TEST(ChangeDetector, ReportsAddedChangedRemovedAndUnchanged) {
  MemoryStateStore store = MemoryStateStore::create().value();
  auto d = make(store);
  auto players = roster(10);
  ASSERT_TRUE(commit(store, d, d.detect(kDate, players)));

  players[3] = player("player-0003", "out");        // changed
  players.erase(players.begin() + 7);               // player-0007 removed
  players.push_back(player("rookie", "active"));    // added
  auto cs = d.detect(kDate, players);
  EXPECT_FALSE(cs.full_fallback);
  EXPECT_EQ(cs.added, std::vector<std::string>{"rookie"});
  EXPECT_EQ(cs.changed, std::vector<std::string>{"player-0003"});
  EXPECT_EQ(cs.removed, std::vector<std::string>{"player-0007"});
  EXPECT_EQ(cs.unchanged, 8u);
  EXPECT_EQ(cs.ids_to_process(), (std::vector<std::string>{"player-0003", "rookie"}));
  auto entities = cs.entities_changed();
  ASSERT_TRUE(entities.has_value());
  EXPECT_EQ(entities->at("players"), (pipeline::EntityIds{"player-0003", "player-0007", "rookie"}));

  ASSERT_TRUE(commit(store, d, cs));
  auto after = d.detect(kDate, players);
  EXPECT_TRUE(after.nothing_changed());
  EXPECT_EQ(after.unchanged, 10u);
  EXPECT_EQ(after.entities_changed(), pipeline::ChangedEntities(pipeline::EntityChanges{}));
}

TEST(ChangeDetector, OneInjuryUpdateOutOf450IsTheOnlyChange) {
  MemoryStateStore store = MemoryStateStore::create().value();
  auto d = make(store);
  auto players = roster(450);
  ASSERT_TRUE(commit(store, d, d.detect(kDate, players)));
  players[123] = player("player-0123", "out", 20 + 123 % 20);
  auto cs = d.detect(kDate, players);
  EXPECT_EQ(cs.changed, std::vector<std::string>{"player-0123"});
  EXPECT_EQ(cs.unchanged, 449u);
}

TEST(ChangeDetector, ChangeInUnlistedFieldIsNotAChange) {
  MemoryStateStore store = MemoryStateStore::create().value();
  auto d = make(store);
  std::vector<EntitySnapshot> players{player("a", "active", 30, 23)};
  ASSERT_TRUE(commit(store, d, d.detect(kDate, players)));
  players[0] = player("a", "active", 30, 6);  // jersey is not in the player preset
  EXPECT_TRUE(d.detect(kDate, players).nothing_changed());
  players[0] = player("a", "active", 31, 6);  // minutes is
  EXPECT_EQ(d.detect(kDate, players).changed, std::vector<std::string>{"a"});
}

TEST(ChangeDetector, FingerprintsChangeOnlyWhenCommitted) {
  MemoryStateStore store = MemoryStateStore::create().value();
  auto d = make(store);
  auto players = roster(20);
  ASSERT_TRUE(commit(store, d, d.detect(kDate, players)));
  players[5] = player("player-0005", "questionable");
  const auto first = d.detect(kDate, players);
  const auto second = d.detect(kDate, players);
  EXPECT_EQ(first.changed, std::vector<std::string>{"player-0005"});
  EXPECT_EQ(second.changed, first.changed);

  // A processing run whose success record fails rolls the fingerprints back with it.
  auto st = store.transact([&](Transaction& tx) -> Status {
    PIPELINE_TRY(d.commit(tx, first));
    return pipeline::fail(pipeline::ErrorCode::kUnavailable, "processing failed");
  });
  ASSERT_FALSE(st);
  EXPECT_EQ(d.detect(kDate, players).changed, std::vector<std::string>{"player-0005"});

  ASSERT_TRUE(commit(store, d, first));
  EXPECT_TRUE(d.detect(kDate, players).nothing_changed());
}

TEST(ChangeDetector, DatesAndKindsAreStoredApart) {
  MemoryStateStore store = MemoryStateStore::create().value();
  auto players = make(store);
  auto teams = ChangeDetector::create(store, pipeline::team_change_detector());
  ASSERT_TRUE(teams);
  ASSERT_TRUE(commit(store, players, players.detect(kDate, roster(3))));
  EXPECT_EQ(players.detect(kDate.plus_days(1), roster(3)).added.size(), 3u);
  EXPECT_EQ(teams->detect(kDate, roster(3)).added.size(), 3u);
  EXPECT_FALSE(commit(store, *teams, players.detect(kDate, roster(3))));  // another kind's change set
}

TEST(ChangeDetector, StoreDownFallsBackToFullAndSaysSo) {
  MemoryStateStore real = MemoryStateStore::create().value();
  pipeline::mocks::FailingStateStore store(real);
  RecordingMetrics metrics;
  std::vector<std::string> logs;
  auto d = make(store, &metrics, [&](std::string_view line) { logs.emplace_back(line); });
  auto players = roster(4);
  ASSERT_TRUE(commit(store, d, d.detect(kDate, players)));

  store.fail_transact(pipeline::ErrorCode::kUnavailable);
  auto cs = d.detect(kDate, players);
  EXPECT_TRUE(cs.full_fallback);
  EXPECT_NE(cs.fallback_reason.find("unavailable"), std::string::npos) << cs.fallback_reason;
  EXPECT_TRUE(cs.added.empty());
  EXPECT_EQ(metrics.counters.at("pipeline_change_fallbacks_total")->value, 1u);
  ASSERT_EQ(metrics.events.size(), 1u);
  EXPECT_EQ(metrics.events[0].first, "change_detection_fallback");
  ASSERT_EQ(logs.size(), 1u);
  EXPECT_NE(logs[0].find("players"), std::string::npos);
  EXPECT_FALSE(cs.entities_changed().has_value());  // a full run

  // The full run's commit fails while the store is down, and works once it is back.
  EXPECT_FALSE(commit(store, d, cs));
  store.heal();
  ASSERT_TRUE(commit(store, d, cs));
  EXPECT_TRUE(d.detect(kDate, players).nothing_changed());
  players[0] = player("player-0000", "out");
  auto full = d.detect(kDate, players);
  EXPECT_EQ(full.changed, std::vector<std::string>{"player-0000"});
}

TEST(ChangeDetector, CorruptRowFallsBackAndCommitRepairsIt) {
  MemoryStateStore store = MemoryStateStore::create().value();
  RecordingMetrics metrics;
  auto d = make(store, &metrics);
  auto players = roster(6);
  ASSERT_TRUE(commit(store, d, d.detect(kDate, players)));
  auto rows = store.scan("change/players/2025-11-18/b/");
  ASSERT_TRUE(rows);
  ASSERT_FALSE(rows->empty());
  std::string bad = (*rows)[0].value;
  bad[14] ^= 0x01;  // flip a bit inside an entry
  ASSERT_TRUE(store.transact([&](Transaction& tx) { return tx.put((*rows)[0].key, bad); }));

  auto cs = d.detect(kDate, players);
  ASSERT_TRUE(cs.full_fallback);
  EXPECT_NE(cs.fallback_reason.find("data_loss"), std::string::npos) << cs.fallback_reason;
  EXPECT_EQ(cs.commit_mode, pipeline::FingerprintCommit::kReplaceAll);
  ASSERT_TRUE(commit(store, d, cs));
  EXPECT_TRUE(d.detect(kDate, players).nothing_changed());
  EXPECT_EQ(metrics.counters.at("pipeline_change_fallbacks_total")->value, 1u);
}

TEST(ChangeDetector, InvalidSnapshotFallsBackAndKeepsStoredFingerprints) {
  MemoryStateStore store = MemoryStateStore::create().value();
  auto d = make(store);
  auto players = roster(3);
  ASSERT_TRUE(commit(store, d, d.detect(kDate, players)));
  auto dup = players;
  dup.push_back(player("player-0001", "out"));
  auto cs = d.detect(kDate, dup);
  EXPECT_TRUE(cs.full_fallback);
  EXPECT_NE(cs.fallback_reason.find("more than once"), std::string::npos) << cs.fallback_reason;
  EXPECT_EQ(cs.commit_mode, pipeline::FingerprintCommit::kKeepStored);
  ASSERT_TRUE(commit(store, d, cs));
  EXPECT_TRUE(d.detect(kDate, players).nothing_changed());

  auto with_nul = players;
  with_nul.push_back(player(std::string("bad\0id", 6), "active"));
  EXPECT_TRUE(d.detect(kDate, with_nul).full_fallback);
  EXPECT_TRUE(d.detect(kDate, std::vector<EntitySnapshot>{player("", "active")}).full_fallback);
}

TEST(ChangeDetector, RejectsBadConfiguration) {
  MemoryStateStore store = MemoryStateStore::create().value();
  EXPECT_FALSE(ChangeDetector::create(store, {"pla/yers", {}, "change"}));
  EXPECT_FALSE(ChangeDetector::create(store, {"players", {}, "/change"}));
  EXPECT_FALSE(ChangeDetector::create(store, {"players", {}, "ch\tange"}));
  auto no_threads = pipeline::player_change_detector();
  no_threads.threads = 0;
  EXPECT_FALSE(ChangeDetector::create(store, no_threads));
}

TEST(ChangeDetector, GrowingEntityCountRebucketsAndStaysExact) {
  MemoryStateStore store = MemoryStateStore::create().value();
  auto d = make(store);
  auto players = roster(10);
  ASSERT_TRUE(commit(store, d, d.detect(kDate, players)));
  for (int i = 0; i < 9000; ++i) players.push_back(player(fmt::format("late-{}", i), "active"));
  auto cs = d.detect(kDate, players);
  EXPECT_EQ(cs.added.size(), 9000u);
  ASSERT_TRUE(commit(store, d, cs));
  auto rows = store.scan("change/players/2025-11-18/b/");
  ASSERT_TRUE(rows);
  EXPECT_GT(rows->size(), 1u);
  auto table = d.load(kDate);
  ASSERT_TRUE(table);
  EXPECT_EQ(table->size(), 9010u);
  EXPECT_TRUE(d.detect(kDate, players).nothing_changed());
}

TEST(ChangeDetector, MillionEntitiesAreDiffedExactly) {
  MemoryStateStore store = MemoryStateStore::create().value();
  auto d = make(store);
  constexpr int kN = kManyEntities;
  std::vector<EntitySnapshot> players;
  players.reserve(kN + 5);
  for (int i = 0; i < kN; ++i)
    players.push_back({fmt::format("p{}", i), {{"injury_status", std::string("active")}, {"minutes", std::int64_t{i % 48}}}});
  ASSERT_TRUE(commit(store, d, d.detect(kDate, players)));
  auto table = d.load(kDate);
  ASSERT_TRUE(table);
  ASSERT_EQ(table->size(), static_cast<std::size_t>(kN));

  std::vector<std::string> expect_changed, expect_removed, expect_added;
  for (int i = 0; i < kN; i += 997) {
    players[static_cast<std::size_t>(i)].fields[1].value = std::int64_t{99};
    expect_changed.push_back(players[static_cast<std::size_t>(i)].id);
  }
  for (int k = 0; k < 10; ++k) {
    const std::size_t i = kN / 2 + 1 + static_cast<std::size_t>(k) * 3;
    expect_removed.push_back(players[i].id);
    players[i].id = fmt::format("new{}", k);
    expect_added.push_back(players[i].id);
  }
  std::sort(expect_changed.begin(), expect_changed.end());
  std::sort(expect_removed.begin(), expect_removed.end());
  std::sort(expect_added.begin(), expect_added.end());

  auto cs = d.diff(kDate, *table, players);
  ASSERT_FALSE(cs.full_fallback) << cs.fallback_reason;
  EXPECT_EQ(cs.changed, expect_changed);
  EXPECT_EQ(cs.removed, expect_removed);
  EXPECT_EQ(cs.added, expect_added);
  EXPECT_EQ(cs.unchanged, kN - expect_changed.size() - expect_added.size());

  ASSERT_TRUE(commit(store, d, cs));
  EXPECT_TRUE(d.detect(kDate, players).nothing_changed());
}

TEST(ChangeDetector, TwoThreadsFindTheSameChangesAndCrossPartDuplicates) {
  MemoryStateStore store = MemoryStateStore::create().value();
  auto one = make(store);
  auto two_threads = pipeline::player_change_detector();
  two_threads.threads = 2;
  auto two = ChangeDetector::create(store, two_threads);
  ASSERT_TRUE(two);
  std::vector<EntitySnapshot> players;
  for (int i = 0; i < 140'000; ++i) players.push_back(player(fmt::format("p{}", i), "active", i % 40));
  ASSERT_TRUE(commit(store, one, one.detect(kDate, players)));
  players[10].fields[0].value = std::string("out");
  players[100'000].fields[0].value = std::string("out");
  players[139'999].id = "brand-new";
  const auto a = one.detect(kDate, players);
  const auto b = two->detect(kDate, players);
  EXPECT_EQ(b.changed, (std::vector<std::string>{"p10", "p100000"}));
  EXPECT_EQ(b.added, std::vector<std::string>{"brand-new"});
  EXPECT_EQ(b.removed, std::vector<std::string>{"p139999"});
  EXPECT_EQ(a.changed, b.changed);
  EXPECT_EQ(a.added, b.added);
  EXPECT_EQ(a.removed, b.removed);
  EXPECT_EQ(a.unchanged, b.unchanged);

  players[139'998].id = "p5";  // the first half holds p5 too
  const auto dup = two->detect(kDate, players);
  EXPECT_TRUE(dup.full_fallback);
  EXPECT_NE(dup.fallback_reason.find("'p5'"), std::string::npos) << dup.fallback_reason;
}

}  // namespace change_detector_test
