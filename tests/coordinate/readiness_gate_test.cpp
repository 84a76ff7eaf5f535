#include <chrono>
#include <optional>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "pipeline/coordinate/readiness_gate.hpp"
#include "pipeline/core/manual_clock.hpp"

namespace pipeline {
namespace readiness_gate_test {

using std::chrono::minutes;
using std::chrono::seconds;

/// Answers from a script: the i-th poll gets counts[i] (the last one repeats).
class ScriptedSource final : public ReadinessSource {
 public:
  explicit ScriptedSource(std::vector<Result<ReadinessCounts>> script) : script_(std::move(script)) {}
  Result<ReadinessCounts> counts(CalendarDate) override {
    const auto i = std::min(calls_++, script_.size() - 1);
    return script_[i];
  }
  std::size_t calls() const { return calls_; }

 private:
  std::vector<Result<ReadinessCounts>> script_;
  std::size_t calls_ = 0;
};

const CalendarDate kDate = *CalendarDate::parse("2025-11-18");

TEST(ReadinessGate, ThresholdBoundaryIsInclusiveAt80Percent) {
  ManualClock clock;
  ScriptedSource src({ReadinessCounts{360, 450}});
  auto gate = ReadinessGate::create(clock, src).value();
  EXPECT_EQ(gate->evaluate(kDate, {360, 450}).outcome, Readiness::Outcome::kReady);
  EXPECT_EQ(gate->evaluate(kDate, {359, 450}).outcome, Readiness::Outcome::kNotReady);
  EXPECT_EQ(gate->evaluate(kDate, {420, 450}).outcome, Readiness::Outcome::kReady);
  EXPECT_EQ(gate->evaluate(kDate, {0, 0}).outcome, Readiness::Outcome::kNotReady);
  auto r = gate->check(kDate);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->proceed);
  EXPECT_EQ(r->message, "2025-11-18: 360 of 450 ready (80.0%, threshold 80%)");
}

TEST(ReadinessGate, ReadyAtOnceAnswersBeforeWaitReturnsWithoutTimers) {
  ManualClock clock;
  ScriptedSource src({ReadinessCounts{420, 450}});
  auto gate = ReadinessGate::create(clock, src).value();
  std::optional<Readiness> got;
  gate->wait_until_ready(kDate, [&](const Readiness& r) { got = r; });
  ASSERT_TRUE(got);
  EXPECT_EQ(got->outcome, Readiness::Outcome::kReady);
  EXPECT_EQ(got->polls, 1);
  EXPECT_EQ(clock.pending_timers(), 0u);
}

TEST(ReadinessGate, WaitSucceedsOnTheFourthPollWithDoublingIntervals) {
  ManualClock clock;
  const auto start = clock.now();
  ScriptedSource src({ReadinessCounts{60, 450}, ReadinessCounts{200, 450}, ReadinessCounts{300, 450},
                      ReadinessCounts{400, 450}});
  auto gate = ReadinessGate::create(clock, src).value();
  std::optional<Readiness> got;
  gate->wait_until_ready(kDate, [&](const Readiness& r) { got = r; });
  EXPECT_FALSE(got);
  clock.advance(minutes(3));  // polls at 0, 30 s, 90 s
  EXPECT_FALSE(got);
  EXPECT_EQ(src.calls(), 3u);
  clock.advance(minutes(1));  // the 4th poll at 210 s
  ASSERT_TRUE(got);
  EXPECT_EQ(got->outcome, Readiness::Outcome::kReady);
  EXPECT_EQ(got->polls, 4);
  EXPECT_EQ(got->waited, seconds(210));
  EXPECT_EQ(clock.now(), start + minutes(4));
}

TEST(ReadinessGate, WaitTimesOutAtExactlyThirtyMinutesAndProceedsWithEnough) {
  ManualClock clock;
  const auto start = clock.now();
  ScriptedSource src({ReadinessCounts{300, 450}});
  auto gate = ReadinessGate::create(clock, src).value();
  std::optional<Readiness> got;
  TimePoint answered_at{};
  gate->wait_until_ready(kDate, [&](const Readiness& r) {
    got = r;
    answered_at = clock.now();
  });
  clock.advance(minutes(29) + seconds(59));
  EXPECT_FALSE(got);
  clock.advance(minutes(10));
  ASSERT_TRUE(got);
  EXPECT_EQ(got->outcome, Readiness::Outcome::kTimedOut);
  EXPECT_EQ(answered_at, start + minutes(30));
  EXPECT_EQ(got->waited, minutes(30));
  EXPECT_TRUE(got->proceed);  // 300 >= 50: process what is there
}

TEST(ReadinessGate, TimedOutWithFewerThanMinimumRefuses) {
  ManualClock clock;
  ScriptedSource src({ReadinessCounts{49, 450}});
  auto gate = ReadinessGate::create(clock, src).value();
  std::optional<Readiness> got;
  gate->wait_until_ready(kDate, [&](const Readiness& r) { got = r; });
  clock.advance(minutes(30));
  ASSERT_TRUE(got);
  EXPECT_EQ(got->outcome, Readiness::Outcome::kTimedOut);
  EXPECT_FALSE(got->proceed);
  EXPECT_NE(got->message.find("refusing: fewer than 50 ready"), std::string::npos);
}

TEST(ReadinessGate, FailingPollsKeepWaitingAndTheAnswerNamesTheError) {
  ManualClock clock;
  ScriptedSource src({Result<ReadinessCounts>(fail(ErrorCode::kUnavailable, "feature store down"))});
  auto gate = ReadinessGate::create(clock, src).value();
  std::optional<Readiness> got;
  gate->wait_until_ready(kDate, [&](const Readiness& r) { got = r; });
  clock.advance(minutes(30));
  ASSERT_TRUE(got);
  EXPECT_EQ(got->outcome, Readiness::Outcome::kTimedOut);
  EXPECT_FALSE(got->proceed);
  EXPECT_NE(got->message.find("feature store down"), std::string::npos);
  EXPECT_GT(src.calls(), 5u);
}

TEST(ReadinessGate, CountsFromAPhase4CompletionMessage) {
  Message m;
  m.metadata = nlohmann::json{{"entities_ready", 420}, {"entities_total", 450}};
  EXPECT_EQ(ReadinessGate::counts_from_message(m), (ReadinessCounts{420, 450}));
  m.metadata = nlohmann::json{{"entities_ready", 460}, {"entities_total", 450}};
  EXPECT_FALSE(ReadinessGate::counts_from_message(m));
  m.metadata = nlohmann::json::object();
  EXPECT_FALSE(ReadinessGate::counts_from_message(m));
}

TEST(ReadinessGate, DestroyingTheGateCancelsAPendingWait) {
  ManualClock clock;
  ScriptedSource src({ReadinessCounts{10, 450}});
  bool called = false;
  {
    auto gate = ReadinessGate::create(clock, src).value();
    gate->wait_until_ready(kDate, [&](const Readiness&) { called = true; });
  }
  clock.advance(minutes(60));
  EXPECT_FALSE(called);
}

TEST(ReadinessGate, CreateRefusesAThresholdOutsideZeroToOneAndAPollIntervalThatIsNotPositive) {
  ManualClock clock;
  ScriptedSource src({ReadinessCounts{360, 450}});
  auto zero = ReadinessGate::create(clock, src, {.threshold = 0.0});
  ASSERT_FALSE(zero);
  EXPECT_EQ(zero.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(zero.error().message, "ReadinessGateOptions::threshold 0 is not in (0, 1]");
  EXPECT_FALSE(ReadinessGate::create(clock, src, {.threshold = 1.5}));
  EXPECT_FALSE(ReadinessGate::create(clock, src, {.first_poll = seconds(0)}));
  EXPECT_FALSE(ReadinessGate::create(clock, src, {.max_wait = seconds(-1)}));
  EXPECT_TRUE(ReadinessGate::create(clock, src, {.max_wait = seconds(0)})) << "zero: decide on the first poll";
}

}  // namespace readiness_gate_test
}  // namespace pipeline
