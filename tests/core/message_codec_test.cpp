#include <cmath>
#include <limits>
#include <random>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "pipeline/core/message_codec.hpp"

namespace pipeline::message_codec_test {

Message typical_message() {
  Message m;
  m.processor_name = "player_game_summary";
  m.phase = "phase3_analytics";
  m.execution_id = "3f1c2a4b-1111-4222-8333-444455556666";
  m.correlation_id = "abc123";
  m.trace_links = {TraceLink{"xyz789", "abc123"}};
  m.traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  m.partition_date = *CalendarDate::parse("2025-11-18");
  m.output_table = "player_game_summary";
  m.output_dataset = "nba_analytics";
  m.record_count = 450;
  m.duration_seconds = 28.5;
  m.entities_changed = EntityChanges{{"players", {"curry", "durant", "lebron-james"}}};
  m.is_incremental = true;
  m.metadata = nlohmann::json{{"rows_inserted", 400}, {"rows_updated", 50}};
  return m;
}

/// A minimal valid message as JSON, to which a test adds or replaces fields.
nlohmann::json minimal_json() {
  return {{"processor_name", "p"}, {"phase", "phase3_analytics"}, {"execution_id", "e1"},
          {"game_date", "2025-11-18"}, {"status", "success"}};
}

Error decode_error(const nlohmann::json& j) {
  auto r = decode_message(j.dump());
  EXPECT_FALSE(r) << j.dump();
  return r ? Error{} : r.error();
}

TEST(MessageCodec, EncodesTheSeedsFieldNamesAndDecodesBackEqual) {
  const Message m = typical_message();
  const std::string text = encode_message(m);
  const auto j = nlohmann::json::parse(text);
  EXPECT_EQ(j["schema_version"], 1);
  EXPECT_EQ(j["processor_name"], "player_game_summary");
  EXPECT_EQ(j["game_date"], "2025-11-18");
  EXPECT_EQ(j["status"], "success");
  EXPECT_EQ(j["record_count"], 450);
  EXPECT_EQ(j["duration_seconds"], 28.5);
  EXPECT_EQ(j["entities_changed"]["players"][2], "lebron-james");
  EXPECT_EQ(j["trace_links"][0]["execution_id"], "xyz789");
  EXPECT_EQ(j["metadata"]["rows_updated"], 50);
  EXPECT_FALSE(j.contains("error"));
  auto back = decode_message(text);
  ASSERT_TRUE(back) << back.error().to_string();
  EXPECT_EQ(*back, m);
}

TEST(MessageCodec, AMessageWhoseDateWasNeverSetFailsValidationNamingTheField) {
  Message m = typical_message();
  m.partition_date = CalendarDate{};
  const auto st = validate_message(m);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().context.at("fields"), "game_date");
  EXPECT_NE(st.error().message.find("game_date is not set"), std::string::npos) << st.error().to_string();
}

TEST(MessageCodec, FullRunOmitsEntitiesAndNothingChangedWritesEmptyObject) {
  Message m = typical_message();
  m.entities_changed.reset();
  auto j = nlohmann::json::parse(encode_message(m));
  EXPECT_FALSE(j.contains("entities_changed"));
  auto full = decode_message(j.dump());
  ASSERT_TRUE(full);
  EXPECT_FALSE(full->entities_changed.has_value());

  m.entities_changed = EntityChanges{};
  j = nlohmann::json::parse(encode_message(m));
  ASSERT_TRUE(j.contains("entities_changed"));
  EXPECT_EQ(j["entities_changed"], nlohmann::json::object());
  auto none = decode_message(j.dump());
  ASSERT_TRUE(none);
  ASSERT_TRUE(none->entities_changed.has_value());
  EXPECT_TRUE(none->entities_changed->empty());
}

TEST(MessageCodec, NullEntitiesMeansFullRunAndIdsAreNormalized) {
  auto j = minimal_json();
  j["entities_changed"] = nullptr;
  auto full = decode_message(j.dump());
  ASSERT_TRUE(full);
  EXPECT_FALSE(full->entities_changed);
  j["entities_changed"] = {{"players", {"b", "a", "b"}}, {"teams", nlohmann::json::array()}};
  auto m = decode_message(j.dump());
  ASSERT_TRUE(m);
  EXPECT_EQ(*m->entities_changed, (EntityChanges{{"players", {"a", "b"}}}));
}

