// Stored formats: a store written before records carried a format version (the fixture
// in tests/fixtures, written by the older code) reads with today's code exactly as it
// read then; new records carry their format and keep instants in nanoseconds.
#include <filesystem>
#include <fstream>
#include <map>
#include <vector>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "pipeline/core/manual_clock.hpp"
#include "pipeline/memory/memory_state_store.hpp"
#include "pipeline/orchestrate/completion_tracker.hpp"
#include "pipeline/orchestrate/dead_letter_recorder.hpp"
#include "pipeline/orchestrate/run_history.hpp"
#include "pipeline/orchestrate/tracker_records.hpp"
#include "pipeline/orchestrate/tracker_status.hpp"

#ifdef PIPELINE_TEST_HAVE_SQLITE
#include "pipeline/sqlite/sqlite_state_store.hpp"
#include "temp_dir.hpp"
#endif

namespace stored_format_test {

using namespace pipeline;

#ifdef PIPELINE_TEST_HAVE_SQLITE

class Format1Store : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::filesystem::path fixtures(PIPELINE_TEST_FIXTURES_DIR);
    // A copy: opening a WAL database writes beside it.
    std::filesystem::copy_file(fixtures / "format1_store.sqlite", dir_.file("store.sqlite"));
    std::ifstream in(fixtures / "format1_expected.json");
    expected_ = nlohmann::json::parse(in);
    auto s = SqliteStateStore::open(dir_.file("store.sqlite"));
    ASSERT_TRUE(s) << s.error().to_string();
    store_ = std::move(*s);
  }
  pipeline::testing::TempDir dir_;
  nlohmann::json expected_;
  std::unique_ptr<SqliteStateStore> store_;
};

TEST_F(Format1Store, TrackerListReadsAsBefore) {
  auto list = list_trackers(*store_);
  ASSERT_TRUE(list) << list.error().to_string();
  ASSERT_EQ(list->size(), expected_["trackers"].size());
  for (std::size_t i = 0; i < list->size(); ++i) {
    const auto& e = expected_["trackers"][i];
    EXPECT_EQ((*list)[i].name, e["name"]);
    EXPECT_EQ((*list)[i].upstream_phase, e["upstream_phase"]);
    EXPECT_EQ((*list)[i].downstream_phase, e["downstream_phase"]);
    EXPECT_EQ((*list)[i].trigger_topic, e["trigger_topic"]);
    EXPECT_EQ((*list)[i].expected, e["expected"].get<std::vector<std::string>>());
  }
}

TEST_F(Format1Store, TrackerStatusOfEveryDateReadsAsBefore) {
  ASSERT_EQ(expected_["status"].size(), 4u);
  for (const auto& [date_text, want] : expected_["status"].items()) {
    auto s = load_tracker_status(*store_, "enrich_tracker", *CalendarDate::parse(date_text));
    ASSERT_TRUE(s) << s.error().to_string();
    nlohmann::json got = s->to_json();
    for (auto& w : got["waves"]) w.erase("entities_changed");  // added after the fixture was written
    EXPECT_EQ(got, want) << date_text;
  }
  // The changes format-1 records carry read too: a full run makes the wave's "all".
  const std::map<std::string, std::vector<nlohmann::json>> changed{
      {"2025-01-09", {"all"}},
      {"2025-01-10", {"all", {{"player", 1}}}},
      {"2025-01-11", {{{"player", 2}}}},
      {"2025-01-12", {{{"player", 2}}}}};
  for (const auto& [date_text, per_wave] : changed) {
    auto s = load_tracker_status(*store_, "enrich_tracker", *CalendarDate::parse(date_text));
    ASSERT_TRUE(s) << s.error().to_string();
    const nlohmann::json got = s->to_json();
    ASSERT_EQ(got["waves"].size(), per_wave.size()) << date_text;
    for (std::size_t w = 0; w < per_wave.size(); ++w)
      EXPECT_EQ(got["waves"][w]["entities_changed"], per_wave[w]) << date_text << " wave " << w;
  }
  // Microsecond instants of format 1 keep their sub-millisecond part.
  auto s = load_tracker_status(*store_, "enrich_tracker", *CalendarDate::parse("2025-01-10"));
  ASSERT_TRUE(s && s->first_completion);
  EXPECT_EQ(s->first_completion->time_since_epoch(),
            std::chrono::seconds(1736512260) + std::chrono::microseconds(123456));
}

