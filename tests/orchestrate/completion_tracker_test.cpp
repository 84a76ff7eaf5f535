#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "pipeline/alert/alert_manager.hpp"
#include "pipeline/alert/callback_sink.hpp"
#include "pipeline/core/manual_clock.hpp"
#include "pipeline/core/message_codec.hpp"
#include "pipeline/orchestrate/completion_tracker.hpp"
#include "orchestrate/tracker_test_config.hpp"
#include "store_under_test.hpp"

namespace pipeline {
namespace completion_tracker_test {

using std::chrono::minutes;
using std::chrono::seconds;
using Names = std::vector<std::string>;

CompletionTrackerOptions small_config(AlertManager* alerts = nullptr) {
  auto options = testing::five_processor_config();
  options.alerts = alerts;
  return options;
}

Message completion(const std::string& processor, const std::string& exec, ChangedEntities changes = EntityChanges{},
                   CompletionStatus status = CompletionStatus::kSuccess) {
  Message m;
  m.processor_name = processor;
  m.phase = "phase2_raw";
  m.execution_id = exec;
  m.correlation_id = "corr-" + exec;
  m.partition_date = *CalendarDate::parse("2025-11-18");
  m.status = status;
  if (status == CompletionStatus::kFailed) m.error = "boom";
  m.entities_changed = std::move(changes);
  return m;
}

class CompletionTrackerTest : public testing::StoreSuite {
 protected:
  ManualClock clock;
  std::mutex alerts_mu;
  std::vector<Alert> alerts;
  std::unique_ptr<AlertManager> manager = AlertManager::create(clock,
                       {CallbackAlertSinkMt::create([this](const Alert& a) {
                         std::lock_guard l(alerts_mu);
                         alerts.push_back(a);
                       }).value()}).value();
  std::unique_ptr<CompletionTracker> tracker;
  CalendarDate date = *CalendarDate::parse("2025-11-18");

  void SetUp() override {
    auto t = CompletionTracker::create(clock, store, small_config(manager.get()));
    ASSERT_TRUE(t) << t.error().to_string();
    tracker = std::move(*t);
  }

  RecordOutcome record(const Message& m) {
    auto r = tracker->record_completion(m);
    EXPECT_TRUE(r) << r.error().to_string();
    return r ? *r : RecordOutcome{};
  }

