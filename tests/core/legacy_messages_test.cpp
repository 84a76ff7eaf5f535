#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "pipeline/core/legacy_messages.hpp"

namespace pipeline::legacy_messages_test {

// Samples transcribed from the seeds (handoff notes of the platform this library serves).

// Phase 1 → 2 message format of every scraper (ScraperBase).
constexpr const char* kScraperSample = R"({
    "name": "nbac_injury_report",
    "scraper_name": "nbac_injury_report",
    "execution_id": "a1b2c3d4",
    "status": "success",
    "gcs_path": "gs://bucket/path/file.json",
    "record_count": 450,
    "timestamp": "2025-11-15T00:00:00Z",
    "workflow": "morning_operations"
  })";

// The proposed Phase 2 completion (raw_data_loaded).
constexpr const char* kRawLoadedSample = R"({
  "event_type": "raw_data_loaded",
  "source_table": "nbac_gamebook_player_stats",
  "target_table": "nba_raw.nbac_gamebook_player_stats",
  "processor_name": "NbacGamebookProcessor",
  "execution_id": "xyz789",
  "game_date": "2025-11-15",
  "game_ids": ["0022500225", "0022500226"],
  "record_count": 450,
  "status": "success",
  "timestamp": "2025-11-15T02:30:00Z",
  "source_scraper_execution_id": "abc123",
  "metadata": {
    "duration_seconds": 3.5,
    "rows_inserted": 400,
    "rows_updated": 50
  }
})";

// The end-to-end test message published by hand to trigger Phase 3.
constexpr const char* kRawLoadedTestSample = R"({
    "event_type": "raw_data_loaded",
    "source_table": "nbac_gamebook_player_stats",
    "game_date": "2024-11-18",
    "record_count": 100,
    "execution_id": "test-123",
    "correlation_id": "test-456"
  })";

// The unified format every phase publishes (seeds' "consistent message format").
constexpr const char* kUnifiedSample = R"({
    "processor_name": "ProcessorName",
    "phase": "phase_X_name",
    "execution_id": "unique-id",
    "correlation_id": "trace-id",
    "game_date": "2025-11-29",
    "output_table": "table_name",
    "output_dataset": "dataset_name",
    "status": "success",
    "record_count": 450,
    "duration_seconds": 28.5,
    "metadata": {}
})";

CalendarDate date(const char* s) { return *CalendarDate::parse(s); }

void expect_round_trip(const Message& m) {
  ASSERT_TRUE(validate_message(m)) << validate_message(m).error().to_string();
  auto back = decode_message(encode_message(m));
  ASSERT_TRUE(back) << back.error().to_string();
  EXPECT_EQ(*back, m);
}

TEST(LegacyMessages, AdaptsTheSeedScraperMessageWithTheCallersGameDate) {
  // 00:00 UTC on the 15th is still the evening of the 14th in New York: the date is the caller's.
  auto m = adapt_scraper_message(kScraperSample, date("2025-11-14"));
  ASSERT_TRUE(m) << m.error().to_string();
  EXPECT_EQ(m->phase, "phase1_scrapers");
  EXPECT_EQ(m->processor_name, "nbac_injury_report");
  EXPECT_EQ(m->execution_id, "a1b2c3d4");
  EXPECT_EQ(m->correlation_id, "a1b2c3d4");
  EXPECT_EQ(m->partition_date, date("2025-11-14"));
  EXPECT_EQ(m->status, CompletionStatus::kSuccess);
  EXPECT_EQ(m->record_count, 450);
  EXPECT_EQ(m->metadata["gcs_path"], "gs://bucket/path/file.json");
  EXPECT_EQ(m->metadata["workflow"], "morning_operations");
  EXPECT_EQ(m->metadata["timestamp"], "2025-11-15T00:00:00Z");
  EXPECT_FALSE(m->entities_changed);
  expect_round_trip(*m);
}

