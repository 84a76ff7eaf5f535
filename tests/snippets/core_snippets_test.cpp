// The examples of include/pipeline/core/ (`@snippet core_snippets_test.cpp <tag>`): each one
// between its `//! [tag]` markers, as a user would write it, then checked.

#include <chrono>
#include <cstdio>
#include <future>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "pipeline/core/alert_sink.hpp"
#include "pipeline/core/best_effort_settle.hpp"
#include "pipeline/core/calendar_date.hpp"
#include "pipeline/core/clock.hpp"
#include "pipeline/core/decode_limits.hpp"
#include "pipeline/core/entity_id.hpp"
#include "pipeline/core/enum_names.hpp"
#include "pipeline/core/error.hpp"
#include "pipeline/core/ids.hpp"
#include "pipeline/core/json_object.hpp"
#include "pipeline/core/json_writer.hpp"
#include "pipeline/core/legacy_messages.hpp"
#include "pipeline/core/manual_clock.hpp"
#include "pipeline/core/message.hpp"
#include "pipeline/core/message_codec.hpp"
#include "pipeline/core/result.hpp"
#include "pipeline/core/state_store.hpp"
#include "pipeline/core/system_clock.hpp"
#include "pipeline/core/topics.hpp"
#include "pipeline/core/trace_context.hpp"
#include "pipeline/core/transport.hpp"
#include "pipeline/memory/memory_state_store.hpp"
#include "pipeline/memory/memory_transport.hpp"
#include "pipeline/memory/metrics_registry.hpp"
#include "snippets/snippet_support.hpp"

// An EnumNames specialization lives at namespace scope, outside any other namespace.
//! [enum_names]
enum class Color { kRed, kGreen };
template <>
struct pipeline::EnumNames<Color> {
  static constexpr pipeline::EnumName<Color> kTable[] = {{Color::kRed, "red"}, {Color::kGreen, "green"}};
};
static_assert(pipeline::enum_name(Color::kGreen) == "green");
static_assert(*pipeline::enum_from_name<Color>("red") == Color::kRed);
//! [enum_names]

namespace pipeline::core_snippets_test {
namespace {

pipeline::Message completion_message() { return snippets::completion("orders_loader"); }

//! [alert_sink]
class StderrSink final : public pipeline::AlertSink {
 public:
  pipeline::Status send(const pipeline::Alert& a) override {
    std::fprintf(stderr, "[%s] %s\n", pipeline::to_string(a.severity).data(), a.message.c_str());
    return pipeline::ok();
  }
};
//! [alert_sink]

TEST(CoreSnippets, AlertSink) {
  StderrSink sink;
  pipeline::Alert alert;
  alert.severity = pipeline::Severity::kWarning;
  alert.message = "phase3 is missing 25 of 400 customers";
  EXPECT_TRUE(sink.send(alert));
}

TEST(CoreSnippets, CalendarDate) {
  //! [calendar_date]
  auto d = pipeline::CalendarDate::parse("2025-11-18");
  std::string next = d->plus_days(1).to_string();                // "2025-11-19"
  auto bad = pipeline::CalendarDate::from_ymd(2024, 2, 30);      // error: no such day
  //! [calendar_date]
  EXPECT_EQ(next, "2025-11-19");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, pipeline::ErrorCode::kInvalidArgument);
}

//! [clock]
void arm(pipeline::Clock& clock, bool& deadline_reached) {
  clock.schedule_after(std::chrono::minutes(30), [&deadline_reached] { deadline_reached = true; });
}
//! [clock]

TEST(CoreSnippets, Clock) {
  pipeline::ManualClock clock;
  bool reached = false;
  arm(clock, reached);
  clock.advance(std::chrono::minutes(29));
  EXPECT_FALSE(reached);
  clock.advance(std::chrono::minutes(1));
  EXPECT_TRUE(reached);
}

TEST(CoreSnippets, DecodeLimits) {
  const std::string body = pipeline::encode_message(completion_message());
  //! [decode_limits]
  pipeline::DecodeLimits limits;
  limits.max_bytes = 64 * 1024;
  auto m = pipeline::decode_message(body, limits);
  //! [decode_limits]
  ASSERT_TRUE(m) << m.error().to_string();
  limits.max_bytes = 16;
  EXPECT_FALSE(pipeline::decode_message(body, limits));
}

//! [entity_id]
pipeline::Status check_ids(const std::vector<std::string>& ids) {
  for (const auto& id : ids)
    if (!pipeline::is_valid_entity_id(id)) return pipeline::validate_entity_id(id);
  return pipeline::ok();
}
//! [entity_id]

TEST(CoreSnippets, EntityId) {
  EXPECT_TRUE(check_ids({"customer-1042", "lebron-james"}));
  auto st = check_ids({"customer-1042", ""});
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, pipeline::ErrorCode::kInvalidArgument);
}

