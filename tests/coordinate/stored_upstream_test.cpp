// Phase 5 on the store alone: what an upstream completion said (counts, entities) is kept
// by the coordinator, and StoredUpstream answers readiness, expected and predicted from
// rows — so a tool can start, retry and report a batch without the pipeline's warehouse.
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "pipeline/alert/alert_manager.hpp"
#include "pipeline/coordinate/batch_coordinator.hpp"
#include "pipeline/coordinate/prediction_work.hpp"
#include "pipeline/coordinate/stored_upstream.hpp"
#include "pipeline/core/manual_clock.hpp"
#include "pipeline/memory/memory_state_store.hpp"
#include "pipeline/orchestrate/idempotent_consumer.hpp"

namespace pipeline {
namespace stored_upstream_test {

const CalendarDate kDate = *CalendarDate::parse("2025-11-18");

Message upstream(std::vector<std::string> entities, std::optional<std::pair<int, int>> counts, bool incremental = false) {
  Message m;
  m.processor_name = "features";
  m.phase = "phase4_precompute";
  m.execution_id = incremental ? "exec-2" : "exec-1";
  m.correlation_id = "corr-1";
  m.partition_date = kDate;
  m.is_incremental = incremental;
  m.entities_changed = EntityChanges{{"entities", std::move(entities)}};
  if (counts) m.metadata = nlohmann::json{{"entities_ready", counts->first}, {"entities_total", counts->second}};
  return m;
}

struct Rig {
  ManualClock clock;
  MemoryStateStore store = MemoryStateStore::create().value();
  std::unique_ptr<AlertManager> alerts = AlertManager::create(clock, {}).value();
  StoredUpstream source = StoredUpstream::create(store).value();
  BatchCoordinatorOptions options = [] {
    BatchCoordinatorOptions o;
    o.readiness.min_entities = 1;
    return o;
  }();
  std::unique_ptr<BatchCoordinator> coordinator =
      BatchCoordinator::create(clock, store, *alerts, source, source, options).value();

  /// What a PredictionWorker leaves when it finished `work`: its consumer marker.
  void finished(const PredictionWork& work) {
    ASSERT_TRUE(store.transact([&](Transaction& tx) -> Status {
      auto r = tx.insert(IdempotentConsumer::marker_key("phase5-prediction-worker", work.message_id()), "t");
      if (!r) return fail(r.error());
      return ok();
    }));
  }
};

TEST(StoredUpstream, ASummaryIsTheGenericCountsAndTheFullCompletionsEntityList) {
  auto s = UpstreamSummary::from_message(upstream({"c", "a", "b", "a"}, std::pair{2, 3}), "entities");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->counts, (ReadinessCounts{2, 3}));
  EXPECT_EQ(s->entities, (std::vector<std::string>{"a", "b", "c"}));
  auto back = UpstreamSummary::decode(s->encode());
  ASSERT_TRUE(back);
  EXPECT_EQ(back->entities, s->entities);
  EXPECT_EQ(back->counts, s->counts);
  // An incremental completion's entities are the changed ones, not the date's.
  EXPECT_FALSE(UpstreamSummary::from_message(upstream({"a"}, std::nullopt, true), "entities"));
  EXPECT_FALSE(UpstreamSummary::from_message(upstream({"a"}, std::nullopt), "players"));
  EXPECT_FALSE(UpstreamSummary::decode("[1]"));
  EXPECT_EQ(UpstreamSummary::decode(R"({"counts":{"ready":"x"}})").error().code, ErrorCode::kDataLoss);
}

TEST(StoredUpstream, ACoordinatorOnRowsAloneStartsRetriesAndCountsWhatTheWorkersFinished) {
  Rig rig;
  // Nothing told yet: not ready, nothing expected.
  EXPECT_EQ(rig.source.counts(kDate).value(), (ReadinessCounts{0, 0}));
  EXPECT_EQ(rig.source.expected(kDate).error().code, ErrorCode::kFailedPrecondition);

  auto started = rig.coordinator->trigger(upstream({"a", "b", "c"}, std::pair{3, 3}));
  ASSERT_TRUE(started) << started.error().to_string();
  EXPECT_EQ(started->status, BatchOutcome::kStarted);
  EXPECT_EQ(started->published, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(rig.store.pending_outbox().value(), 3u);  // for the services' relay
  // A later incremental completion with counts only keeps the full list.
  ASSERT_TRUE(rig.coordinator->trigger(upstream({"b"}, std::pair{3, 3}, true)));
  EXPECT_EQ(rig.source.expected(kDate).value(), (std::vector<std::string>{"a", "b", "c"}));

  const std::string batch = started->batch_id;
  rig.finished({batch, kDate, "a", 1, started->version, "batch"});
  rig.finished({batch, kDate, "b", 1, started->version, "batch"});
  auto predicted = rig.source.predicted(kDate);
  ASSERT_TRUE(predicted);
  EXPECT_EQ(*predicted, (std::map<std::string, std::int64_t>{{"a", 1}, {"b", 1}}));
  auto status = rig.coordinator->status(kDate);
  ASSERT_TRUE(status);
  EXPECT_EQ(status->done, 2u);
  EXPECT_EQ(status->missing, std::vector<std::string>{"c"});

  auto retry = rig.coordinator->retry(kDate);
  ASSERT_TRUE(retry);
  EXPECT_EQ(retry->status, BatchOutcome::kRetrying);
  EXPECT_EQ(retry->published, std::vector<std::string>{"c"});
  rig.finished({batch, kDate, "c", 2, started->version, "batch"});
  ASSERT_TRUE(rig.coordinator->note_progress(kDate).value());
  EXPECT_EQ(rig.coordinator->status(kDate)->state, BatchState::kComplete);
  // An incremental re-prediction's marker names its own version.
  rig.finished({batch, kDate, "b", 0, 7, "incremental"});
  EXPECT_EQ(rig.source.predicted(kDate)->at("b"), 7);
}

TEST(StoredUpstream, CreateRefusesAKeyPrefixWithASlashAndAnEmptyWorkerName) {
  MemoryStateStore store = MemoryStateStore::create().value();
  auto slash = StoredUpstream::create(store, {.key_prefix = "a/b"});
  ASSERT_FALSE(slash);
  EXPECT_EQ(slash.error().code, ErrorCode::kInvalidArgument);
  EXPECT_FALSE(StoredUpstream::create(store, {.worker_name = ""}));
}

}  // namespace stored_upstream_test
}  // namespace pipeline
