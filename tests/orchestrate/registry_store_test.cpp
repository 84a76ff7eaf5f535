// The trigger registry stored beside the trackers: written by CompletionTracker::create,
// read back (one tracker's, or every tracker's merged), strict about damaged records.
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "pipeline/core/manual_clock.hpp"
#include "pipeline/memory/memory_state_store.hpp"
#include "pipeline/orchestrate/completion_tracker.hpp"
#include "pipeline/orchestrate/registry_store.hpp"
#include "pipeline/orchestrate/tracker_keys.hpp"

#ifdef PIPELINE_TEST_HAVE_SQLITE
#include "pipeline/sqlite/sqlite_state_store.hpp"
#include "temp_dir.hpp"
#endif

namespace pipeline {
namespace registry_store_test {

using Names = std::vector<std::string>;

// ingest -> clean_a, clean_b; clean_a, clean_b -> report.
TriggerRegistry three_phase_registry() {
  TriggerRegistry r;
  EXPECT_TRUE(r.add_processor("ingest", "raw"));
  EXPECT_TRUE(r.add_processor("clean_a", "clean"));
  EXPECT_TRUE(r.add_processor("clean_b", "clean"));
  EXPECT_TRUE(r.add_processor("report", "reports"));
  EXPECT_TRUE(r.add_trigger("ingest", {"clean_b", "clean_a"}));  // declaration order is kept
  EXPECT_TRUE(r.add_trigger("clean_a", {"report"}));
  EXPECT_TRUE(r.add_trigger("clean_b", {"report"}));
  return r;
}

CompletionTrackerOptions tracker_config(std::string name, Names expected, TriggerRegistry registry) {
  CompletionTrackerOptions c;
  c.name = std::move(name);
  c.upstream_phase = "up";
  c.downstream_phase = "down";
  c.expected = std::move(expected);
  c.trigger_topic = "test-" + c.name + "-trigger";
  c.registry = std::move(registry);
  return c;
}

class RegistryStoreTest : public ::testing::Test {
 protected:
  std::unique_ptr<CompletionTracker> create(CompletionTrackerOptions c) {
    auto t = CompletionTracker::create(clock, store, std::move(c));
    EXPECT_TRUE(t) << t.error().to_string();
    return t ? std::move(*t) : nullptr;
  }

  /// The registry as its parts, to compare two registries.
  static std::vector<std::string> parts(const TriggerRegistry& r) {
    std::vector<std::string> out;
    for (const auto& p : r.processors()) {
      out.push_back(p + "@" + *r.phase_of(p));
      for (const auto& t : r.targets(p)) out.push_back(p + "->" + t);
    }
    return out;
  }

