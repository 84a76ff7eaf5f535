// Randomized stress of the fan-in: many threads, many dates, every completion delivered
// 1-3 times in random order through two paths (an IdempotentConsumer on a threaded
// MemoryTransport, and direct record_completion calls on a second tracker), two relays,
// a transport that sometimes publishes a trigger twice (a relay that died between
// publish and mark), a thread checking waves meanwhile, over the memory store and over
// two handles of one SQLite file. Decisions are counted, not inferred: every committed
// write of a decision row (through a CountingStateStore on each store handle) and every
// `triggered` result returned to a direct caller; each (date, wave) must be decided
// exactly once — the outbox ignoring a second trigger id and the consumer deduplicating
// it would hide a second decision from every count taken downstream.
#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

#include <gtest/gtest.h>

#include "pipeline/core/manual_clock.hpp"
#include "pipeline/core/message_codec.hpp"
#include "pipeline/memory/memory_state_store.hpp"
#include "pipeline/memory/memory_transport.hpp"
#include "pipeline/mocks/counting_state_store.hpp"
#include "pipeline/orchestrate/completion_tracker.hpp"
#include "pipeline/orchestrate/idempotent_consumer.hpp"
#include "pipeline/orchestrate/outbox_relay.hpp"
#ifdef PIPELINE_TEST_HAVE_SQLITE
#include "pipeline/sqlite/sqlite_state_store.hpp"
#endif
#include "test_seed.hpp"

namespace pipeline {
namespace completion_stress_test {

using Names = std::vector<std::string>;
const Names kUpstream = {"u0", "u1", "u2", "u3", "u4", "u5"};

CompletionTrackerOptions stress_config() {
  CompletionTrackerOptions c;
  c.name = "stress";
  c.upstream_phase = "up";
  c.downstream_phase = "down";
  c.expected = kUpstream;
  c.trigger_topic = "stress-trigger";
  c.deadline = std::nullopt;
  c.debounce = Duration::zero();  // late changes trigger at once: many waves, many races
  for (const auto& p : kUpstream) EXPECT_TRUE(c.registry.add_processor(p, "up"));
  EXPECT_TRUE(c.registry.add_processor("d0", "down"));
  EXPECT_TRUE(c.registry.add_processor("d1", "down"));
  for (std::size_t i = 0; i < kUpstream.size(); ++i)
    EXPECT_TRUE(c.registry.add_trigger(kUpstream[i], {i % 2 ? "d1" : "d0"}));
  return c;
}

// Publishes every message, and a third of them twice (same id): a relay that published
// and died before marking the entry sent.
class DuplicatingTransport final : public Transport {
 public:
  DuplicatingTransport(Transport& inner, unsigned seed) : inner_(inner), rng_(seed) {}
  Status do_publish(PublishParams params) override {
    bool twice;
    {
      std::lock_guard l(mu_);
      twice = rng_() % 3 == 0;
    }
    if (twice) PIPELINE_TRY(inner_.publish(params));
    return inner_.publish(std::move(params));
  }
  Result<std::unique_ptr<Subscription>> subscribe(const SubscribeParams& c, Handler h) override {
    return inner_.subscribe(c, std::move(h));
  }
  Result<std::vector<DeadLetter>> dead_letters(std::string_view s) override { return inner_.dead_letters(s); }
  Status replay_dead_letter(std::string_view s, std::string_view id) override {
    return inner_.replay_dead_letter(s, id);
  }