TEST(CoreSnippets, EnumNames) {
  EXPECT_EQ(pipeline::enum_name(Color::kRed), "red");
  EXPECT_FALSE(pipeline::enum_from_name<Color>("blue"));
}

TEST(CoreSnippets, Error) {
  //! [error]
  pipeline::Error e{pipeline::ErrorCode::kInvalidArgument,
                    "game_date '2025-02-30' is not a calendar date", {{"field", "game_date"}}};
  std::string text = e.to_string();   // invalid_argument: game_date '2025-02-30' ...
  //! [error]
  EXPECT_NE(text.find("invalid_argument"), std::string::npos) << text;
  EXPECT_NE(text.find("game_date '2025-02-30' is not a calendar date"), std::string::npos) << text;
}

TEST(CoreSnippets, JsonObject) {
  //! [json_object]
  pipeline::Message m;
  m.metadata["source"] = "nightly_load";                // creates the object
  bool has_source = m.metadata->contains("source");     // reads through ->
  m.metadata = nlohmann::json{{"rows", 42}};            // assigns a whole value
  //! [json_object]
  EXPECT_TRUE(has_source);
  EXPECT_EQ(m.metadata->at("rows"), 42);
  EXPECT_FALSE(m.metadata->contains("source"));
}

TEST(CoreSnippets, JsonWriter) {
  const std::vector<std::string> ids{"a", "b", "c"};
  //! [json_writer]
  std::string out;
  pipeline::internal::JsonWriter w(out);
  w.begin_object().key("ids").string_array(ids).key("count").integer(3).end_object();
  //! [json_writer]
  EXPECT_EQ(nlohmann::json::parse(out), (nlohmann::json{{"ids", {"a", "b", "c"}}, {"count", 3}}));
}

constexpr const char* kScraperBody =
    R"({"name":"nbac_injury_report","scraper_name":"nbac_injury_report","execution_id":"a1b2c3d4",)"
    R"("status":"success",)"
    R"("record_count":450,"timestamp":"2025-11-15T00:00:00Z"})";
constexpr const char* kRawLoadedBody =
    R"({"event_type":"raw_data_loaded","source_table":"nbac_gamebook_player_stats",)"
    R"("processor_name":"NbacGamebookProcessor","execution_id":"xyz789","game_date":"2025-11-15",)"
    R"("record_count":450,"status":"success"})";

TEST(CoreSnippets, LegacyScraperMessage) {
  const std::string body = kScraperBody;
  //! [adapt_scraper_message]
  auto m = pipeline::adapt_scraper_message(body, *pipeline::CalendarDate::parse("2025-11-15"));
  //! [adapt_scraper_message]
  ASSERT_TRUE(m) << m.error().to_string();
  EXPECT_EQ(m->execution_id, "a1b2c3d4");
  EXPECT_EQ(m->partition_date.to_string(), "2025-11-15");
}

TEST(CoreSnippets, LegacyRawLoadedMessage) {
  const std::string body = kRawLoadedBody;
  //! [adapt_raw_loaded_message]
  auto m = pipeline::adapt_raw_loaded_message(body);
  //! [adapt_raw_loaded_message]
  ASSERT_TRUE(m) << m.error().to_string();
  EXPECT_EQ(m->execution_id, "xyz789");
  EXPECT_EQ(m->record_count, 450);
}

TEST(CoreSnippets, DecodeAnyMessage) {
  const std::string body = kRawLoadedBody;
  const std::string scraper_body = kScraperBody;
  const auto today_eastern = *pipeline::CalendarDate::parse("2025-11-15");
  //! [decode_any_message]
  auto m = pipeline::decode_any_message(body);   // unified or raw_data_loaded
  auto s = pipeline::decode_any_message(scraper_body, today_eastern);
  //! [decode_any_message]
  ASSERT_TRUE(m) << m.error().to_string();
  ASSERT_TRUE(s) << s.error().to_string();
  EXPECT_EQ(m->execution_id, "xyz789");
  EXPECT_EQ(s->execution_id, "a1b2c3d4");
}