  // Everything in the outbox, decoded, in commit order.
  std::vector<std::pair<std::string, Message>> outbox() {
    auto rows = store.claim_outbox({"test", 1000, clock.now(), minutes(1)});
    EXPECT_TRUE(rows);
    std::vector<std::pair<std::string, Message>> out;
    for (auto& r : *rows) {
      auto m = decode_message(r.entry.message.payload);
      EXPECT_TRUE(m) << m.error().to_string();
      EXPECT_EQ(r.entry.topic, "test-phase3-trigger");
      out.emplace_back(r.entry.message.id, std::move(*m));
      EXPECT_TRUE(store.complete_outbox({r.entry.message.id}));
    }
    return out;
  }
};

TEST_P(CompletionTrackerTest, RefusesAMessageBuiltInCodeExactlyAsTheDecoderWouldBeforeCountingIt) {
  Message unset = completion("a", "e1");
  unset.partition_date = CalendarDate{};  // never assigned
  auto r = tracker->record_completion(unset);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(r.error().context.at("fields"), "game_date");
  EXPECT_NE(r.error().message.find("not set"), std::string::npos) << r.error().to_string();

  auto unsorted = tracker->record_completion(completion("a", "e2", EntityChanges{{"players", {"b-2", "a-1"}}}));
  ASSERT_FALSE(unsorted);
  EXPECT_EQ(unsorted.error().context.at("fields"), "entities_changed");

  auto status = tracker->status(date);
  ASSERT_TRUE(status) << status.error().to_string();
  EXPECT_TRUE(status->done.empty() && status->unexpected.empty()) << "nothing was counted";
  EXPECT_EQ(record(completion("a", "e2", EntityChanges{{"players", {"a-1", "b-2"}}})).kind, RecordKind::kCounted)
      << "the same completion, normalized, is counted";
}

TEST_P(CompletionTrackerTest, TriggersOnceWhenAllExpectedCompleteWithTheUnionOfChanges) {
  EXPECT_EQ(record(completion("a", "e1", EntityChanges{{"players", {"curry", "lebron-james"}}})).kind,
            RecordKind::kCounted);
  record(completion("b", "e2", EntityChanges{{"players", {"durant"}}, {"teams", {"LAL"}}}));
  record(completion("c", "e3", EntityChanges{{"teams", {"GSW", "LAL"}}}));
  record(completion("d", "e4", EntityChanges{}));
  EXPECT_TRUE(outbox().empty()) << "no trigger before the last expected completion";
  auto last = record(completion("e", "e5", EntityChanges{{"teams", {"BOS"}}}));
  ASSERT_EQ(last.triggered, Names{"phase3/2025-11-18/w0"});

  auto out = outbox();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].first, "phase3/2025-11-18/w0");
  const Message& t = out[0].second;
  EXPECT_EQ(t.processor_name, "phase3");
  EXPECT_EQ(t.phase, "phase3_analytics");
  EXPECT_EQ(t.partition_date, date);
  EXPECT_EQ(t.status, CompletionStatus::kSuccess);
  EXPECT_TRUE(t.is_incremental);
  ASSERT_TRUE(t.entities_changed);
  EXPECT_EQ(*t.entities_changed, (EntityChanges{{"players", {"curry", "durant", "lebron-james"}},
                                                {"teams", {"BOS", "GSW", "LAL"}}}));
  EXPECT_EQ(t.trace_links.size(), 5u);
  EXPECT_EQ(t.trace_links[0], (TraceLink{"e1", "corr-e1"}));
  EXPECT_EQ(t.correlation_id, "corr-e1") << "the earliest upstream's correlation id flows on";
  EXPECT_EQ(t.metadata["wave"], 0);
  EXPECT_EQ(t.metadata["trigger_id"], "phase3/2025-11-18/w0");
  EXPECT_EQ(t.metadata["run_processors"], nlohmann::json(Names{"x", "y", "z"}));
  EXPECT_EQ(t.metadata["succeeded"], nlohmann::json(Names{"a", "b", "c", "d", "e"}));
  EXPECT_EQ(t.metadata["missing"], nlohmann::json::array());
  EXPECT_EQ(t.metadata["partial_readiness"], false);
  EXPECT_TRUE(alerts.empty());
}

TEST_P(CompletionTrackerTest, AnyFullUpstreamMakesTheTriggerFull) {
  record(completion("a", "e1", EntityChanges{{"players", {"p1"}}}));
  record(completion("b", "e2", std::nullopt));
  for (auto p : {"c", "d", "e"}) record(completion(p, std::string("x-") + p));
  auto out = outbox();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_FALSE(out[0].second.entities_changed);
  EXPECT_FALSE(out[0].second.is_incremental);
}

TEST_P(CompletionTrackerTest, TriggerTraceparentIsAChildOfAnUpstreamOne) {
  const auto root = TraceContext::create();
  auto m = completion("c", "e1");
  m.traceparent = root.to_string();
  record(m);
  for (auto p : {"a", "b", "d", "e"}) record(completion(p, std::string("x-") + p));
  auto out = outbox();
  ASSERT_EQ(out.size(), 1u);
  auto tp = TraceContext::parse(out[0].second.traceparent);
  ASSERT_TRUE(tp);
  EXPECT_EQ(tp->trace_id, root.trace_id);
  EXPECT_NE(tp->parent_id, root.parent_id);
}

TEST_P(CompletionTrackerTest, DuplicateDeliveryIsANoOpBeforeAndAfterTheTrigger) {
  const auto a = completion("a", "e1", EntityChanges{{"players", {"p1"}}});
  record(a);
  EXPECT_EQ(record(a).kind, RecordKind::kDuplicate);
  for (auto p : {"b", "c", "d"}) record(completion(p, std::string("x-") + p));
  EXPECT_TRUE(outbox().empty()) << "a duplicate is not counted twice";
  record(completion("e", "x-e"));
  ASSERT_EQ(outbox().size(), 1u);
  // The same delivery again after the trigger: it has changes, yet opens no wave.
  auto again = record(a);
  EXPECT_EQ(again.kind, RecordKind::kDuplicate);
  clock.advance(minutes(60));
  EXPECT_TRUE(outbox().empty());
  auto s = tracker->status(date);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->waves.size(), 1u);
}