TEST(LegacyMessages, ScraperFailureWithoutReasonGetsOneAndNoDataIsKept) {
  auto j = nlohmann::json::parse(kScraperSample);
  j["status"] = "failed";
  auto failed = adapt_scraper_message(j.dump(), date("2025-11-14"));
  ASSERT_TRUE(failed) << failed.error().to_string();
  EXPECT_EQ(failed->status, CompletionStatus::kFailed);
  EXPECT_EQ(failed->error, "scraper 'nbac_injury_report' reported failed (the legacy message gives no reason)");
  j["status"] = "no_data";
  j["record_count"] = 0;
  auto none = adapt_scraper_message(j.dump(), date("2025-11-14"));
  ASSERT_TRUE(none);
  EXPECT_EQ(none->status, CompletionStatus::kNoData);
}

TEST(LegacyMessages, ScraperErrorsNameEveryBadField) {
  auto r = adapt_scraper_message(
      R"({"name":"x","execution_id":"","status":"partial","record_count":-1,"timestamp":"2025-11-15 00:00"})",
      date("2025-11-14"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(r.error().context.at("fields"), "execution_id,status,record_count,timestamp");
  EXPECT_EQ(r.error().message.rfind("invalid legacy scraper message: field 'execution_id': must be a non-empty "
                                    "string; field 'status': unknown status 'partial' (a scraper reports success, "
                                    "no_data or failed); field 'record_count': -1 is negative; counts are >= 0; "
                                    "field 'timestamp': '2025-11-15 00:00' is not an RFC 3339 timestamp",
                                    0),
            0u)
      << r.error().message;
  auto nameless = adapt_scraper_message(R"({"execution_id":"e","status":"success"})", date("2025-11-14"));
  ASSERT_FALSE(nameless);
  EXPECT_EQ(nameless.error().message,
            "invalid legacy scraper message: field 'scraper_name': is required but missing");
}

TEST(LegacyMessages, FarFutureTimestampIsAFieldErrorNotAnOverflow) {
  // Found by the raw_data_loaded fuzzer: year 2825 overflowed the nanosecond clock.
  auto j = nlohmann::json::parse(kRawLoadedSample);
  j["timestamp"] = "2825-11-15T02:30:00Z";
  auto r = adapt_raw_loaded_message(j.dump());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message,
            "invalid legacy raw_data_loaded message: field 'timestamp': '2825-11-15T02:30:00Z' is not an RFC 3339 "
            "timestamp (year outside 1678..2261)");
}

TEST(LegacyMessages, AdaptsTheSeedRawDataLoadedMessage) {
  auto m = adapt_raw_loaded_message(kRawLoadedSample);
  ASSERT_TRUE(m) << m.error().to_string();
  EXPECT_EQ(m->phase, "phase2_raw");
  EXPECT_EQ(m->processor_name, "NbacGamebookProcessor");
  EXPECT_EQ(m->output_table, "nbac_gamebook_player_stats");
  EXPECT_EQ(m->output_dataset, "nba_raw");
  EXPECT_EQ(m->execution_id, "xyz789");
  EXPECT_EQ(m->correlation_id, "abc123");  // the scrape that started it
  EXPECT_EQ(m->trace_links, (std::vector<TraceLink>{{"abc123", "abc123"}}));
  EXPECT_EQ(m->partition_date, date("2025-11-15"));
  EXPECT_EQ(m->record_count, 450);
  EXPECT_DOUBLE_EQ(m->duration_seconds, 3.5);
  EXPECT_EQ(m->metadata["game_ids"], nlohmann::json({"0022500225", "0022500226"}));
  EXPECT_EQ(m->metadata["rows_inserted"], 400);
  EXPECT_EQ(m->metadata["rows_updated"], 50);
  EXPECT_EQ(m->metadata["target_table"], "nba_raw.nbac_gamebook_player_stats");
  EXPECT_EQ(m->metadata["timestamp"], "2025-11-15T02:30:00Z");
  EXPECT_FALSE(m->metadata->contains("duration_seconds"));
  expect_round_trip(*m);
}

TEST(LegacyMessages, AdaptsTheSeedsHandPublishedRawMessageWithoutStatusOrProcessor) {
  auto m = adapt_raw_loaded_message(kRawLoadedTestSample);
  ASSERT_TRUE(m) << m.error().to_string();
  EXPECT_EQ(m->processor_name, "nbac_gamebook_player_stats");
  EXPECT_EQ(m->status, CompletionStatus::kSuccess);
  EXPECT_EQ(m->correlation_id, "test-456");
  EXPECT_TRUE(m->trace_links.empty());
  EXPECT_EQ(m->record_count, 100);
  expect_round_trip(*m);
}

TEST(LegacyMessages, RawLoadedErrorsNameEveryBadField) {
  auto r = adapt_raw_loaded_message(
      R"({"event_type":"raw_data_loaded","execution_id":"e","game_date":"2025-02-30","game_ids":[1],)"
      R"("status":"ok","metadata":{"duration_seconds":-2,"rows_inserted":"many"}})");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().context.at("fields"),
            "source_table,game_date,game_ids,status,duration_seconds,metadata.rows_inserted");
  EXPECT_NE(r.error().message.find("field 'game_date': game_date '2025-02-30' is not a calendar date (no such day)"),
            std::string::npos)
      << r.error().message;
  auto wrong = adapt_raw_loaded_message(R"({"event_type":"phase4_complete"})");
  ASSERT_FALSE(wrong);
  EXPECT_NE(wrong.error().message.find("field 'event_type': 'phase4_complete' is not raw_data_loaded"),
            std::string::npos);
}