TEST(CoreSnippets, ManualClock) {
  //! [manual_clock]
  pipeline::ManualClock clock;          // starts at 2025-01-01T00:00:00Z
  bool fired = false;
  clock.schedule_after(std::chrono::minutes(30), [&] { fired = true; });
  clock.advance(std::chrono::minutes(30));   // fired == true, no sleeping
  //! [manual_clock]
  EXPECT_TRUE(fired);
}

TEST(CoreSnippets, Message) {
  pipeline::Message upstream = completion_message();
  upstream.correlation_id = "scrape-77";
  //! [message]
  pipeline::Message m;
  m.processor_name = "daily_order_summary";
  m.phase = "phase3_analytics";
  m.execution_id = pipeline::new_execution_id();
  m.correlation_id = upstream.correlation_id;
  m.partition_date = *pipeline::CalendarDate::parse("2025-11-18");
  m.entities_changed = pipeline::EntityChanges{{"customers", {"customer-1042"}}};
  //! [message]
  EXPECT_TRUE(pipeline::validate_message(m));
  EXPECT_FALSE(m.execution_id.empty());
}

TEST(CoreSnippets, ValidateMessage) {
  pipeline::Message m = completion_message();
  m.processor_name.clear();
  std::string logged;
  //! [validate_message]
  if (auto st = pipeline::validate_message(m); !st) logged = st.error().to_string();
  //! [validate_message]
  EXPECT_NE(logged.find("processor_name"), std::string::npos) << logged;
}

TEST(CoreSnippets, EncodeMessage) {
  pipeline::ManualClock clock;
  auto transport = pipeline::MemoryTransport::create(clock).value();
  std::vector<std::string> received;
  auto sub = transport->subscribe({"phase4-sub", "acme-phase3-analytics-complete", {}}, [&](pipeline::DeliveryPtr d) {
    received.push_back(d->payload());
    pipeline::best_effort_ack(*d);
  });
  ASSERT_TRUE(sub);
  const pipeline::Message m = completion_message();
  const std::string topic = "acme-phase3-analytics-complete";
  //! [encode_message]
  std::string body = pipeline::encode_message(m);
  auto published = transport->publish(topic, {m.execution_id, body, {}});
  //! [encode_message]
  ASSERT_TRUE(published);
  transport->pump();
  ASSERT_EQ(received.size(), 1u);
  EXPECT_EQ(*pipeline::decode_message(received[0]), m);
}

//! [decode_message]
pipeline::Status on_delivery(pipeline::Delivery& delivery, std::vector<pipeline::Message>& recorded) {
  auto m = pipeline::decode_message(delivery.payload());
  if (!m) return delivery.nack(m.error().message);   // ends in the DLQ after max attempts
  recorded.push_back(*m);
  return delivery.ack();
}
//! [decode_message]

TEST(CoreSnippets, DecodeMessage) {
  pipeline::ManualClock clock;
  auto transport = pipeline::MemoryTransport::create(clock).value();
  std::vector<pipeline::Message> recorded;
  auto sub = transport->subscribe({"phase4-sub", "t", {}},
                                  [&](pipeline::DeliveryPtr d) { EXPECT_TRUE(on_delivery(*d, recorded)); });
  ASSERT_TRUE(sub);
  ASSERT_TRUE(transport->publish("t", {"m1", pipeline::encode_message(completion_message()), {}}));
  transport->pump();
  ASSERT_EQ(recorded.size(), 1u);
  EXPECT_EQ(recorded[0], completion_message());
}

TEST(CoreSnippets, MetricsSink) {
  pipeline::MetricsRegistry registry = pipeline::MetricsRegistry::create().value();
  pipeline::MetricsSink& metrics = registry;
  const std::string t = "acme-phase3-analytics-complete";
  //! [metrics_sink]
  auto published = metrics.counter("pipeline_published_total", "Messages published", {{"topic", t}});
  published->add();
  metrics.event("trigger_decided", {{"phase", "phase3"}, {"date", "2025-11-18"}});
  //! [metrics_sink]
  EXPECT_EQ(registry.counter_value("pipeline_published_total", {{"topic", t}}), 1u);
  EXPECT_EQ(registry.event_count("trigger_decided"), 1u);
}