TEST_P(CompletionTrackerTest, UnexpectedProcessorIsRecordedAndReportedNotCounted) {
  for (auto p : {"a", "b", "c", "d"}) record(completion(p, std::string("x-") + p));
  EXPECT_EQ(record(completion("stray", "s1", EntityChanges{{"players", {"p9"}}})).kind, RecordKind::kUnexpected);
  EXPECT_TRUE(outbox().empty());
  auto s = tracker->status(date);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->unexpected, Names{"stray"});
  EXPECT_EQ(s->missing, Names{"e"});
  record(completion("e", "x-e"));
  auto out = outbox();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(*out[0].second.entities_changed, EntityChanges{}) << "the unexpected one's changes are not included";
}

TEST_P(CompletionTrackerTest, FailedCompletionCountsAsDoneWithFailureAndIsReported) {
  for (auto p : {"a", "b", "c", "d"}) record(completion(p, std::string("x-") + p));
  auto last = record(completion("e", "x-e", std::nullopt, CompletionStatus::kFailed));
  ASSERT_EQ(last.triggered.size(), 1u);
  auto out = outbox();
  ASSERT_EQ(out.size(), 1u);
  const Message& t = out[0].second;
  EXPECT_EQ(t.status, CompletionStatus::kPartial);
  EXPECT_EQ(t.metadata["failed"], nlohmann::json(Names{"e"}));
  EXPECT_EQ(t.metadata["partial_readiness"], false);
  EXPECT_EQ(*t.entities_changed, EntityChanges{}) << "a failed run changes nothing";
  auto s = tracker->status(date);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->failed, Names{"e"});
  EXPECT_EQ(s->done, (Names{"a", "b", "c", "d"}));
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].severity, Severity::kWarning);
  EXPECT_NE(alerts[0].message.find("failed upstream processors: e"), std::string::npos) << alerts[0].message;
}

TEST_P(CompletionTrackerTest, DeadlineFiresAPartialTriggerAtOrAboveTheThreshold) {
  record(completion("a", "e1", EntityChanges{{"players", {"p1"}}}));
  clock.advance(minutes(10));
  record(completion("b", "e2"));
  record(completion("c", "e3"));
  clock.advance(minutes(19));
  EXPECT_TRUE(outbox().empty());
  clock.advance(minutes(1));  // 30 minutes after the first completion
  auto out = outbox();
  ASSERT_EQ(out.size(), 1u);
  const Message& t = out[0].second;
  EXPECT_EQ(t.status, CompletionStatus::kPartial);
  EXPECT_EQ(t.metadata["partial_readiness"], true);
  EXPECT_EQ(t.metadata["reason"], "deadline");
  EXPECT_EQ(t.metadata["missing"], nlohmann::json(Names{"d", "e"}));
  EXPECT_EQ(t.metadata["run_processors"], nlohmann::json(Names{"x", "y", "z"})) << "a full wave runs everything";
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].severity, Severity::kWarning);
  EXPECT_NE(alerts[0].message.find("partial readiness"), std::string::npos);
  auto s = tracker->status(date);
  ASSERT_TRUE(s);
  ASSERT_EQ(s->waves.size(), 1u);
  EXPECT_TRUE(s->waves[0].partial);
  EXPECT_EQ(s->waves[0].triggered_at, clock.now());
}