 private:
  Transport& inner_;
  std::mutex mu_;
  std::mt19937 rng_;
};

struct Delivery1 {
  Message message;
  std::string stable_id;
};

bool is_decision_key(std::string_view key) {
  return key.starts_with("tracker/stress/") && key.find("/decision/w") != std::string_view::npos;
}

// Trigger ids handed back to callers, counted by id.
struct Told {
  std::mutex mu;
  std::map<std::string, int> ids;
  void add(const RecordOutcome& r) {
    std::lock_guard l(mu);
    for (const auto& id : r.triggered) ++ids[id];
  }
};

void run_stress(StateStore& real_a, StateStore& real_b, int dates, unsigned seed) {
  mocks::CountingStateStore store_a(real_a, {.watch = is_decision_key});
  mocks::CountingStateStore store_b(real_b, {.watch = is_decision_key});
  ManualClock clock;
  auto transport = MemoryTransport::create(clock).value();
  DuplicatingTransport relay_transport(*transport, seed);
  auto ta = CompletionTracker::create(clock, store_a, stress_config());
  auto tb = CompletionTracker::create(clock, store_b, stress_config());
  ASSERT_TRUE(ta && tb);

  // Upstream path 1: an idempotent consumer whose body records inside its transaction.
  auto upstream = IdempotentConsumer::create(store_a, [&](Transaction& tx, const Delivery& d) -> Status {
    auto m = decode_message(d.payload());
    if (!m) return fail(m.error());
    auto r = (*ta)->record_completion(tx, *m);
    if (!r) return fail(r.error());
    return ok();
  }, {"stress-tracker"}).value();
  auto up_sub = transport->subscribe({"stress-tracker", "stress-upstream", {}}, upstream.handler());
  ASSERT_TRUE(up_sub);

  // Downstream: each trigger id must run exactly once.
  std::mutex runs_mu;
  std::map<std::string, int> runs;
  std::atomic<int> downstream_errors{0};
  auto downstream = IdempotentConsumer::create(store_b, [](Transaction& tx, const Delivery& d) -> Status {
    return tx.put("stress-out/" + d.id(), d.payload());
  }, {"stress-downstream"}).value();
  auto down_sub = transport->subscribe({"stress-downstream", "stress-trigger", {}}, [&](DeliveryPtr d) {
    auto r = downstream.process(*d);
    if (!r) {
      ++downstream_errors;
      (void)d->nack(r.error().to_string());
      return;
    }
    if (*r == IdempotentConsumer::Outcome::kProcessed) {
      std::lock_guard l(runs_mu);
      ++runs[d->id()];
    }
    (void)d->ack();
  });
  ASSERT_TRUE(down_sub);

  // The work: every (date, processor) completes once; some also send a late change.
  std::mt19937 rng(seed);
  const CalendarDate first_date = *CalendarDate::parse("2025-10-21");
  std::vector<Delivery1> work;
  for (int day = 0; day < dates; ++day) {
    for (const auto& p : kUpstream) {
      Message m;
      m.processor_name = p;
      m.phase = "up";
      m.execution_id = fmt::format("{}-{}", p, day);
      m.partition_date = first_date.plus_days(day);
      m.entities_changed = EntityChanges{{"players", {fmt::format("player-{}", rng() % 50)}}};
      const int copies = 1 + static_cast<int>(rng() % 3);
      for (int c = 0; c < copies; ++c) work.push_back({m, "up/" + m.execution_id});
      if (rng() % 4 == 0) {
        Message late = m;
        late.execution_id += "-late";
        late.entities_changed = EntityChanges{{"players", {"injured-star"}}};
        work.push_back({late, "up/" + late.execution_id});
      }
    }
  }
  std::shuffle(work.begin(), work.end(), rng);

  ASSERT_TRUE(transport->start(2));
  std::atomic<bool> stop_relays{false};
  std::atomic<int> relay_errors{0};
  auto relay_loop = [&](StateStore& s, const char* owner) {
    OutboxRelayOptions options;
    options.owner = owner;
    options.batch_size = 16;
    auto relay = OutboxRelay::create(clock, s, relay_transport, options).value();
    while (!stop_relays.load()) {
      if (!relay->relay_once()) ++relay_errors;
      std::this_thread::yield();
    }
  };
  std::thread relay1(relay_loop, std::ref(store_a), "relay-1");
  std::thread relay2(relay_loop, std::ref(store_b), "relay-2");

  // A deadline checker racing the recorders: evaluates random waves (decided, open or
  // not yet opened) through either tracker. Checks never decide a wave twice.
  Told told, told_after;
  std::atomic<bool> stop_checker{false};
  std::atomic<int> check_errors{0};
  std::thread checker([&] {
    std::mt19937 check_rng(seed + 1);
    while (!stop_checker.load()) {
      const CalendarDate date = first_date.plus_days(static_cast<int>(check_rng() % static_cast<unsigned>(dates)));
      auto& tracker = check_rng() % 2 ? *ta : *tb;
      auto r = tracker->check_wave(date, static_cast<int>(check_rng() % 3));
      if (r) told.add(*r);
      else ++check_errors;
      std::this_thread::yield();
    }
  });

  constexpr int kThreads = 4;
  std::atomic<int> record_errors{0};
  std::vector<std::thread> producers;
  for (int t = 0; t < kThreads; ++t) {
    producers.emplace_back([&, t] {
      for (std::size_t i = static_cast<std::size_t>(t); i < work.size(); i += kThreads) {
        const auto& w = work[i];
        if (i % 2 == 0) {
          if (!transport->publish("stress-upstream", {w.stable_id, encode_message(w.message), {}})) ++record_errors;
        } else if (auto r = (*tb)->record_completion(w.message)) {
          told.add(*r);
        } else {
          ++record_errors;
        }
      }
    });
  }
  for (auto& p : producers) p.join();
  transport->wait_until_idle();
  stop_checker = true;
  checker.join();
  stop_relays = true;
  relay1.join();
  relay2.join();
  // Late checks of every wave through both trackers (a timer firing after another process
  // decided): all decided already, none may be decided again.
  for (int day = 0; day < dates; ++day) {
    const CalendarDate date = first_date.plus_days(day);
    auto s = (*ta)->status(date);
    ASSERT_TRUE(s) << s.error().to_string();
    for (int w = 0; w <= static_cast<int>(s->waves.size()); ++w)
      for (auto* tracker : {ta->get(), tb->get()}) {
        auto r = tracker->check_wave(date, w);
        if (r) told_after.add(*r);
        else ++check_errors;
      }
  }
  EXPECT_TRUE(told_after.ids.empty()) << "a check after the run decided " << told_after.ids.begin()->first;
  auto final_relay = OutboxRelay::create(clock, store_a, relay_transport).value();
  ASSERT_TRUE(final_relay->drain());
  transport->wait_until_idle();
  transport->stop();

  EXPECT_EQ(record_errors.load(), 0);
  EXPECT_EQ(check_errors.load(), 0);
  EXPECT_EQ(relay_errors.load(), 0);
  EXPECT_EQ(downstream_errors.load(), 0);
  ASSERT_TRUE(store_a.pending_outbox());
  EXPECT_EQ(*store_a.pending_outbox(), 0u);

  // One decision per (date, wave), waves contiguous from 0, each delivered and run once.
  // Committed decision writes are summed over both handles (they may share one store).
  std::map<std::string, int> committed = store_a.committed_write_counts();
  for (const auto& [key, n] : store_b.committed_write_counts()) committed[key] += n;
  std::size_t decisions = 0;
  std::set<std::string> decided_ids;
  for (int day = 0; day < dates; ++day) {
    const CalendarDate date = first_date.plus_days(day);
    auto s = (*ta)->status(date);
    ASSERT_TRUE(s) << s.error().to_string();
    EXPECT_TRUE(s->missing.empty()) << date.to_string();
    ASSERT_FALSE(s->waves.empty()) << date.to_string();
    for (std::size_t w = 0; w < s->waves.size(); ++w) {
      const auto& wave = s->waves[w];
      EXPECT_EQ(wave.number, static_cast<int>(w));
      ASSERT_TRUE(wave.decided) << date.to_string() << " wave " << w;
      EXPECT_EQ(wave.trigger_id, (*ta)->trigger_id(date, static_cast<int>(w)));
      const std::string key = fmt::format("tracker/stress/{}/decision/w{:03}", date, w);
      EXPECT_EQ(committed[key], 1) << key << " was decided " << committed[key] << " times";
      ++decisions;
      decided_ids.insert(wave.trigger_id);
      std::lock_guard l(runs_mu);
      EXPECT_EQ(runs[wave.trigger_id], 1) << wave.trigger_id;
    }
    auto rows = store_a.scan(fmt::format("tracker/stress/{}/decision/", date));
    ASSERT_TRUE(rows);
    EXPECT_EQ(rows->size(), s->waves.size());
  }
  EXPECT_EQ(committed.size(), decisions) << "a decision row was written for a wave that is not decided";
  for (const auto& [id, n] : told.ids) {
    EXPECT_EQ(n, 1) << id << " was returned as triggered " << n << " times";
    EXPECT_TRUE(decided_ids.count(id)) << id << " was returned as triggered but is not decided";
  }
  std::lock_guard l(runs_mu);
  EXPECT_EQ(runs.size(), decisions) << "a trigger ran that was never decided, or one was lost";
  for (const auto& [id, n] : runs) EXPECT_EQ(n, 1) << id;
}

TEST(CompletionStress, MemoryStoreDecidesEachWaveOnceAndDeliversEveryTrigger) {
  MemoryStateStore store = MemoryStateStore::create().value();
  run_stress(store, store, 60, pipeline::testing::test_seed(1234));
}

#ifdef PIPELINE_TEST_HAVE_SQLITE
TEST(CompletionStress, SqliteStoreTwoHandlesDecideEachWaveOnceAndDeliverEveryTrigger) {
  const auto dir = std::filesystem::temp_directory_path() /
                   fmt::format("pipeline-stress-{}-{}", ::getpid(), std::random_device{}());
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "state.db").string();
  {
    auto a = SqliteStateStore::open(path);
    auto b = SqliteStateStore::open(path);
    ASSERT_TRUE(a && b) << (a ? b.error().to_string() : a.error().to_string());
    run_stress(**a, **b, 25, pipeline::testing::test_seed(99));
  }
  std::filesystem::remove_all(dir);
}
#endif

}  // namespace completion_stress_test
}  // namespace pipeline
