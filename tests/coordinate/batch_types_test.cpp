// The coordinator's value types, which need no store: batch state and trigger names, and
// the prediction work message's codec.
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "pipeline/coordinate/batch_state.hpp"
#include "pipeline/coordinate/prediction_work.hpp"

namespace pipeline {
namespace batch_types_test {

const CalendarDate kDate = *CalendarDate::parse("2025-11-18");

TEST(BatchState, NamesComeFromOneTableAndParseBack) {
  for (auto s : {BatchState::kNone, BatchState::kWaiting, BatchState::kRunning, BatchState::kComplete,
                 BatchState::kRefused})
    EXPECT_EQ(parse_batch_state(to_string(s)).value(), s);
  for (auto t : {BatchTrigger::kEvent, BatchTrigger::kScheduler, BatchTrigger::kManual})
    EXPECT_EQ(parse_batch_trigger(to_string(t)).value(), t);
  EXPECT_EQ(to_string(BatchState::kComplete), "complete");
  EXPECT_EQ(to_string(BatchOutcome::kAlreadyComplete), "already_complete");
  EXPECT_EQ(parse_batch_state("Waiting").error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(parse_batch_trigger("cron").error().message,
            "unknown trigger 'cron' (expected event, scheduler or manual)");
}

TEST(PredictionWorkCodec, EncodeIsTheSortedJsonObjectAndDecodesBack) {
  const std::vector<PredictionWork> works{
      {"phase5-2025-11-18-b1", kDate, "p001", 1, 1, "batch"},
      {"b\"q\\s", kDate, "tab\there\nline\x01", 0, 7, "incremental"},
      {"", kDate, "caf\xC3\xA9-\xE2\x82\xAC", 12, 9'000'000'000, "retry"},
      {"phase5-2025-11-18-b1", kDate, "p002", 2, 1, "retry", "sched-2025-11-18/\"w0\""}};
  for (const auto& w : works) {
    nlohmann::json expected{{"batch_id", w.batch_id}, {"game_date", w.game_date.to_string()},
                            {"entity", w.entity},     {"attempt", w.attempt},
                            {"version", w.version},   {"kind", w.kind}};
    if (!w.correlation_id.empty()) expected["correlation_id"] = w.correlation_id;
    EXPECT_EQ(w.encode(), expected.dump()) << w.entity;
    auto back = PredictionWork::decode(w.encode());
    ASSERT_TRUE(back) << back.error().to_string();
    EXPECT_EQ(back->batch_id, w.batch_id);
    EXPECT_EQ(back->game_date, w.game_date);
    EXPECT_EQ(back->entity, w.entity);
    EXPECT_EQ(back->attempt, w.attempt);
    EXPECT_EQ(back->version, w.version);
    EXPECT_EQ(back->kind, w.kind);
    EXPECT_EQ(back->correlation_id, w.correlation_id);
  }
}

TEST(PredictionWorkCodec, DecodeRefusesWhatIsNotWorkAndSkipsWhatItDoesNotKnow) {
  const std::string good = R"("batch_id":"b","game_date":"2025-11-18","entity":"p1","attempt":1,"version":2,"kind":"batch")";
  EXPECT_TRUE(PredictionWork::decode("{" + good + "}"));
  // Unknown keys, nested or not, are skipped; a repeated key keeps its last value.
  auto extra = PredictionWork::decode(R"({"x":{"entity":"no","y":[1,{"z":2}]},)" + good + R"(,"entity":"p2","w":null})");
  ASSERT_TRUE(extra) << extra.error().to_string();
  EXPECT_EQ(extra->entity, "p2");
  EXPECT_EQ(extra->version, 2);
  for (const std::string& bad :
       {std::string(""), std::string("[]"), std::string("\"x\""), std::string("{") + good, "{" + good + "}}",
        "{" + good + ",\"entity\":5}", "{" + good + ",\"version\":2.5}", "{" + good + ",\"attempt\":\"1\"}",
        "{" + good + ",\"version\":18446744073709551615}", "{" + good + ",\"kind\":{\"a\":1}}",
        "{" + good + ",\"game_date\":\"2025-13-01\"}", "{" + good + ",\"entity\":\"\"}",
        std::string(R"({"batch_id":"b","game_date":"2025-11-18","entity":"p1","attempt":1,"kind":"batch"})"),
        std::string("{\"batch_id\":\"\xFF\"}")}) {
    auto w = PredictionWork::decode(bad);
    ASSERT_FALSE(w) << bad;
    EXPECT_EQ(w.error().code, ErrorCode::kInvalidArgument) << bad;
  }
}

}  // namespace batch_types_test
}  // namespace pipeline