TEST_P(CompletionTrackerTest, BelowThresholdAtTheDeadlineAlertsOnceAndDoesNotTrigger) {
  record(completion("a", "e1"));
  record(completion("b", "e2"));
  clock.advance(minutes(31));
  EXPECT_TRUE(outbox().empty());
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].severity, Severity::kError);
  EXPECT_NE(alerts[0].message.find("only 2 of 5"), std::string::npos) << alerts[0].message;
  EXPECT_NE(alerts[0].message.find("missing: c, d, e"), std::string::npos);
  auto again = tracker->check_deadlines();
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->empty());
  EXPECT_EQ(alerts.size(), 1u) << "the below-threshold alert is raised once";
  // A completion after the deadline that reaches the threshold triggers at once (partial).
  auto r = record(completion("c", "e3"));
  ASSERT_EQ(r.triggered.size(), 1u);
  auto out = outbox();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].second.metadata["missing"], nlohmann::json(Names{"d", "e"}));
}

TEST_P(CompletionTrackerTest, DeadlineAndLastCompletionRacingYieldOneTrigger) {
  // Deterministic interleaving: the deadline is due, the last completion is decided
  // first, then the timer's check finds the wave decided.
  for (auto p : {"a", "b", "c", "d"}) record(completion(p, std::string("x-") + p));
  auto other = CompletionTracker::create(clock, store, small_config(manager.get()));
  ASSERT_TRUE(other);
  clock.set_time(clock.now() + minutes(30));  // fires this tracker's timer: decides partial
  auto late = (*other)->record_completion(completion("e", "x-e"));
  ASSERT_TRUE(late);
  EXPECT_TRUE(late->triggered.empty());
  EXPECT_EQ(outbox().size(), 1u);
  auto s = tracker->status(date);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->waves.size(), 1u) << "the last completion after the partial trigger has no changes";
}

TEST_P(CompletionTrackerTest, ConcurrentLastCompletionAndDeadlineCheckDecideOnce) {
  auto other = CompletionTracker::create(clock, store, small_config());
  ASSERT_TRUE(other);
  constexpr int kDays = 30;
  for (int day = 0; day < kDays; ++day)
    for (auto p : {"a", "b", "c", "d"}) {
      auto c = completion(p, fmt::format("{}-{}", p, day));
      c.partition_date = date.plus_days(day);
      ASSERT_TRUE((*other)->record_completion(c));
    }
  other->reset();  // its timers go with it: the deadline is now evaluated explicitly
  clock.set_time(clock.now() + minutes(30));
  auto second = CompletionTracker::create(clock, store, small_config());
  ASSERT_TRUE(second);
  // Decisions are counted where they are made: the trigger ids each call returns. The
  // outbox ignores an id it already holds, so counting its rows would hide a second
  // decision of a wave.
  std::vector<std::string> by_completer, by_checker, by_late_checks;
  std::thread completer([&] {
    for (int day = 0; day < kDays; ++day) {
      auto m = completion("e", fmt::format("e-{}", day));
      m.partition_date = date.plus_days(day);
      auto r = tracker->record_completion(m);
      ASSERT_TRUE(r) << r.error().to_string();
      by_completer.insert(by_completer.end(), r->triggered.begin(), r->triggered.end());
    }
  });
  std::thread checker([&] {
    for (int day = 0; day < kDays; ++day) {
      auto r = (*second)->check_wave(date.plus_days(day), 0);
      ASSERT_TRUE(r) << r.error().to_string();
      by_checker.insert(by_checker.end(), r->triggered.begin(), r->triggered.end());
    }
  });
  completer.join();
  checker.join();
  // Afterwards both trackers check every wave again (a timer firing after another
  // process decided): nothing more may be decided.
  for (int day = 0; day < kDays; ++day)
    for (auto* t : {tracker.get(), second->get()})
      for (int wave : {0, 1}) {
        auto r = t->check_wave(date.plus_days(day), wave);
        ASSERT_TRUE(r) << r.error().to_string();
        by_late_checks.insert(by_late_checks.end(), r->triggered.begin(), r->triggered.end());
      }
  EXPECT_TRUE(by_late_checks.empty()) << "a late check decided " << by_late_checks.front();
  std::map<std::string, int> decided;
  for (const auto* list : {&by_completer, &by_checker, &by_late_checks})
    for (const auto& id : *list) ++decided[id];
  EXPECT_EQ(decided.size(), static_cast<std::size_t>(kDays));
  for (int day = 0; day < kDays; ++day) {
    const std::string id = tracker->trigger_id(date.plus_days(day), 0);
    EXPECT_EQ(decided[id], 1) << id << " was decided " << decided[id] << " times";
  }
  auto out = outbox();
  EXPECT_EQ(out.size(), static_cast<std::size_t>(kDays));
  std::set<std::string> ids;
  for (const auto& [id, m] : out) ids.insert(id);
  EXPECT_EQ(ids.size(), static_cast<std::size_t>(kDays));
}

