// Writes a SQLite store the way a small pipeline that is not the NBA's would: three
// phases (ingest -> clean_a, clean_b -> report), two trackers sharing one registry, one
// complete date, one partial date and one dead letter. pipelinectl_cli.cmake then runs the
// real `pipelinectl` on it.
//
//   make_three_phase_store STORE.sqlite | postgresql://...   (fresh tables expected)
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "pipeline/core/manual_clock.hpp"
#include "pipeline/memory/memory_transport.hpp"
#include "pipeline/orchestrate/completion_tracker.hpp"
#include "pipeline/orchestrate/dead_letter_recorder.hpp"
#include "pipeline/sqlite/sqlite_state_store.hpp"
#ifdef PIPELINE_TEST_HAVE_POSTGRES
#include "pipeline/postgres/postgres_state_store.hpp"
#endif

namespace {

using namespace pipeline;

void check(const Status& st, const char* what) {
  if (!st) {
    std::fprintf(stderr, "make_three_phase_store: %s: %s\n", what, st.error().to_string().c_str());
    std::exit(1);
  }
}

TriggerRegistry registry() {
  TriggerRegistry r;
  check(r.add_processor("ingest", "raw"), "add ingest");
  check(r.add_processor("clean_a", "clean"), "add clean_a");
  check(r.add_processor("clean_b", "clean"), "add clean_b");
  check(r.add_processor("report", "reports"), "add report");
  check(r.add_trigger("ingest", {"clean_a", "clean_b"}), "ingest triggers");
  check(r.add_trigger("clean_a", {"report"}), "clean_a triggers");
  check(r.add_trigger("clean_b", {"report"}), "clean_b triggers");
  return r;
}

CompletionTrackerOptions tracker(std::string name, std::string up, std::string down, std::vector<std::string> expected) {
  CompletionTrackerOptions c;
  c.name = std::move(name);
  c.upstream_phase = std::move(up);
  c.downstream_phase = std::move(down);
  c.expected = std::move(expected);
  c.trigger_topic = "tp-" + c.downstream_phase + "-trigger";
  c.registry = registry();
  return c;
}

Message completion(const std::string& processor, const std::string& phase, const char* date,
                   CompletionStatus status = CompletionStatus::kSuccess) {
  Message m;
  m.processor_name = processor;
  m.phase = phase;
  m.partition_date = *CalendarDate::parse(date);
  m.execution_id = processor + "-" + date;
  m.status = status;
  if (status == CompletionStatus::kFailed) m.error = "upstream file truncated";
  return m;
}

void record(CompletionTracker& t, const Message& m) {
  auto r = t.record_completion(m);
  if (!r) check(fail(r.error()), "record_completion");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_three_phase_store STORE.sqlite\n");
    return 2;
  }
  const std::string target = argv[1];
  Result<std::unique_ptr<StateStore>> store = fail(ErrorCode::kInvalidArgument, "no store");
#ifdef PIPELINE_TEST_HAVE_POSTGRES
  if (target.starts_with("postgresql://"))
    store = PostgresStateStore::open(target).map([](auto s) { return std::unique_ptr<StateStore>(std::move(s)); });
#endif
  if (!target.starts_with("postgresql://")) {
    std::filesystem::remove(target);
    store = SqliteStateStore::open(target).map([](auto s) { return std::unique_ptr<StateStore>(std::move(s)); });
  }
  if (!store) check(fail(store.error()), "open store");
  ManualClock clock(TimePoint(std::chrono::seconds(1740819600)));  // 2025-03-01T09:00:00Z

  auto cleaning = CompletionTracker::create(clock, **store, tracker("cleaning", "raw", "clean", {"ingest"}));
  if (!cleaning) check(fail(cleaning.error()), "create cleaning");
  auto reporting =
      CompletionTracker::create(clock, **store, tracker("reporting", "clean", "reports", {"clean_a", "clean_b"}));
  if (!reporting) check(fail(reporting.error()), "create reporting");

  // 2025-03-01: everything ran.
  record(**cleaning, completion("ingest", "raw", "2025-03-01"));
  clock.advance(std::chrono::seconds(40));
  record(**reporting, completion("clean_a", "clean", "2025-03-01"));
  clock.advance(std::chrono::seconds(5));
  record(**reporting, completion("clean_b", "clean", "2025-03-01"));
  // 2025-03-02: ingest ran, clean_a failed, clean_b has not reported.
  clock.advance(std::chrono::hours(24));
  record(**cleaning, completion("ingest", "raw", "2025-03-02"));
  clock.advance(std::chrono::seconds(30));
  record(**reporting, completion("clean_a", "clean", "2025-03-02", CompletionStatus::kFailed));

  // One poison message on the raw completions topic, dead-lettered after two attempts.
  auto transport = MemoryTransport::create(clock).value();
  auto recorder = DeadLetterRecorder::create(clock, **store, *transport).value();
  check(recorder->watch("tp-raw-complete"), "watch");
  SubscriptionSettings settings;
  settings.max_delivery_attempts = 2;
  settings.min_backoff = std::chrono::seconds(1);
  settings.max_backoff = std::chrono::seconds(1);
  auto sub = transport->subscribe({"tp-clean-sub", "tp-raw-complete", settings},
                                  [](DeliveryPtr d) { (void)d->nack("cannot decode completion"); });
  if (!sub) check(fail(sub.error()), "subscribe");
  check(transport->publish("tp-raw-complete", {"poison-ingest-1", "{not json", {}}), "publish");
  for (int i = 0; i < 10 && recorder->recorded() == 0; ++i) {
    transport->pump();
    clock.advance(std::chrono::seconds(5));
  }
  transport->pump();
  if (recorder->recorded() != 1) {
    std::fprintf(stderr, "make_three_phase_store: the poison message was not dead-lettered\n");
    return 1;
  }
  (*sub)->close();
  recorder->close();
  std::printf("wrote %s\n", target.starts_with("postgresql://") ? "the PostgreSQL store" : target.c_str());
  return 0;
}
