// A consumer of the installed (or added) package: compiles against the public headers
// and runs a few calls, as a team linking `pipeline` would.
#include <cstdio>

#include <pipeline/pipeline.hpp>
#include <pipeline/mocks/recording_transport.hpp>

#ifdef CONSUMER_HAS_SCHEDULE
#include <pipeline/schedule/daily_schedule.hpp>
// pipeline::schedule links date-tz privately: none of its definitions reach us.
#if defined(USE_OS_TZDB) || defined(HAS_REMOTE_API) || defined(ONLY_C_LOCALE)
#error "date-tz compile definitions leaked into a consumer of pipeline::schedule"
#endif
#endif

int main() {
  pipeline::ManualClock clock;
  bool fired = false;
  clock.schedule_after(std::chrono::minutes(30), [&] { fired = true; });
  clock.advance(std::chrono::minutes(30));
  auto date = pipeline::CalendarDate::parse("2025-11-18");
  if (!fired || !date) return 1;
  // pipeline::mocks: a recording transport delivering synchronously to a subscriber.
  pipeline::mocks::RecordingTransport transport;
  int delivered = 0;
  auto sub = transport.subscribe({"consumer-sub", "consumer-topic", {}}, [&](pipeline::DeliveryPtr d) {
    ++delivered;
    (void)d->ack();
  });
  if (!sub || !transport.publish("consumer-topic", {"consumer/1", "{}", {}}) || delivered != 1 ||
      transport.published_count() != 1)
    return 1;
  {
    pipeline::Message m;
    m.processor_name = "player_game_summary";
    m.phase = "phase3_analytics";
    m.execution_id = pipeline::new_execution_id();
    m.correlation_id = m.execution_id;
    m.partition_date = *date;
    m.entities_changed = pipeline::EntityChanges{{"players", {"lebron-james"}}};
    auto back = pipeline::decode_message(pipeline::encode_message(m));
    if (!back || !(*back == m) || pipeline::decode_message("{}")) return 1;
  }
#ifdef CONSUMER_HAS_SCHEDULE
  {
    // 06:00 Pacific on the spring-forward day is already PDT: 13:00Z.
    auto schedule = pipeline::DailySchedule::create("America/Los_Angeles", {{"backup", std::chrono::hours(6)}});
    auto day = pipeline::CalendarDate::parse("2025-03-09");
    if (!schedule || !day) return 1;
    auto instants = schedule->instants(*day, *day);
    if (!instants || instants->size() != 1 || pipeline::format_rfc3339(instants->front().at) != "2025-03-09T13:00:00Z")
      return 1;
    std::printf("schedule ok: %s\n", instants->front().wall.to_string().c_str());
  }
#endif
  std::printf("pipeline %s consumer ok: %s\n", pipeline::kVersion, date->to_string().c_str());
  return 0;
}