TEST_P(CompletionTrackerTest, AnotherProcessDecidesADueWaveWithCheckDeadlines) {
  for (auto p : {"a", "b", "c"}) record(completion(p, std::string("x-") + p));
  tracker.reset();  // the process that armed the timer is gone
  clock.advance(minutes(45));
  EXPECT_TRUE(outbox().empty());
  auto t2 = CompletionTracker::create(clock, store, small_config(manager.get()));
  ASSERT_TRUE(t2);
  auto decided = (*t2)->check_deadlines();
  ASSERT_TRUE(decided);
  EXPECT_EQ(*decided, Names{"phase3/2025-11-18/w0"});
  EXPECT_EQ(outbox().size(), 1u);
}

TEST_P(CompletionTrackerTest, CheckDeadlinesArmsTimersForWavesNotYetDue) {
  for (auto p : {"a", "b", "c"}) record(completion(p, std::string("x-") + p));
  tracker.reset();
  auto t2 = CompletionTracker::create(clock, store, small_config(manager.get()));
  ASSERT_TRUE(t2);
  auto decided = (*t2)->check_deadlines();
  ASSERT_TRUE(decided);
  EXPECT_TRUE(decided->empty());
  clock.advance(minutes(30));
  EXPECT_EQ(outbox().size(), 1u) << "the re-armed timer fired";
}

TEST_P(CompletionTrackerTest, IncrementalWaveDebouncesAndCoalescesABurst) {
  for (auto p : {"a", "b", "c", "d", "e"}) record(completion(p, std::string("x-") + p));
  ASSERT_EQ(outbox().size(), 1u);
  clock.advance(minutes(120));
  // A mid-day injury update, then another change two minutes later.
  auto first = record(completion("c", "late-1", EntityChanges{{"players", {"p7"}}}));
  EXPECT_EQ(first.kind, RecordKind::kCounted);
  EXPECT_EQ(first.wave, 1);
  clock.advance(minutes(2));
  auto second = record(completion("e", "late-2", EntityChanges{{"players", {"p3"}}, {"teams", {"NYK"}}}));
  EXPECT_EQ(second.wave, 1);
  clock.advance(minutes(2));
  EXPECT_TRUE(outbox().empty()) << "still inside the debounce window";
  clock.advance(minutes(1));  // 5 minutes after the wave's first completion
  auto out = outbox();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].first, "phase3/2025-11-18/w1");
  const Message& t = out[0].second;
  EXPECT_TRUE(t.is_incremental);
  EXPECT_EQ(*t.entities_changed, (EntityChanges{{"players", {"p3", "p7"}}, {"teams", {"NYK"}}}));
  EXPECT_EQ(t.metadata["run_processors"], nlohmann::json(Names{"y", "z"})) << "only what c and e trigger";
  EXPECT_EQ(t.metadata["reason"], "debounce");
  EXPECT_EQ(t.metadata["wave"], 1);
  EXPECT_EQ(t.trace_links.size(), 2u);
  // A further change opens wave 2.
  record(completion("a", "late-3", EntityChanges{{"players", {"p1"}}}));
  clock.advance(minutes(5));
  out = outbox();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].first, "phase3/2025-11-18/w2");
  EXPECT_EQ(out[0].second.metadata["run_processors"], nlohmann::json(Names{"x"}));
}

TEST_P(CompletionTrackerTest, LateCompletionWithoutChangesOpensNoWave) {
  for (auto p : {"a", "b", "c", "d", "e"}) record(completion(p, std::string("x-") + p));
  ASSERT_EQ(outbox().size(), 1u);
  EXPECT_EQ(record(completion("c", "late-1", EntityChanges{})).kind, RecordKind::kNoChange);
  EXPECT_EQ(record(completion("d", "late-2", std::nullopt, CompletionStatus::kNoData)).kind, RecordKind::kNoChange);
  clock.advance(minutes(60));
  EXPECT_TRUE(outbox().empty());
  auto s = tracker->status(date);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->waves.size(), 1u);
}