//! [result_parse_count]
pipeline::Result<int> parse_count(std::string_view s) {
  int n = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return pipeline::fail(pipeline::ErrorCode::kInvalidArgument, "count is not a number");
    n = n * 10 + (c - '0');
  }
  return n;
}
//! [result_parse_count]

TEST(CoreSnippets, Result) {
  //! [result]
  auto r = parse_count("12").map([](int n) { return n * 2; });
  if (!r) std::fprintf(stderr, "%s\n", r.error().to_string().c_str());
  //! [result]
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, 24);
  EXPECT_FALSE(parse_count("twelve"));
}

TEST(CoreSnippets, StateStore) {
  pipeline::MemoryStateStore memory = pipeline::MemoryStateStore::create().value();
  pipeline::StateStore& store = memory;
  const std::string body = pipeline::encode_message(completion_message());
  //! [state_store]
  auto st = store.transact([&](pipeline::Transaction& tx) -> pipeline::Status {
    auto inserted = tx.insert("tracker/phase3/2025-11-18/w0/decision", "decided");
    if (!inserted) return pipeline::fail(inserted.error());
    if (*inserted) return tx.enqueue({"acme-phase3-trigger", {"phase3/2025-11-18/w0", body, {}}}).map([](bool) {});
    return pipeline::ok();
  });
  //! [state_store]
  ASSERT_TRUE(st) << st.error().to_string();
  auto decision = store.get("tracker/phase3/2025-11-18/w0/decision");
  ASSERT_TRUE(decision);
  EXPECT_EQ(*decision, std::optional<std::string>("decided"));
  EXPECT_EQ(store.pending_outbox().value(), 1u);
}

TEST(CoreSnippets, SystemClock) {
  std::promise<void> later;
  //! [system_clock]
  pipeline::SystemClock clock;
  clock.schedule_after(std::chrono::milliseconds(5), [&later] { later.set_value(); });
  //! [system_clock]
  // A deadline far above the delay: the timer thread runs it, never a fixed sleep here.
  EXPECT_EQ(later.get_future().wait_for(std::chrono::seconds(30)), std::future_status::ready);
}

TEST(CoreSnippets, Topics) {
  //! [topics]
  pipeline::TopicNaming topics{"acme"};
  auto complete = topics.phase_complete(3, "analytics");                  // "acme-phase3-analytics-complete"
  auto dlq = pipeline::TopicNaming::dead_letter("acme-phase3-analytics-complete");  // "...-complete-dlq"
  //! [topics]
  EXPECT_EQ(complete, "acme-phase3-analytics-complete");
  EXPECT_EQ(dlq, "acme-phase3-analytics-complete-dlq");
}

TEST(CoreSnippets, TraceContext) {
  //! [trace_context]
  auto root = pipeline::TraceContext::create();
  auto hop = root.child();                         // same trace id, new parent id
  auto back = pipeline::TraceContext::parse(hop.to_string());
  //! [trace_context]
  EXPECT_EQ(hop.trace_id, root.trace_id);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->trace_id, root.trace_id);
}

TEST(CoreSnippets, Transport) {
  pipeline::ManualClock clock;
  auto memory = pipeline::MemoryTransport::create(clock).value();
  pipeline::Transport& transport = *memory;
  std::vector<std::string> handled;
  auto handle = [&](const std::string& payload) { handled.push_back(payload); };
  const std::string json = pipeline::encode_message(completion_message());
  //! [transport]
  auto sub = transport.subscribe({"phase3-sub", "acme-phase2-raw-complete", {}},
                                 [&](pipeline::DeliveryPtr d) { handle(d->payload()); pipeline::best_effort_ack(*d); });
  auto st = transport.publish("acme-phase2-raw-complete", {"phase2/2025-11-18/orders_feed", json, {}});
  //! [transport]
  ASSERT_TRUE(sub);
  ASSERT_TRUE(st);
  memory->pump();
  EXPECT_EQ(handled, std::vector<std::string>{json});
}

}  // namespace
}  // namespace pipeline::core_snippets_test