TEST(LegacyMessages, DecodeAnyRecognizesEachShape) {
  auto unified = decode_any_message(kUnifiedSample);
  ASSERT_TRUE(unified) << unified.error().to_string();
  EXPECT_EQ(unified->phase, "phase_X_name");
  EXPECT_EQ(unified->correlation_id, "trace-id");
  EXPECT_DOUBLE_EQ(unified->duration_seconds, 28.5);

  auto raw = decode_any_message(kRawLoadedSample);
  ASSERT_TRUE(raw);
  EXPECT_EQ(raw->phase, "phase2_raw");
  auto scraper = decode_any_message(kScraperSample, date("2025-11-14"));
  ASSERT_TRUE(scraper);
  EXPECT_EQ(scraper->phase, "phase1_scrapers");
  EXPECT_EQ(*scraper, *adapt_scraper_message(kScraperSample, date("2025-11-14")));
}

TEST(LegacyMessages, DecodeAnyRoutesACallersEventTypeToItsAdapter) {
  static constexpr auto adapt = [](const nlohmann::json& j) -> Result<Message> {
    Message m;
    m.processor_name = "stage";
    m.phase = "phase9_done";
    m.execution_id = j.at("id").get<std::string>();
    m.correlation_id = m.execution_id;
    m.partition_date = date("2025-11-28");
    return m;
  };
  auto m = decode_any_message(R"({"event_type":"phase9_done","id":"x1"})", std::nullopt, {}, {{"phase9_done", adapt}});
  ASSERT_TRUE(m) << m.error().to_string();
  EXPECT_EQ(m->execution_id, "x1");
  auto other = decode_any_message(R"({"event_type":"phase8_done"})", std::nullopt, {}, {{"phase9_done", adapt}});
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().message,
            "completion message has event_type string \"phase8_done\", which no adapter reads (known: "
            "raw_data_loaded, phase9_done)");
}

TEST(LegacyMessages, DecodeAnyExplainsWhatItCannotRoute) {
  auto scraper = decode_any_message(kScraperSample);
  ASSERT_FALSE(scraper);
  EXPECT_EQ(scraper.error().message,
            "legacy scraper message carries no game date: its timestamp is UTC and game dates are US/Eastern days, "
            "so the caller must supply the game date");
  EXPECT_EQ(scraper.error().context.at("fields"), "game_date");
  auto other = decode_any_message(R"({"event_type":"phase9_done"})");
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().message,
            "completion message has event_type string \"phase9_done\", which no adapter reads (known: "
            "raw_data_loaded)");
  auto nothing = decode_any_message(R"({"hello":1})");
  ASSERT_FALSE(nothing);
  EXPECT_EQ(nothing.error().context.at("fields"), "processor_name,phase,execution_id,game_date,status");
  EXPECT_FALSE(decode_any_message("[]"));
  EXPECT_FALSE(decode_any_message(std::string(100, '[')));
}

}  // namespace pipeline::legacy_messages_test