TEST_P(CompletionTrackerTest, StragglerOfAPartialWaveOpensAnIncrementalWave) {
  for (auto p : {"a", "b", "c"}) record(completion(p, std::string("x-") + p));
  clock.advance(minutes(30));
  ASSERT_EQ(outbox().size(), 1u);
  auto straggler = record(completion("d", "x-d", std::nullopt));  // a full run arriving late
  EXPECT_EQ(straggler.wave, 1);
  clock.advance(minutes(5));
  auto out = outbox();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].first, "phase3/2025-11-18/w1");
  EXPECT_FALSE(out[0].second.entities_changed) << "full upstream: full downstream";
  EXPECT_EQ(out[0].second.metadata["run_processors"], nlohmann::json(Names{"z"}));
  auto s = tracker->status(date);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->missing, Names{"e"});
  EXPECT_EQ(s->done, (Names{"a", "b", "c", "d"}));
}

TEST_P(CompletionTrackerTest, ZeroDebounceTriggersALateChangeAtOnce) {
  auto config = small_config();
  config.name = "phase3_nodebounce";
  config.debounce = Duration::zero();
  auto t = CompletionTracker::create(clock, store, config);
  ASSERT_TRUE(t);
  for (auto p : {"a", "b", "c", "d", "e"}) ASSERT_TRUE((*t)->record_completion(completion(p, std::string("x-") + p)));
  auto r = (*t)->record_completion(completion("a", "late", EntityChanges{{"players", {"p1"}}}));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->triggered, Names{"phase3_nodebounce/2025-11-18/w1"});
}

TEST_P(CompletionTrackerTest, StatusReportsExpectedDoneMissingWavesAndLatency) {
  auto empty = tracker->status(date);
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->empty());
  EXPECT_EQ(empty->missing, (Names{"a", "b", "c", "d", "e"}));

  const TimePoint t0 = clock.now();
  record(completion("a", "e1"));
  clock.advance(seconds(90));
  record(completion("b", "e2", EntityChanges{}, CompletionStatus::kFailed));
  auto s = tracker->status(date);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->done, Names{"a"});
  EXPECT_EQ(s->failed, Names{"b"});
  EXPECT_EQ(s->missing, (Names{"c", "d", "e"}));
  ASSERT_EQ(s->waves.size(), 1u);
  EXPECT_FALSE(s->waves[0].decided);
  EXPECT_EQ(s->waves[0].first_completion, t0);
  EXPECT_EQ(s->waves[0].processors, (Names{"a", "b"}));
  EXPECT_FALSE(s->waves[0].latency());  // undecided
  EXPECT_TRUE(s->to_json()["waves"][0]["latency_seconds"].is_null());
  const auto states = s->processor_states();
  EXPECT_EQ(states.at("a"), ProcessorState::kDone);
  EXPECT_EQ(states.at("b"), ProcessorState::kFailed);
  EXPECT_EQ(states.at("c"), ProcessorState::kMissing);

  for (auto p : {"c", "d", "e"}) record(completion(p, std::string("x-") + p));
  auto j = tracker->status(date)->to_json();
  EXPECT_EQ(j["tracker"], "phase3");
  EXPECT_EQ(j["date"], "2025-11-18");
  EXPECT_EQ(j["waves"][0]["latency_seconds"], 90.0);  // first completion to the decision
  EXPECT_EQ(j["first_completion"], "2025-01-01T00:00:00Z");
  EXPECT_EQ(j["waves"][0]["decided"], true);
  EXPECT_EQ(j["waves"][0]["trigger_id"], "phase3/2025-11-18/w0");
  EXPECT_EQ(j["waves"][0]["reason"], "complete");
  EXPECT_EQ(j["waves"][0]["triggered_at"], "2025-01-01T00:01:30Z");
  EXPECT_EQ(j["waves"][0]["run_processors"], nlohmann::json(Names{"x", "y", "z"}));
}