TEST(MessageCodec, EscapesQuotesBackslashesAndControlCharacters) {
  Message m = typical_message();
  m.processor_name = std::string("a\"b\\c\n\t\x01\x1f\x7f", 10);
  m.error = "é ✓ 𝄞";
  const std::string text = encode_message(m);
  EXPECT_NE(text.find(R"("a\"b\\c\n\t\u0001\u001f)"), std::string::npos) << text;
  auto back = decode_message(text);
  ASSERT_TRUE(back) << back.error().to_string();
  EXPECT_EQ(back->processor_name, m.processor_name);
  EXPECT_EQ(back->error, m.error);
}

TEST(MessageCodec, EncoderReplacesIllFormedUtf8SoOutputStaysJson) {
  Message m = typical_message();
  m.output_table = "bad\xff\xc3";
  const std::string text = encode_message(m);
  auto back = decode_message(text);
  ASSERT_TRUE(back) << back.error().to_string();
  EXPECT_EQ(back->output_table, "bad\xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST(MessageCodec, WritesShortestRoundTripDoubles) {
  Message m = typical_message();
  for (double d : {0.1, 1.0 / 3.0, 1e-300, 5e-324, 1.7976931348623157e308, 123456789.125, 0.0}) {
    m.duration_seconds = d;
    auto back = decode_message(encode_message(m));
    ASSERT_TRUE(back) << d;
    EXPECT_EQ(back->duration_seconds, d);
  }
  m.duration_seconds = 0.1;
  EXPECT_NE(encode_message(m).find("\"duration_seconds\":0.1,"), std::string::npos);
}

TEST(MessageCodec, NonFiniteDurationEncodesAsNullWhichDecodeRejects) {
  Message m = typical_message();
  m.duration_seconds = std::numeric_limits<double>::infinity();
  const std::string text = encode_message(m);
  EXPECT_NE(text.find("\"duration_seconds\":null"), std::string::npos);
  EXPECT_FALSE(validate_message(m));
  auto j = nlohmann::json::parse(text);
  j["duration_seconds"] = -1.5;
  EXPECT_EQ(decode_error(j).message,
            "invalid completion message: field 'duration_seconds': number -1.5 is not a finite number of seconds >= 0");
  auto big = decode_message(R"({"processor_name":"p","phase":"x","execution_id":"e","game_date":"2025-11-18",)"
                            R"("status":"success","duration_seconds":1e999})");
  ASSERT_FALSE(big);
  EXPECT_NE(big.error().message.find("number overflow"), std::string::npos) << big.error().message;
}

TEST(MessageCodec, MissingSchemaVersionMeansOneAndCorrelationDefaultsToExecution) {
  auto m = decode_message(minimal_json().dump());
  ASSERT_TRUE(m) << m.error().to_string();
  EXPECT_EQ(m->schema_version, 1);
  EXPECT_EQ(m->correlation_id, "e1");
  EXPECT_FALSE(m->entities_changed);
  EXPECT_EQ(m->record_count, 0);
}

TEST(MessageCodec, NewerSchemaVersionSaysWhichVersionsAreRead) {
  auto j = minimal_json();
  j["schema_version"] = 2;
  EXPECT_EQ(decode_error(j).message,
            "invalid completion message: field 'schema_version': version 2 is newer than this library, which reads "
            "versions 1..1");
  j["schema_version"] = 0;
  EXPECT_EQ(decode_error(j).context.at("fields"), "schema_version");
}

TEST(MessageCodec, CollectsEveryBadFieldInOneError) {
  auto j = minimal_json();
  j["game_date"] = "2025-02-30";
  j["status"] = "done";
  j["record_count"] = -5;
  const Error e = decode_error(j);
  EXPECT_EQ(e.code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(e.message,
            "invalid completion message: field 'game_date': game_date '2025-02-30' is not a calendar date (no such "
            "day); field 'status': unknown status 'done' (expected success, partial, no_data or failed); field "
            "'record_count': -5 is negative; counts are >= 0");
  EXPECT_EQ(e.context.at("fields"), "game_date,status,record_count");
}

TEST(MessageCodec, ReportsEachMissingRequiredField) {
  const Error e = decode_error(nlohmann::json::object());
  EXPECT_EQ(e.message,
            "invalid completion message: field 'processor_name': is required but missing; field 'phase': is "
            "required but missing; field 'execution_id': is required but missing; field 'game_date': is required "
            "but missing; field 'status': is required but missing");
  EXPECT_EQ(e.context.at("fields"), "processor_name,phase,execution_id,game_date,status");
}

TEST(MessageCodec, ReportsWrongTypesPerField) {
  auto j = minimal_json();
  j["processor_name"] = 7;
  j["game_date"] = 20251118;
  j["is_incremental"] = "yes";
  j["metadata"] = {1, 2};
  j["record_count"] = "450";
  const Error e = decode_error(j);
  EXPECT_EQ(e.message,
            "invalid completion message: field 'processor_name': must be a string, got number 7; field 'game_date': "
            "must be a YYYY-MM-DD string, got number 20251118; field 'record_count': must be a whole number, got "
            "string \"450\"; field 'is_incremental': must be true or false, got string \"yes\"; field 'metadata': "
            "must be a JSON object, got array");
  EXPECT_EQ(e.context.at("fields"), "processor_name,game_date,record_count,is_incremental,metadata");
}

TEST(MessageCodec, EmptyRequiredStringIsAnError) {
  auto j = minimal_json();
  j["phase"] = "";
  EXPECT_EQ(decode_error(j).message, "invalid completion message: field 'phase': must be a non-empty string");
}

TEST(MessageCodec, RecordCountAcceptsIntegralFloatsOnly) {
  auto j = minimal_json();
  j["record_count"] = 450.0;
  auto m = decode_message(j.dump());
  ASSERT_TRUE(m);
  EXPECT_EQ(m->record_count, 450);
  j["record_count"] = 450.5;
  EXPECT_EQ(decode_error(j).message,
            "invalid completion message: field 'record_count': must be a whole number, got number 450.5");
  auto huge = decode_message(R"({"processor_name":"p","phase":"x","execution_id":"e","game_date":"2025-11-18",)"
                             R"("status":"success","record_count":18446744073709551615})");
  ASSERT_FALSE(huge);
  EXPECT_EQ(huge.error().context.at("fields"), "record_count");
}

TEST(MessageCodec, FailedStatusRequiresAnError) {
  auto j = minimal_json();
  j["status"] = "failed";
  EXPECT_EQ(decode_error(j).message,
            "invalid completion message: field 'error': a failed message must say why: error must be a non-empty "
            "string");
  j["error"] = "BigQuery quota exceeded";
  auto m = decode_message(j.dump());
  ASSERT_TRUE(m);
  EXPECT_EQ(m->status, CompletionStatus::kFailed);
  EXPECT_EQ(m->error, "BigQuery quota exceeded");
}

TEST(MessageCodec, TraceparentMustBeW3C) {
  auto j = minimal_json();
  j["traceparent"] = "00-xyz-01";
  const Error e = decode_error(j);
  EXPECT_EQ(e.context.at("fields"), "traceparent");
  EXPECT_NE(e.message.find("field 'traceparent': traceparent '00-xyz-01' is invalid"), std::string::npos) << e.message;
}

TEST(MessageCodec, TraceLinksNeedAnExecutionId) {
  auto j = minimal_json();
  j["trace_links"] = {{{"correlation_id", "c"}}};
  EXPECT_EQ(decode_error(j).message,
            "invalid completion message: field 'trace_links': link 0 needs a non-empty string execution_id");
  j["trace_links"] = {{{"execution_id", "a"}, {"span", "ignored"}}};
  auto m = decode_message(j.dump());
  ASSERT_TRUE(m);
  EXPECT_EQ(m->trace_links, (std::vector<TraceLink>{{"a", ""}}));
}

TEST(MessageCodec, EntitiesMustBeArraysOfStrings) {
  auto j = minimal_json();
  j["entities_changed"] = {{"players", "lebron"}};
  EXPECT_EQ(decode_error(j).message,
            "invalid completion message: field 'entities_changed': kind 'players' must be an array of ids, got "
            "string \"lebron\"");
  j["entities_changed"] = {{"players", {1}}};
  EXPECT_EQ(decode_error(j).context.at("fields"), "entities_changed");
  j["entities_changed"] = {{"players", {""}}};
  EXPECT_EQ(decode_error(j).message,
            "invalid completion message: field 'entities_changed': kind 'players' has an empty id");
}

TEST(MessageCodec, UnknownTopLevelFieldsAreKeptAndReEncoded) {
  auto j = minimal_json();
  j["priority"] = "high";
  j["retry"] = {{"attempt", 2}};
  auto m = decode_message(j.dump());
  ASSERT_TRUE(m) << m.error().to_string();
  EXPECT_EQ(m->extensions["priority"], "high");
  EXPECT_EQ(m->extensions["retry"]["attempt"], 2);
  const auto again = nlohmann::json::parse(encode_message(*m));
  EXPECT_EQ(again["priority"], "high");
  EXPECT_EQ(again["retry"]["attempt"], 2);
  EXPECT_EQ(*decode_message(again.dump()), *m);
}

TEST(MessageCodec, RejectsNonObjectsOversizeDeepNestingAndBadJson) {
  auto arr = decode_message("[1,2]");
  ASSERT_FALSE(arr);
  EXPECT_EQ(arr.error().message, "completion message must be a JSON object, got array");

  DecodeLimits small;
  small.max_bytes = 10;
  auto big = decode_message(minimal_json().dump(), small);
  ASSERT_FALSE(big);
  EXPECT_NE(big.error().message.find("over the limit of 10 bytes"), std::string::npos);

  std::string deep = R"({"processor_name":"p","x":)" + std::string(100000, '[') + std::string(100000, ']') + "}";
  auto d = decode_message(deep);
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().message, "completion message nests objects/arrays deeper than the limit of 64");
  EXPECT_EQ(d.error().context.at("limit"), "max_depth");
  // Brackets inside strings do not count.
  auto j = minimal_json();
  j["note"] = std::string(200, '[');
  EXPECT_TRUE(decode_message(j.dump()));

  auto junk = decode_message(R"({"processor_name": )");
  ASSERT_FALSE(junk);
  EXPECT_EQ(junk.error().message.rfind("completion message is not valid JSON: ", 0), 0u) << junk.error().message;
  EXPECT_FALSE(decode_message(""));
  EXPECT_FALSE(decode_message("{\"a\":\"\xff\"}"));
}

TEST(MessageCodec, ValidateNamesEveryBrokenRule) {
  EXPECT_TRUE(validate_message(typical_message()));
  Message m = typical_message();
  m.processor_name.clear();
  m.record_count = -1;
  m.status = CompletionStatus::kFailed;
  m.traceparent = "nope";
  m.schema_version = 9;
  m.metadata = nlohmann::json::array();
  m.extensions = nlohmann::json{{"phase", "x"}};
  m.entities_changed = EntityChanges{{"players", {"b", "a"}}};
  m.output_table = "\xc3";
  auto st = validate_message(m);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(st.error().context.at("fields"),
            "schema_version,processor_name,output_table,traceparent,record_count,error,entities_changed,metadata,"
            "extensions");
  EXPECT_NE(st.error().message.find("field 'extensions': key 'phase' collides with the known field of that name"),
            std::string::npos);
  EXPECT_NE(st.error().message.find("field 'entities_changed': ids of kind 'players' must be sorted and unique"),
            std::string::npos);
  EXPECT_NE(st.error().message.find("field 'output_table': contains ill-formed UTF-8"), std::string::npos);

  Message nan = typical_message();
  nan.duration_seconds = std::nan("");
  nan.metadata["x"] = std::numeric_limits<double>::infinity();
  EXPECT_EQ(validate_message(nan).error().context.at("fields"), "duration_seconds,metadata");
}

// --- the round-trip property over generated valid messages --------------------------

std::string random_text(std::mt19937_64& rng, bool allow_empty) {
  static const std::string kPieces[] = {"a", "Z", "0", " ", "\"", "\\", "\n", "\t", std::string(1, '\0'),
                                        "\x1f", "\x7f", "é", "ß", "✓", "漢", "𝄞", "/", "{", "]", "\\u0000"};
  const std::size_t n = std::uniform_int_distribution<std::size_t>(allow_empty ? 0 : 1, 12)(rng);
  std::string s;
  for (std::size_t i = 0; i < n; ++i) s += kPieces[rng() % std::size(kPieces)];
  return s;
}

// Ids follow the entity-id rule (printable ASCII without '/'), escapes included.
std::string random_entity_id(std::mt19937_64& rng) {
  static const std::string kPieces[] = {"a", "Z", "0", "\"", "\\", "-", "_", "{", "]", "~", "!"};
  const std::size_t n = std::uniform_int_distribution<std::size_t>(1, 12)(rng);
  std::string s;
  for (std::size_t i = 0; i < n; ++i) s += kPieces[rng() % std::size(kPieces)];
  return s;
}

nlohmann::json random_json(std::mt19937_64& rng, int depth) {
  switch (rng() % (depth > 2 ? 5 : 7)) {
    case 0: return nullptr;
    case 1: return static_cast<bool>(rng() & 1);
    case 2: return static_cast<std::int64_t>(rng()) >> (rng() % 60);
    case 3: return std::ldexp(static_cast<double>(rng() % 1000000) - 500000.0, static_cast<int>(rng() % 80) - 40);
    case 4: return random_text(rng, true);
    case 5: {
      nlohmann::json a = nlohmann::json::array();
      for (std::size_t i = rng() % 4; i > 0; --i) a.push_back(random_json(rng, depth + 1));
      return a;
    }
    default: {
      nlohmann::json o = nlohmann::json::object();
      for (std::size_t i = rng() % 4; i > 0; --i) o[random_text(rng, true)] = random_json(rng, depth + 1);
      return o;
    }
  }
}

Message random_message(std::mt19937_64& rng) {
  Message m;
  m.processor_name = random_text(rng, false);
  m.phase = random_text(rng, false);
  m.execution_id = random_text(rng, false);
  m.correlation_id = random_text(rng, true);
  for (std::size_t i = rng() % 3; i > 0; --i) m.trace_links.push_back({random_text(rng, false), random_text(rng, true)});
  if (rng() & 1) m.traceparent = TraceContext::create().to_string();
  m.partition_date = CalendarDate(std::chrono::sys_days(std::chrono::days(static_cast<int>(rng() % 40000))));
  m.output_table = random_text(rng, true);
  m.output_dataset = random_text(rng, true);
  m.status = static_cast<CompletionStatus>(rng() % 4);
  m.record_count = static_cast<std::int64_t>(rng() >> (1 + rng() % 63));
  m.duration_seconds = rng() % 5 == 0 ? 0.0 : std::ldexp(static_cast<double>(rng() >> 11), -static_cast<int>(rng() % 70));
  switch (rng() % 3) {
    case 0: break;  // full run
    case 1: m.entities_changed = EntityChanges{}; break;
    default: {
      EntityChanges changes;
      for (std::size_t k = 1 + rng() % 3; k > 0; --k) {
        auto& ids = changes[random_text(rng, true)];
        for (std::size_t i = 1 + rng() % 5; i > 0; --i) ids.push_back(random_entity_id(rng));
      }
      normalize(changes);
      m.entities_changed = std::move(changes);
    }
  }
  m.is_incremental = rng() & 1;
  if (m.status == CompletionStatus::kFailed || rng() % 4 == 0) m.error = random_text(rng, false);
  for (std::size_t i = rng() % 4; i > 0; --i) m.metadata[random_text(rng, true)] = random_json(rng, 1);
  for (std::size_t i = rng() % 3; i > 0; --i) {
    std::string key = "x_" + random_text(rng, true);
    m.extensions[key] = random_json(rng, 1);
  }
  return m;
}

TEST(MessageCodec, DecodeOfEncodeIsIdentityForGeneratedValidMessages) {
  std::mt19937_64 rng(20251118);
  for (int i = 0; i < 1000; ++i) {
    const Message m = random_message(rng);
    ASSERT_TRUE(validate_message(m)) << validate_message(m).error().to_string();
    const std::string text = encode_message(m);
    auto back = decode_message(text);
    ASSERT_TRUE(back) << back.error().to_string() << "\n" << text;
    ASSERT_EQ(*back, m) << text;
    ASSERT_EQ(encode_message(*back), text);
  }
}

}  // namespace pipeline::message_codec_test
