// The NBA example's legacy phase4_complete adapter (moved out of the library with it).
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "phase5_coordinator/phase4_complete.hpp"

namespace pipeline::phase4_complete_example_test {

// The Phase 4 → 5 trigger published by hand to the coordinator (from the seeds).
constexpr const char* kPhase4Sample =
    R"({"event_type":"phase4_complete","game_date":"2025-11-28","players_ready":100,"players_total":450})";

// The proposed Phase 2 completion (raw_data_loaded), for the decoder that reads every shape.
constexpr const char* kRawLoadedSample = R"({
  "event_type": "raw_data_loaded",
  "source_table": "nbac_gamebook_player_stats",
  "target_table": "nba_raw.nbac_gamebook_player_stats",
  "execution_id": "xyz789",
  "game_date": "2025-11-15",
  "record_count": 450,
  "status": "success"
})";

CalendarDate date(const char* s) { return *CalendarDate::parse(s); }

void expect_round_trip(const Message& m) {
  ASSERT_TRUE(validate_message(m)) << validate_message(m).error().to_string();
  auto back = decode_message(encode_message(m));
  ASSERT_TRUE(back) << back.error().to_string();
  EXPECT_EQ(*back, m);
}

TEST(Phase4CompleteExample, AdaptsTheSeedPhase4MessageAsPartialWithCounts) {
  auto m = nba::phase5::adapt_phase4_message(kPhase4Sample);
  ASSERT_TRUE(m) << m.error().to_string();
  EXPECT_EQ(m->phase, "phase4_precompute");
  EXPECT_EQ(m->processor_name, "phase4_complete");
  EXPECT_EQ(m->execution_id, "phase4_complete/2025-11-28");
  EXPECT_EQ(m->partition_date, date("2025-11-28"));
  EXPECT_EQ(m->status, CompletionStatus::kPartial);
  EXPECT_EQ(m->record_count, 100);
  EXPECT_EQ(m->metadata["entities_ready"], 100);
  EXPECT_EQ(m->metadata["entities_total"], 450);
  expect_round_trip(*m);
  auto all = nba::phase5::adapt_phase4_message(
      R"({"event_type":"phase4_complete","game_date":"2025-11-28","players_ready":450,"players_total":450})");
  ASSERT_TRUE(all);
  EXPECT_EQ(all->status, CompletionStatus::kSuccess);
  auto off_day = nba::phase5::adapt_phase4_message(
      R"({"event_type":"phase4_complete","game_date":"2025-11-28","players_ready":0,"players_total":0})");
  ASSERT_TRUE(off_day);
  EXPECT_EQ(off_day->status, CompletionStatus::kNoData);
}

TEST(Phase4CompleteExample, Phase4RequiresReadyWithinTotal) {
  auto more = nba::phase5::adapt_phase4_message(
      R"({"event_type":"phase4_complete","game_date":"2025-11-28","players_ready":460,"players_total":450})");
  ASSERT_FALSE(more);
  EXPECT_EQ(more.error().message,
            "invalid legacy phase4_complete message: field 'players_ready': 460 players ready is more than the 450 "
            "in total");
  auto missing = nba::phase5::adapt_phase4_message(R"({"event_type":"phase4_complete","players_ready":-1})");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().context.at("fields"), "game_date,players_ready,players_total");
}

TEST(Phase4CompleteExample, UnknownLegacyFieldsAreKept) {
  auto j = nlohmann::json::parse(kPhase4Sample);
  j["ready_pct"] = 22.2;
  j["phase"] = "4";  // a unified field name the legacy shape does not own
  auto m = nba::phase5::phase4_message_from_json(j);
  ASSERT_TRUE(m) << m.error().to_string();
  EXPECT_EQ(m->extensions["ready_pct"], 22.2);
  EXPECT_EQ(m->metadata["legacy_phase"], "4");
  EXPECT_EQ(m->phase, "phase4_precompute");
  expect_round_trip(*m);
}

TEST(Phase4CompleteExample, DecodeAnyRecognizesPhase4CompleteBesideTheLibrarysShapes) {
  auto p4 = nba::phase5::decode_any_message(kPhase4Sample);
  ASSERT_TRUE(p4);
  EXPECT_EQ(p4->phase, "phase4_precompute");
  auto raw = nba::phase5::decode_any_message(kRawLoadedSample);
  ASSERT_TRUE(raw) << raw.error().to_string();
  EXPECT_EQ(raw->phase, "phase2_raw");
  auto other = nba::phase5::decode_any_message(R"({"event_type":"phase9_done"})");
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().message,
            "completion message has event_type string \"phase9_done\", which no adapter reads (known: "
            "raw_data_loaded, phase4_complete)");
  // The library alone does not know the example's shape.
  EXPECT_FALSE(pipeline::decode_any_message(kPhase4Sample));
}

}  // namespace pipeline::phase4_complete_example_test