TEST_P(CompletionTrackerTest, ToolsReadTrackersAndStatusFromRowsAlone) {
  record(completion("a", "e1"));
  auto list = CompletionTracker::list_trackers(store);
  ASSERT_TRUE(list);
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].name, "phase3");
  EXPECT_EQ((*list)[0].expected, (Names{"a", "b", "c", "d", "e"}));
  auto s = CompletionTracker::load_status(store, "phase3", date);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->done, Names{"a"});
  auto none = CompletionTracker::load_status(store, "phase9", date);
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, ErrorCode::kNotFound);
}

TEST_P(CompletionTrackerTest, RecordingInsideTheCallersTransactionCommitsOrRollsBackWithIt) {
  // Rolled back: the caller's body fails after recording.
  auto st = store.transact([&](Transaction& tx) -> Status {
    auto r = tracker->record_completion(tx, completion("a", "e1"));
    if (!r) return fail(r.error());
    return fail(ErrorCode::kUnavailable, "the caller's own write failed");
  });
  ASSERT_FALSE(st);
  EXPECT_TRUE(tracker->status(date)->empty());
  // Committed together with the caller's row; the trigger is in the same commit.
  for (auto p : {"a", "b", "c", "d"}) record(completion(p, std::string("x-") + p));
  RecordOutcome outcome;
  ASSERT_TRUE(store.transact([&](Transaction& tx) -> Status {
    auto r = tracker->record_completion(tx, completion("e", "x-e"));
    if (!r) return fail(r.error());
    outcome = *r;
    return tx.put("consumer/seen/x-e", "1");
  }));
  tracker->after_commit(outcome);
  EXPECT_EQ(outcome.triggered, Names{"phase3/2025-11-18/w0"});
  EXPECT_EQ(outbox().size(), 1u);
  EXPECT_TRUE(*store.get("consumer/seen/x-e"));
}

TEST_P(CompletionTrackerTest, RepeatedRunOfAProcessorBeforeTheTriggerMergesIntoItsRow) {
  record(completion("a", "e1", EntityChanges{{"players", {"p1"}}}, CompletionStatus::kFailed));
  record(completion("a", "e1-retry", EntityChanges{{"players", {"p2"}}}));
  for (auto p : {"b", "c", "d", "e"}) record(completion(p, std::string("x-") + p));
  auto out = outbox();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].second.metadata["failed"], nlohmann::json::array()) << "the retry succeeded";
  EXPECT_EQ(*out[0].second.entities_changed, (EntityChanges{{"players", {"p2"}}}));
  EXPECT_EQ(out[0].second.trace_links.size(), 6u);
}

TEST_P(CompletionTrackerTest, BadConfigsAndMessagesAreRefusedWithTheirReason) {
  auto c = small_config();
  c.expected.clear();
  EXPECT_FALSE(CompletionTracker::validate_options(c));
  c = small_config();
  c.name = "a/b";
  EXPECT_FALSE(CompletionTracker::validate_options(c));
  c = small_config();
  c.partial_threshold = 1.5;
  EXPECT_NE(CompletionTracker::validate_options(c).error().message.find("partial_threshold"), std::string::npos);
  c = small_config();
  c.expected.push_back("unknown");
  EXPECT_NE(CompletionTracker::validate_options(c).error().message.find("unknown to its registry"), std::string::npos);
  c = small_config();
  c.trigger_topic = "Bad Topic";
  EXPECT_FALSE(CompletionTracker::validate_options(c));
  c = small_config();
  c.expected.push_back("a");
  EXPECT_FALSE(CompletionTracker::validate_options(c));

  auto bad = completion("a/b", "e1");
  EXPECT_EQ(tracker->record_completion(bad).error().code, ErrorCode::kInvalidArgument);
  auto noexec = completion("a", "");
  EXPECT_EQ(tracker->record_completion(noexec).error().code, ErrorCode::kInvalidArgument);
}

PIPELINE_STORE_SUITE(CompletionTrackerTest);

}  // namespace completion_tracker_test
}  // namespace pipeline