  ManualClock clock;
  MemoryStateStore store = MemoryStateStore::create().value();
};

TEST_F(RegistryStoreTest, CreateStoresTheTrackersRegistryUnderItsKey) {
  const TriggerRegistry registry = three_phase_registry();
  auto t = create(tracker_config("cleaning", {"ingest"}, registry));
  ASSERT_TRUE(t);
  auto row = store.get("tracker/cleaning/registry");
  ASSERT_TRUE(row) << row.error().to_string();
  ASSERT_TRUE(*row);
  EXPECT_NE((*row)->find("\"format\":1"), std::string::npos) << **row;

  auto loaded = load_registry(store, "cleaning");
  ASSERT_TRUE(loaded) << loaded.error().to_string();
  ASSERT_TRUE(*loaded);
  EXPECT_EQ(parts(**loaded), parts(registry));
  EXPECT_EQ((*loaded)->targets("ingest"), (Names{"clean_b", "clean_a"}));
  EXPECT_EQ((*loaded)->to_dot(), registry.to_dot());
}

TEST_F(RegistryStoreTest, RoundTripKeepsPhasesEdgesAndTheirOrder) {
  TriggerRegistry r = three_phase_registry();
  ASSERT_TRUE(r.add_processor("lonely", "phase with spaces and ünïcode"));
  auto text = internal::encode_registry(r);
  ASSERT_TRUE(text) << text.error().to_string();
  auto back = internal::decode_registry(*text);
  ASSERT_TRUE(back) << back.error().to_string();
  EXPECT_EQ(parts(*back), parts(r));
  EXPECT_EQ(internal::encode_registry(*back).value(), *text);  // stable: same registry, same bytes
}

TEST_F(RegistryStoreTest, CreatingTheSameTrackerAgainWritesNothing) {
  ASSERT_TRUE(create(tracker_config("cleaning", {"ingest"}, three_phase_registry())));
  ASSERT_TRUE(create(tracker_config("cleaning", {"ingest"}, three_phase_registry())));
  // A read-only transaction refuses any write: saving what is stored must not write.
  auto st = store.transact(
      [&](Transaction& tx) { return save_registry(tx, "cleaning", three_phase_registry()); },
      TransactionOptions{.read_only = true});
  EXPECT_TRUE(st) << st.error().to_string();
}

TEST_F(RegistryStoreTest, TrackersSharingAStoreWithOneRegistryDrawItOnce) {
  auto a = create(tracker_config("cleaning", {"ingest"}, three_phase_registry()));
  auto b = create(tracker_config("reporting", {"clean_a", "clean_b"}, three_phase_registry()));
  auto merged = load_registry(store);
  ASSERT_TRUE(merged) << merged.error().to_string();
  ASSERT_TRUE(*merged);
  EXPECT_EQ(parts(**merged), parts(three_phase_registry()));
}

TEST_F(RegistryStoreTest, TrackersKnowingTheirOwnPartMergeIntoTheWholeGraph) {
  TriggerRegistry first, second;
  ASSERT_TRUE(first.add_processor("ingest", "raw"));
  ASSERT_TRUE(first.add_processor("clean_a", "clean"));
  ASSERT_TRUE(first.add_processor("clean_b", "clean"));
  ASSERT_TRUE(first.add_trigger("ingest", {"clean_b", "clean_a"}));
  ASSERT_TRUE(second.add_processor("clean_a", "clean"));
  ASSERT_TRUE(second.add_processor("clean_b", "clean"));
  ASSERT_TRUE(second.add_processor("report", "reports"));
  ASSERT_TRUE(second.add_trigger("clean_a", {"report"}));
  ASSERT_TRUE(second.add_trigger("clean_b", {"report"}));
  auto a = create(tracker_config("cleaning", {"ingest"}, first));
  auto b = create(tracker_config("reporting", {"clean_a", "clean_b"}, second));
  auto merged = load_registry(store);
  ASSERT_TRUE(merged) << merged.error().to_string();
  ASSERT_TRUE(*merged);
  EXPECT_EQ(parts(**merged), parts(three_phase_registry()));
  // Each tracker's own record is still its own part.
  EXPECT_EQ(parts(load_registry(store, "reporting").value().value()), parts(second));
}

TEST_F(RegistryStoreTest, RecreatingATrackerReplacesOnlyItsOwnRegistry) {
  auto a = create(tracker_config("cleaning", {"ingest"}, three_phase_registry()));
  auto b = create(tracker_config("reporting", {"clean_a", "clean_b"}, three_phase_registry()));
  TriggerRegistry changed = three_phase_registry();
  ASSERT_TRUE(changed.add_processor("archive", "reports"));
  ASSERT_TRUE(changed.add_trigger("clean_a", {"archive"}));
  a.reset();
  a = create(tracker_config("cleaning", {"ingest"}, changed));  // redeployed with a new edge
  EXPECT_EQ(parts(load_registry(store, "cleaning").value().value()), parts(changed));
  EXPECT_EQ(parts(load_registry(store, "reporting").value().value()), parts(three_phase_registry()));
  // The merge is the union: the new edge shows, nothing is lost.
  EXPECT_EQ(parts(load_registry(store).value().value()), parts(changed));
}

TEST_F(RegistryStoreTest, TrackersThatPutOneProcessorInTwoPhasesAreAConflictNamingBoth) {
  TriggerRegistry other = three_phase_registry();
  TriggerRegistry moved;
  ASSERT_TRUE(moved.add_processor("ingest", "raw"));
  ASSERT_TRUE(moved.add_processor("clean_a", "staging"));  // "clean" in the other tracker's
  ASSERT_TRUE(moved.add_trigger("ingest", {"clean_a"}));
  auto a = create(tracker_config("alpha", {"ingest"}, other));
  auto b = create(tracker_config("beta", {"ingest"}, moved));
  auto merged = load_registry(store);
  ASSERT_FALSE(merged);
  EXPECT_EQ(merged.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_NE(merged.error().message.find("'clean_a'"), std::string::npos) << merged.error().message;
  EXPECT_NE(merged.error().message.find("'alpha'"), std::string::npos) << merged.error().message;
  EXPECT_NE(merged.error().message.find("'beta'"), std::string::npos) << merged.error().message;
  // Each one alone still reads.
  EXPECT_TRUE(load_registry(store, "alpha"));
  EXPECT_TRUE(load_registry(store, "beta"));
}

TEST_F(RegistryStoreTest, EdgesThatFormACycleOnlyTogetherAreAConflict) {
  TriggerRegistry forward, backward;
  for (auto* r : {&forward, &backward}) {
    ASSERT_TRUE(r->add_processor("a", "p"));
    ASSERT_TRUE(r->add_processor("b", "p"));
  }
  ASSERT_TRUE(forward.add_trigger("a", {"b"}));
  ASSERT_TRUE(backward.add_trigger("b", {"a"}));
  auto t1 = create(tracker_config("forward", {"a"}, forward));
  auto t2 = create(tracker_config("backward", {"b"}, backward));
  auto merged = load_registry(store);
  ASSERT_FALSE(merged);
  EXPECT_EQ(merged.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_NE(merged.error().message.find("cycle"), std::string::npos) << merged.error().message;
}

TEST_F(RegistryStoreTest, NothingRecordedIsNullopt) {
  auto empty = load_registry(store);
  ASSERT_TRUE(empty) << empty.error().to_string();
  EXPECT_FALSE(*empty);
  // A tracker whose registry row is absent (created before registries were stored).
  auto t = create(tracker_config("cleaning", {"ingest"}, three_phase_registry()));
  ASSERT_TRUE(store.transact([](Transaction& tx) { return tx.erase("tracker/cleaning/registry").map([](bool) {}); }));
  auto old = load_registry(store);
  ASSERT_TRUE(old) << old.error().to_string();
  EXPECT_FALSE(*old);
  EXPECT_FALSE(load_registry(store, "cleaning").value());
  EXPECT_FALSE(load_registry(store, "no_such_tracker").value());
}

TEST_F(RegistryStoreTest, DamagedRecordsAreDataLossNamingTheProblemAndTheKey) {
  auto t = create(tracker_config("cleaning", {"ingest"}, three_phase_registry()));
  const std::string key = TrackerKeys::registry_key("cleaning");
  EXPECT_EQ(key, "tracker/cleaning/registry");
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  const struct {
    std::string value;
    std::string says;
  } cases[] = {
      {"{not json", "not valid JSON"},
      {"[1,2]", "not a JSON object"},
      {R"({"processors":{},"triggers":{}})", "no 'format'"},
      {R"({"format":2,"processors":{},"triggers":{}})", "format"},
      {R"({"format":"1","processors":{},"triggers":{}})", "format"},
      {R"({"format":1,"processors":[],"triggers":{}})", "'processors'"},
      {R"({"format":1,"processors":{},"triggers":[]})", "'triggers'"},
      {R"({"format":1,"processors":{"a b":"p"},"triggers":{}})", "processor name 'a b'"},
      {R"({"format":1,"processors":{"a":7},"triggers":{}})", "phase number 7"},
      {R"({"format":1,"processors":{"a":")" + std::string(300, 'x') + R"("},"triggers":{}})", "at most 256 bytes"},
      {R"({"format":1,"processors":{"a":"p"},"triggers":{"a":"b"}})", "not an array"},
      {R"({"format":1,"processors":{"a":"p"},"triggers":{"a":[3]}})", "not a name"},
      {R"({"format":1,"processors":{"a":"p"},"triggers":{"a":["b"]}})", "'b'"},
      {R"({"format":1,"processors":{"a":"p","b":"p"},"triggers":{"a":["b"],"b":["a"]}})", "cycle"},
      {R"({"format":1,"processors":{"a":"p","b":"p"},"triggers":{"a":["b","b"]}})", "twice"},
      {R"({"format":1,"processors":{"a":{"x":[1]}},"triggers":{}})", "deeper than the limit"},
      {deep, "deeper than the limit"},
      {std::string(kMaxRegistryRecordBytes + 1, ' '), "over the limit"},
  };
  for (const auto& c : cases) {
    ASSERT_TRUE(store.transact([&](Transaction& tx) { return tx.put(key, c.value); }));
    auto r = load_registry(store, "cleaning");
    ASSERT_FALSE(r) << c.value.substr(0, 80);
    EXPECT_EQ(r.error().code, ErrorCode::kDataLoss) << r.error().to_string();
    EXPECT_NE(r.error().message.find(c.says), std::string::npos)
        << "expected '" << c.says << "' in: " << r.error().message;
    EXPECT_EQ(r.error().context.count("key"), 1u) << r.error().to_string();
    auto merged = load_registry(store);  // the merged view reports it, never skips it
    ASSERT_FALSE(merged);
    EXPECT_EQ(merged.error().code, ErrorCode::kDataLoss);
  }
}

TEST_F(RegistryStoreTest, ARegistryThatCannotBeStoredIsRefusedByCreate) {
  TriggerRegistry r;
  ASSERT_TRUE(r.add_processor("a", std::string(kMaxRegistryPhaseBytes + 1, 'p')));
  ASSERT_TRUE(r.add_processor("b", "p"));
  ASSERT_TRUE(r.add_trigger("a", {"b"}));
  auto t = CompletionTracker::create(clock, store, tracker_config("t", {"a"}, r));
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(t.error().context.at("field"), "registry");
  EXPECT_FALSE(CompletionTracker::validate_options(tracker_config("t", {"a"}, r)));
  auto list = list_trackers(store);
  ASSERT_TRUE(list);
  EXPECT_TRUE(list->empty());  // nothing half-written
}

#ifdef PIPELINE_TEST_HAVE_SQLITE
TEST(RegistryStoreSqlite, AStoreWrittenBeforeRegistriesWereStoredHasNothingRecorded) {
  pipeline::testing::TempDir dir;
  std::filesystem::copy_file(std::filesystem::path(PIPELINE_TEST_FIXTURES_DIR) / "format1_store.sqlite",
                             dir.file("store.sqlite"));
  auto store = SqliteStateStore::open(dir.file("store.sqlite"));
  ASSERT_TRUE(store) << store.error().to_string();
  auto r = load_registry(**store);
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_FALSE(*r);
}

TEST(RegistryStoreSqlite, TheRegistryOutlivesTheProcessThatStoredIt) {
  pipeline::testing::TempDir dir;
  ManualClock clock;
  {
    auto store = SqliteStateStore::open(dir.file("store.sqlite"));
    ASSERT_TRUE(store) << store.error().to_string();
    auto t = CompletionTracker::create(clock, **store, tracker_config("cleaning", {"ingest"}, three_phase_registry()));
    ASSERT_TRUE(t) << t.error().to_string();
  }
  auto store = SqliteStateStore::open(dir.file("store.sqlite"));
  ASSERT_TRUE(store) << store.error().to_string();
  auto r = load_registry(**store);
  ASSERT_TRUE(r) << r.error().to_string();
  ASSERT_TRUE(*r);
  EXPECT_EQ((*r)->to_dot(), three_phase_registry().to_dot());
}
#endif

}  // namespace registry_store_test
}  // namespace pipeline