TEST_F(Format1Store, RunHistoryReadsAsBefore) {
  ManualClock clock;
  RunHistory history = RunHistory::create(clock, *store_).value();
  auto runs = history.list(*CalendarDate::parse("2025-01-10"));
  ASSERT_TRUE(runs) << runs.error().to_string();
  const auto& want = expected_["runs"]["2025-01-10"];
  ASSERT_EQ(runs->size(), want.size());
  for (std::size_t i = 0; i < runs->size(); ++i) {
    const auto& r = (*runs)[i];
    EXPECT_EQ(r.key.processor, want[i]["processor"]);
    EXPECT_EQ(r.key.wave, want[i]["wave"]);
    EXPECT_EQ(to_string(r.state), want[i]["state"]);
    EXPECT_EQ(r.owner, want[i]["owner"]);
    EXPECT_EQ(format_rfc3339(r.started_at), want[i]["started_at"]);
    EXPECT_EQ(format_rfc3339(r.lease_until), want[i]["lease_until"]);
    EXPECT_EQ(r.finished_at ? nlohmann::json(format_rfc3339(*r.finished_at)) : nlohmann::json(),
              want[i]["finished_at"]);
    EXPECT_EQ(r.attempts, want[i]["attempts"]);
    EXPECT_EQ(r.error, want[i]["error"]);
  }
}

TEST_F(Format1Store, DeadLettersReadAsBefore) {
  auto rows = DeadLetterRecorder::list(*store_);
  ASSERT_TRUE(rows) << rows.error().to_string();
  ASSERT_EQ(rows->size(), expected_["dead_letters"].size());
  for (std::size_t i = 0; i < rows->size(); ++i) {
    auto j = (*rows)[i].to_json();
    j.erase("format");  // written by to_json now, absent from the old rows
    EXPECT_EQ(j, expected_["dead_letters"][i]);
  }
}

TEST_F(Format1Store, OutboxKeepsItsSentAndPendingEntries) {
  EXPECT_EQ(store_->pending_outbox().value(), expected_["pending_outbox"].get<std::size_t>());
  auto claimed = store_->claim_outbox({"relay-2", 10, TimePoint(std::chrono::seconds(1736600000)), std::chrono::seconds(1)});
  ASSERT_TRUE(claimed) << claimed.error().to_string();
  ASSERT_EQ(claimed->size(), 1u);
  EXPECT_EQ(claimed->front().entry.message.id, "enrich_tracker/2025-01-10/w0");
  EXPECT_EQ(claimed->front().entry.topic, "enrich-trigger");
  EXPECT_NE(claimed->front().entry.message.id, expected_["sent_outbox_id"].get<std::string>());
  // The already sent id is never enqueued again.
  auto again = store_->transact([&](Transaction& tx) -> Status {
    auto fresh = tx.enqueue({"enrich-trigger", {expected_["sent_outbox_id"].get<std::string>(), "x", {}}});
    if (!fresh) return fail(fresh.error());
    EXPECT_FALSE(*fresh);
    return ok();
  });
  EXPECT_TRUE(again);
}

TEST_F(Format1Store, AnUndecidedFormat1WaveIsDecidedByTodaysTracker) {
  ManualClock clock(TimePoint(std::chrono::seconds(1736510400) + std::chrono::hours(2)));
  CompletionTrackerOptions c;
  c.name = "enrich_tracker";
  c.upstream_phase = "ingest";
  c.downstream_phase = "enrich";
  c.expected = {"loader_a", "loader_b", "loader_c"};
  c.trigger_topic = "enrich-trigger";
  c.partial_threshold = 0.6;
  for (auto p : {"loader_a", "loader_b", "loader_c"}) ASSERT_TRUE(c.registry.add_processor(p, "ingest"));
  ASSERT_TRUE(c.registry.add_processor("enricher_x", "enrich"));
  ASSERT_TRUE(c.registry.add_trigger("loader_a", {"enricher_x"}));
  ASSERT_TRUE(c.registry.add_trigger("loader_b", {"enricher_x"}));
  ASSERT_TRUE(c.registry.add_trigger("loader_c", {"enricher_x"}));
  auto tracker = CompletionTracker::create(clock, *store_, c);
  ASSERT_TRUE(tracker) << tracker.error().to_string();
  // 2025-01-11 waits (format 1 rows) with two of three done; its deadline has passed.
  auto decided = (*tracker)->check_deadlines();
  ASSERT_TRUE(decided) << decided.error().to_string();
  EXPECT_NE(std::find(decided->begin(), decided->end(), "enrich_tracker/2025-01-11/w0"), decided->end());
  auto s = (*tracker)->status(*CalendarDate::parse("2025-01-11"));
  ASSERT_TRUE(s);
  ASSERT_EQ(s->waves.size(), 1u);
  EXPECT_TRUE(s->waves[0].decided);
  EXPECT_EQ(s->waves[0].reason, "deadline");
  EXPECT_EQ(s->waves[0].triggered_at, clock.now());
  EXPECT_EQ(s->first_completion->time_since_epoch(),
            std::chrono::seconds(1736512398) + std::chrono::microseconds(123456));
}

#endif  // PIPELINE_TEST_HAVE_SQLITE

TEST(StoredFormat, NewTrackerRowsCarryTheirFormatAndNanoseconds) {
  const TimePoint start(std::chrono::seconds(1736510400) + std::chrono::nanoseconds(123456789));
  ManualClock clock(start);
  MemoryStateStore store = MemoryStateStore::create().value();
  CompletionTrackerOptions c;
  c.name = "t";
  c.upstream_phase = "ingest";
  c.expected = {"loader_a", "loader_b"};
  c.trigger_topic = "enrich-trigger";
  ASSERT_TRUE(c.registry.add_processor("loader_a", "ingest"));
  ASSERT_TRUE(c.registry.add_processor("loader_b", "ingest"));
  ASSERT_TRUE(c.registry.add_processor("enricher_x", "enrich"));
  ASSERT_TRUE(c.registry.add_trigger("loader_a", {"enricher_x"}));
  auto tracker = CompletionTracker::create(clock, store, c);
  ASSERT_TRUE(tracker);
  const auto date = *CalendarDate::parse("2025-01-10");
  for (auto p : {"loader_a", "loader_b"}) {
    Message m;
    m.processor_name = p;
    m.phase = "ingest";
    m.execution_id = std::string("e-") + p;
    m.partition_date = date;
    ASSERT_TRUE((*tracker)->record_completion(m));
    clock.advance(std::chrono::nanoseconds(1));
  }
  auto s = (*tracker)->status(date);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->first_completion, start);
  EXPECT_EQ(s->last_completion, start + std::chrono::nanoseconds(1));
  ASSERT_EQ(s->waves.size(), 1u);
  EXPECT_EQ(s->waves[0].first_completion, start);
  EXPECT_EQ(s->waves[0].triggered_at, start + std::chrono::nanoseconds(1));

  auto desc = store.get("trackers/t");
  ASSERT_TRUE(desc && *desc);
  EXPECT_EQ(nlohmann::json::parse(**desc).value("format", 0), kTrackerRecordFormat);
  auto decision = store.get("tracker/t/2025-01-10/decision/w000");
  ASSERT_TRUE(decision && *decision);
  EXPECT_EQ(nlohmann::json::parse(**decision).value("format", 0), kTrackerRecordFormat);
  auto record = store.get("tracker/t/2025-01-10/w000/done/loader_a");
  ASSERT_TRUE(record && *record);
  EXPECT_TRUE((*record)->starts_with("2;")) << **record;
}

// The decision row's bytes, pinned: the sorted JSON object, escapes as a JSON library
// writes them, the instant as "2;<nanoseconds>".
TEST(StoredFormat, DecisionRowBytesAreTheSortedJsonObject) {
  const TimePoint at(std::chrono::seconds(1736510400) + std::chrono::nanoseconds(123456789));
  EXPECT_EQ(internal::encode_decision(at, true, {"loader_a", "quo\"te\\"}, "deadline\tpassed\n",
                                      {}, CompletionStatus::kPartial, "enrich/2025-01-10/w1"),
            R"({"decided_at":"2;1736510400123456789","format":2,"partial_readiness":true,)"
            R"("processors":["loader_a","quo\"te\\"],"reason":"deadline\tpassed\n","run_processors":[],)"
            R"("status":"partial","trigger_id":"enrich/2025-01-10/w1"})");
  const std::vector<std::string> processors{"a", "caf\xC3\xA9", "ctl\x01"};
  const std::vector<std::string> run{"b"};
  const std::string encoded = internal::encode_decision(at, false, processors, "", run, CompletionStatus::kSuccess, "t/w0");
  const nlohmann::json same{{"decided_at", "2;1736510400123456789"},
                            {"format", kTrackerRecordFormat},
                            {"partial_readiness", false},
                            {"processors", processors},
                            {"reason", ""},
                            {"run_processors", run},
                            {"status", "success"},
                            {"trigger_id", "t/w0"}};
  EXPECT_EQ(encoded, same.dump());
  auto back = internal::decode_decision(encoded);
  ASSERT_TRUE(back) << back.error().to_string();
  EXPECT_EQ(back->processors, processors);
  EXPECT_EQ(back->run_processors, run);
  EXPECT_EQ(back->decided_at, at);
}

TEST(StoredFormat, RowsOfANewerFormatAreDataLossNotMisread) {
  MemoryStateStore store = MemoryStateStore::create().value();
  ASSERT_TRUE(store.transact([](Transaction& tx) -> Status {
    PIPELINE_TRY(tx.put("trackers/t", R"({"name":"t","expected":["a"],"format":99})"));
    return tx.put("run_history/2025-01-10/p/w0",
                  R"({"state":"success","owner":"o","started_at":"2025-01-10T00:00:00Z",)"
                  R"("lease_until":"2025-01-10T00:00:00Z","attempts":1,"error":"","format":99})");
  }));
  auto list = list_trackers(store);
  ASSERT_FALSE(list);
  EXPECT_EQ(list.error().code, ErrorCode::kDataLoss);
  ManualClock clock;
  RunHistory history = RunHistory::create(clock, store).value();
  auto runs = history.list(*CalendarDate::parse("2025-01-10"));
  ASSERT_FALSE(runs);
  EXPECT_EQ(runs.error().code, ErrorCode::kDataLoss);
}

}  // namespace stored_format_test
