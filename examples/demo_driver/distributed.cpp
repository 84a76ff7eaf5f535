#include "demo_driver/distributed.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

#include <fmt/format.h>

#include "demo_driver/observed.hpp"
#include "nba_service_common/service.hpp"
#include "nba_service_common/wall_clock.hpp"
#include "nba_synthetic/nba_preset.hpp"
#include "nba_synthetic/or_abort.hpp"
#include "phase1_scraper/scrapers.hpp"
#include "phase2_raw/raw_processors.hpp"
#include "phase3_analytics/analytics_processors.hpp"
#include "phase4_precompute/precompute_processors.hpp"
#include "phase5_coordinator/phase5.hpp"
#include "pipeline/core/best_effort_settle.hpp"
#include "pipeline/alert/callback_sink.hpp"
#include "pipeline/core/message_codec.hpp"
#include "pipeline/core/system_clock.hpp"
#include "pipeline/orchestrate/dead_letter_recorder.hpp"
#include "pipeline/redis/redis_transport.hpp"
#include "store_uri.hpp"
#include "transport_uri.hpp"

extern char** environ;

namespace demo {
namespace {

using namespace std::chrono_literals;

// The topics each service consumes, with the subscription it consumes them as.
std::vector<pipeline::SubscribeParams> service_subscriptions() {
  const nba_services::Topics topics;
  std::vector<pipeline::SubscribeParams> plan{
      {std::string(phase1::kPhase) + "-sub", topics.phase1_trigger(), {}},
      {std::string(phase2::kPhase) + "-sub", topics.phase1_complete(), {}},
      {std::string(phase3::kPhase) + "-sub", topics.phase3_trigger(), {}},
      {std::string(phase4::kPhase) + "-sub", topics.phase4_trigger(), {}}};
  // The trackers, each on its upstream phase's completions (as phase_trackers subscribes).
  const auto presets = nba::tracker_presets(topics.naming);
  const std::vector<std::string> upstream{topics.phase2_complete(), topics.phase3_complete(), topics.phase4_complete()};
  for (std::size_t i = 0; i < presets.size() && i < upstream.size(); ++i)
    plan.push_back({presets[i].name + "-tracker", upstream[i], {}});
  const auto coordinator = nba::phase5::coordinator_options();
  plan.push_back({nba::phase5::hybrid_trigger_options().subscription, topics.phase5_trigger(), {}});
  plan.push_back(nba::phase5::worker_subscription(std::string(nba::phase5::kWorkerSubscription), coordinator.work_topic));
  return plan;
}

// ---- Child processes.

struct Child {
  std::string role;   // "phase2_raw#2"
  std::vector<std::string> argv;
  std::filesystem::path log;
  pid_t pid = -1;
  std::chrono::steady_clock::time_point started{};
  std::optional<std::chrono::steady_clock::time_point> restart_at;  // died: started again then
  int quick_failures = 0;  // deaths in a row within 10 s of their start
  ProcessReport report;
};

// Set by SIGTERM or SIGINT to the supervisor: it stops its children and gives up the day.
volatile std::sig_atomic_t interrupted = 0;
extern "C" void on_interrupt(int) { interrupted = 1; }

// Starts `argv` with stdout and stderr appended to `log`, default signal handling and an
// empty signal mask (whatever this process blocks).
pid_t spawn(const std::vector<std::string>& argv, const std::filesystem::path& log) {
  posix_spawn_file_actions_t files;
  posix_spawn_file_actions_init(&files);
  posix_spawn_file_actions_addopen(&files, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&files, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&files, 1, 2);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, defaults;
  sigemptyset(&none);
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGTERM);
  sigaddset(&defaults, SIGINT);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, args[0], &files, &attr, args.data(), environ);
  posix_spawnattr_destroy(&attr);
  posix_spawn_file_actions_destroy(&files);
  return rc == 0 ? pid : -1;
}

std::vector<std::string> read_lines(const std::filesystem::path& path) {
  std::vector<std::string> lines;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) lines.push_back(std::move(line));
  return lines;
}

// ---- The supervisor.

struct Supervisor {
  const DistributedOptions& opt;
  pipeline::Duration offset;
  pipeline::SystemClock clock{offset};
  std::unique_ptr<pipeline::StateStore> store;
  std::unique_ptr<pipeline::Transport> transport;
  pipeline::RedisTransport* redis = nullptr;
  std::optional<nba::Warehouse> warehouse;
  std::unique_ptr<nba::phase5::WarehousePhase5> phase5;
  std::vector<std::unique_ptr<pipeline::CompletionTracker>> trackers;  // read-only: their status
  std::unique_ptr<pipeline::BatchCoordinator> coordinator;              // read-only: its status
  std::mutex mu;  // guards `seen`, `alerts`
  Observed seen;
  std::vector<pipeline::Alert> alerts;
  std::shared_ptr<pipeline::AlertSink> alert_sink =
      nba::or_abort("demo", pipeline::CallbackAlertSink::create([this](const pipeline::Alert& a) {
        std::lock_guard lock(mu);
        alerts.push_back(a);
      }));
  std::unique_ptr<pipeline::AlertManager> alert_manager =
      nba::or_abort("demo", pipeline::AlertManager::create(clock, {alert_sink}));
  std::unique_ptr<pipeline::DeadLetterRecorder> dlq;
  std::vector<std::unique_ptr<pipeline::Subscription>> watchers;
  std::vector<Child> children;
  bool stopping = false;
  DistributedSummary summary;
  const nba_services::Topics topics;

  Supervisor(const DistributedOptions& o, pipeline::Duration off) : opt(o), offset(off) {}

  void progress(const std::string& line) const {
    if (opt.progress) opt.progress(line);
  }

  pipeline::Status open() {
    auto s = pipelinectl::open_store(opt.store_uri, pipelinectl::StoreAccess::kCreate);
    if (!s) return pipeline::fail(s.error());
    store = std::move(*s);
    auto t = pipelinectl::open_transport(opt.transport_uri, clock, 1);
    if (!t) return pipeline::fail(t.error());
    transport = std::move(*t);
    redis = dynamic_cast<pipeline::RedisTransport*>(transport.get());
    if (redis == nullptr)
      return pipeline::fail(pipeline::ErrorCode::kInvalidArgument,
                            "the multi-process demo needs a broker the processes share: --transport redis://...");
    auto wh = nba::Warehouse::open((opt.dir / "warehouse.db").string());
    if (!wh) return pipeline::fail(wh.error());
    warehouse.emplace(std::move(*wh));
    auto p5 = nba::phase5::WarehousePhase5::create(*warehouse);
    if (!p5) return pipeline::fail(p5.error());
    phase5 = std::move(*p5);
    auto presets = nba::tracker_presets(topics.naming);
    presets[0].expected = phase2::raw_processors();
    for (auto& preset : presets) {
      auto tracker = pipeline::CompletionTracker::create(clock, *store, preset);
      if (!tracker) return pipeline::fail(tracker.error());
      trackers.push_back(std::move(*tracker));
    }
    auto options = nba::phase5::coordinator_options();
    options.expected_phase = std::string(nba::kPredictionsPhase);
    auto created = pipeline::BatchCoordinator::create(clock, *store, *alert_manager, *phase5, *phase5, options);
    if (!created) return pipeline::fail(created.error());
    coordinator = std::move(*created);
    return pipeline::ok();
  }

  // Every consumer group first, then the supervisor's own watchers and dead-letter recorder.
  pipeline::Status provision_and_watch() {
    auto plan = subscription_plan();
    auto n = provision(*transport, plan);
    if (!n) return pipeline::fail(n.error());
    summary.provisioned = *n;
    const std::set<std::string> trigger_topics{topics.phase3_trigger(), topics.phase4_trigger(), topics.phase5_trigger()};
    for (const auto& topic : {topics.phase1_trigger(), topics.phase1_complete(), topics.phase2_complete(),
                              topics.phase3_trigger(), topics.phase3_complete(), topics.phase4_trigger(),
                              topics.phase4_complete(), topics.phase5_trigger(),
                              nba::phase5::coordinator_options().complete_topic}) {
      const bool is_trigger = trigger_topics.contains(topic);
      auto sub = transport->subscribe({"demo-watch-" + topic, topic, {}}, [this, topic, is_trigger](pipeline::DeliveryPtr d) {
        {
          std::lock_guard lock(mu);
          if (auto m = seen.record(topic, is_trigger, d->payload()); m && m->metadata->is_object())
            record_run(*m);
        }
        pipeline::best_effort_ack(*d);
      });
      if (!sub) return pipeline::fail(sub.error());
      watchers.push_back(std::move(*sub));
    }
    auto recorder = pipeline::DeadLetterRecorder::create(clock, *store, *transport, {.alerts = alert_manager.get()});
    if (!recorder) return pipeline::fail(recorder.error());
    dlq = std::move(*recorder);
    std::set<std::string> consumed;
    for (const auto& s : service_subscriptions()) consumed.insert(s.topic);
    for (const auto& t : consumed) PIPELINE_TRY(dlq->watch(t));
    return pipeline::ok();
  }

  // A completion message as a run of its processor in its wave (what the in-process
  // demo's observer reports). Call under mu.
  void record_run(const pipeline::Message& m) {
    const auto& phases = summary_phases();
    // Processors' completions only: not a phase service's own summary (named after its phase).
    if (std::find(phases.begin(), phases.end(), m.phase) == phases.end() || m.processor_name == m.phase) return;
    const auto& meta = *m.metadata;
    RunEntry e{.processor = m.processor_name, .outcome = pipeline::RunOutcome::kCompleted, .full = !m.entities_changed};
    e.completion = RunCompletion{m.execution_id, meta.value("wave", 0), m.status};
    e.records = m.record_count;
    if (meta.contains("entities") && meta["entities"].is_object())
      for (const auto& [kind, n] : meta["entities"].items())
        if (n.is_number_integer()) e.entities[kind] = n.get<std::int64_t>();
    for (const auto& [kind, n] : e.entities) e.entities_processed += static_cast<std::size_t>(n);
    if (m.entities_changed) {
      std::size_t n = 0;
      for (const auto& [kind, ids] : *m.entities_changed) n += ids.size();
      if (n <= 10) e.entity_ids = *m.entities_changed;
    }
    auto& runs = seen.runs[e.completion->wave][m.phase];
    // A redelivered or republished completion is the same run (the same execution id).
    for (const auto& r : runs)
      if (r.completion && r.completion->execution_id == m.execution_id) return;
    runs.push_back(std::move(e));
  }

  void add(const std::string& service, int instance, std::vector<std::string> flags) {
    Child c;
    c.role = instance > 0 ? fmt::format("{}#{}", service, instance) : service;
    c.log = opt.dir / "logs" / (c.role + ".log");
    c.argv = {opt.self.string(), "service", service};
    c.argv.insert(c.argv.end(), flags.begin(), flags.end());
    c.report.role = c.role;
    children.push_back(std::move(c));
  }

  pipeline::Status start(Child& c) {
    c.pid = spawn(c.argv, c.log);
    if (c.pid <= 0) return pipeline::fail(pipeline::ErrorCode::kInternal, "cannot start {} ({})", c.role, c.argv[0]);
    c.started = std::chrono::steady_clock::now();
    c.restart_at.reset();
    c.report.pids.push_back(c.pid);
    return pipeline::ok();
  }

  // Reaps children that ended; restarts those that died while the day runs, as systemd's
  // Restart=on-failure would: after 200 ms, doubling (up to 5 s) while a child keeps dying
  // within 10 s of its start (a broker still restarting).
  pipeline::Status supervise() {
    const auto now = std::chrono::steady_clock::now();
    for (auto& c : children) {
      if (c.restart_at && !stopping && now >= *c.restart_at) {
        ++c.report.restarts;
        ++summary.restarts;
        PIPELINE_TRY(start(c));
        continue;
      }
      if (c.pid <= 0) continue;
      int status = 0;
      if (::waitpid(c.pid, &status, WNOHANG) != c.pid) continue;
      c.pid = -1;
      c.report.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      if (stopping) continue;
      c.quick_failures = now - c.started < 10s ? c.quick_failures + 1 : 0;
      const auto delay = std::min<std::chrono::milliseconds>(200ms * (1 << std::min(c.quick_failures, 5)), 5s);
      c.restart_at = now + delay;
      progress(fmt::format("{} (pid {}) ended with {}; restarting in {} ms", c.role, c.report.pids.back(),
                           *c.report.exit_code, delay.count()));
    }
    return pipeline::ok();
  }

  // Supervises until `done` holds, or fails after the day's timeout.
  pipeline::Status wait_for(const std::string& what, const std::function<pipeline::Result<bool>()>& done,
                            pipeline::TimePoint deadline) {
    while (true) {
      if (interrupted) return pipeline::fail(pipeline::ErrorCode::kCancelled, "interrupted while waiting for {}", what);
      PIPELINE_TRY(supervise());
      auto ok = done();
      if (ok && *ok) return pipeline::ok();
      // A store or broker restarting answers kUnavailable for a while: keep waiting.
      if (clock.now() >= deadline)
        return pipeline::fail(pipeline::ErrorCode::kDeadlineExceeded, "{} did not happen in time{} (the logs: {})", what,
                              ok ? "" : fmt::format(" (last: {})", ok.error().message), (opt.dir / "logs").string());
      std::this_thread::sleep_for(50ms);
    }
  }

  void kill(Child& c, const std::string& why) {
    if (c.pid <= 0) return;
    ::kill(c.pid, SIGKILL);
    ++c.report.kills;
    ++summary.kills;
    progress(fmt::format("chaos: SIGKILL {} (pid {}) {}", c.role, c.pid, why));
  }

  Child& child(const std::string& role) {
    return *std::find_if(children.begin(), children.end(), [&](const Child& c) { return c.role == role; });
  }

  std::size_t completions(const std::string& phase, int wave) {
    std::lock_guard lock(mu);
    auto w = seen.runs.find(wave);
    if (w == seen.runs.end()) return 0;
    auto p = w->second.find(phase);
    return p == w->second.end() ? 0 : p->second.size();
  }

  bool trigger_seen(const std::string& topic) {
    std::lock_guard lock(mu);
    auto it = seen.triggers.find(topic);
    return it != seen.triggers.end() && !it->second.empty();
  }

  pipeline::Result<bool> decided(std::size_t tracker, int wave) {
    auto st = trackers[tracker]->status(opt.date);
    if (!st) return pipeline::fail(st.error());
    for (const auto& w : st->waves)
      if (w.number == wave && w.decided) return true;
    return false;
  }

  // Stops every child with SIGTERM (they drain); SIGKILL after `grace`.
  void stop_all(std::chrono::seconds grace) {
    stopping = true;
    for (auto& c : children) {
      c.restart_at.reset();
      if (c.pid > 0) ::kill(c.pid, SIGTERM);
    }
    const auto until = std::chrono::steady_clock::now() + grace;
    while (std::any_of(children.begin(), children.end(), [](const Child& c) { return c.pid > 0; })) {
      // While stopping nothing is restarted, so this only reaps: it cannot fail.
      pipeline::discard_result(supervise());
      if (std::chrono::steady_clock::now() > until)
        for (auto& c : children)
          if (c.pid > 0) ::kill(c.pid, SIGKILL);
      std::this_thread::sleep_for(20ms);
    }
  }
};

// The chaos of one day: each fault once, when the work it interrupts is under way.
struct Chaos {
  bool scraper = false, worker = false, phase3 = false, trackers = false;

  void step(Supervisor& s) {
    const nba_services::Topics& t = s.topics;
    if (!scraper && s.completions("phase1_scrapers", 0) >= 1) {
      scraper = true;  // mid-day for its relay: the other scrapers' completions are not all out
      s.kill(s.child("phase1_scraper"), "after its first completion");
    }
    if (!worker && s.completions("phase2_raw", 0) >= 3) {
      worker = true;
      s.kill(s.child("phase2_raw#1"), "after the third Phase 2 completion");
    }
    if (!trackers && s.completions("phase2_raw", 0) >= 10) {
      trackers = true;  // mid fan-in: the 2→3 wave is half recorded
      s.kill(s.child("phase_trackers#1"), "mid fan-in (10 of 21 Phase 2 completions)");
    }
    if (!phase3 && s.trigger_seen(t.phase3_trigger())) {
      phase3 = true;
      s.kill(s.child("phase3_analytics"), "right after its trigger arrived");
    }
  }
};

pipeline::Status run_day(Supervisor& s, Chaos* chaos, std::vector<WaveReport>& waves) {
  const auto& o = s.opt;
  const auto deadline = s.clock.now() + o.timeout;
  auto chaos_step = [&]() {
    if (chaos) chaos->step(s);
  };
  // Wave 0: the daily schedule's trigger; done when Phase 5's batch is complete.
  const auto trigger = phase1::schedule_trigger(o.date, 0, {}, "daily schedule (multi-process demo)");
  waves.push_back(WaveReport{.wave = 0, .started_at = s.clock.now()});
  PIPELINE_TRY(s.transport->publish(s.topics.phase1_trigger(), {trigger.execution_id, pipeline::encode_message(trigger), {}}));
  s.progress("wave 0: the daily scrape triggered");
  const std::string prefix = s.coordinator->options().key_prefix;
  PIPELINE_TRY(s.wait_for(
      "wave 0's Phase 5 batch",
      [&]() -> pipeline::Result<bool> {
        chaos_step();
        auto r = pipeline::BatchCoordinator::load_report(*s.store, prefix, o.date);
        if (!r) return pipeline::fail(r.error());
        return r->state == pipeline::BatchState::kComplete;
      },
      deadline));
  s.progress("wave 0: Phase 5 batch complete");
  if (!o.injury_update) return pipeline::ok();
  // Wave 1: the injury report re-scraped; done when Phase 5 re-predicted what it changed.
  // The 14:00 ET re-scrape, sent now: the scraper fetches the report as of 14:00 ET.
  auto update_at = phase1::injury_update_time(o.date);
  if (!update_at) return pipeline::fail(update_at.error());
  const auto update = phase1::schedule_trigger(o.date, 1, {phase1::scraper_name("nbac_injury_report")},
                                               "injury report re-scrape 14:00 ET (multi-process demo)", *update_at);
  waves.push_back(WaveReport{.wave = 1, .started_at = s.clock.now(), .update = nba::Season().injury_update(o.date)});
  PIPELINE_TRY(s.transport->publish(s.topics.phase1_trigger(), {update.execution_id, pipeline::encode_message(update), {}}));
  s.progress("wave 1: the injury update triggered");
  return s.wait_for(
      "wave 1's Phase 5 re-predictions",
      [&]() -> pipeline::Result<bool> {
        auto decided = s.decided(2, 1);
        if (!decided || !*decided) return decided;
        auto inc = s.coordinator->incrementals(o.date);
        if (!inc) return pipeline::fail(inc.error());
        return std::any_of(inc->begin(), inc->end(),
                           [](const pipeline::IncrementalInfo& i) { return i.state == pipeline::BatchState::kComplete; });
      },
      deadline);
}

// Settled: no outbox row unsent and no consumer group holding an unacknowledged entry.
pipeline::Status settle(Supervisor& s) {
  const auto deadline = s.clock.now() + s.opt.timeout;
  std::vector<std::string> groups;
  for (const auto& sub : subscription_plan()) groups.push_back(sub.name);
  return s.wait_for(
      "the day to settle (outbox sent, every delivery acknowledged)",
      [&]() -> pipeline::Result<bool> {
        auto pending = s.store->pending_outbox();
        if (!pending) return pipeline::fail(pending.error());
        if (*pending > 0) return false;
        for (const auto& g : groups) {
          auto n = s.redis->unacked(g);
          if (!n) return pipeline::fail(n.error());
          if (*n > 0) return false;
        }
        return true;
      },
      deadline);
}

// What held after the day: decisions, successful runs, leftovers, the poison message.
pipeline::Status check(Supervisor& s, DistributedSummary& d) {
  std::lock_guard lock(s.mu);
  for (const auto& [topic, list] : s.seen.triggers) {
    std::map<int, std::set<std::string>> ids;
    for (const auto& m : list) ids[m.metadata->is_object() ? m.metadata->value("wave", 0) : 0].insert(m.execution_id);
    for (const auto& [w, set] : ids) d.decisions[topic][w] = static_cast<int>(set.size());
  }
  for (const auto& [wave, phases] : s.seen.runs)
    for (const auto& [phase, runs] : phases) {
      std::map<std::string, int> n;
      for (const auto& r : runs)
        if (r.completion && r.completion->status == pipeline::CompletionStatus::kSuccess) ++n[r.processor];
      for (const auto& [p, k] : n)
        if (k > d.max_successes_per_processor_wave) d.max_successes_per_processor_wave = k, d.max_successes_processor = p;
    }
  for (const auto& t : s.trackers) {
    auto st = t->status(s.opt.date);
    if (!st) return pipeline::fail(st.error());
    for (const auto& w : st->waves) {
      if (!w.decided) continue;
      const auto list = s.seen.triggers.find(t->options().trigger_topic);
      const bool delivered = list != s.seen.triggers.end() &&
                             std::any_of(list->second.begin(), list->second.end(),
                                         [&](const pipeline::Message& m) { return m.execution_id == w.trigger_id; });
      if (!delivered) d.undelivered.push_back(w.trigger_id);
    }
  }
  for (const auto& sub : subscription_plan()) {
    auto n = s.redis->unacked(sub.name);
    if (!n) return pipeline::fail(n.error());
    if (*n > 0) d.unacked[sub.name] = *n;
  }
  auto pending = s.store->pending_outbox();
  if (!pending) return pipeline::fail(pending.error());
  d.outbox_unsent = *pending;
  auto rows = pipeline::DeadLetterRecorder::list(*s.store);
  if (!rows) return pipeline::fail(rows.error());
  d.dlq_entries = rows->size();
  for (const auto& r : *rows) d.poison_dead_lettered = d.poison_dead_lettered || r.id == d.poison_id;
  for (const auto& a : s.alerts) d.dlq_alerts += a.key.starts_with("dlq/") ? 1 : 0;
  return pipeline::ok();
}

// Deliveries per process, from the lines its log shows ("delivery SUB ID attempt N").
void count_deliveries(Child& c) {
  for (const auto& line : read_lines(c.log)) {
    if (!line.starts_with("delivery ")) continue;
    ++c.report.deliveries;
    const auto at = line.rfind(" attempt ");
    if (at != std::string::npos && std::atoi(line.c_str() + at + 9) > 1) ++c.report.redeliveries;
  }
}

}  // namespace

std::vector<pipeline::SubscribeParams> subscription_plan() {
  auto plan = service_subscriptions();
  // The dead-letter recorders' subscriptions, one per consumed topic (as DeadLetterRecorder::watch names them).
  std::set<std::string> consumed;
  for (const auto& s : plan) consumed.insert(s.topic);
  for (const auto& t : consumed) {
    const std::string dlq = pipeline::TopicNaming::dead_letter(t);
    plan.push_back({dlq + "-recorder", dlq, {}});
  }
  return plan;
}

pipeline::Result<std::size_t> provision(pipeline::Transport& transport,
                                        const std::vector<pipeline::SubscribeParams>& plan) {
  for (const auto& s : plan) {
    // Subscribed with a handler that takes nothing: it is detached at once, and the
    // subscription stays with whatever arrives for it.
    auto sub = transport.subscribe(s, [](pipeline::DeliveryPtr d) { pipeline::best_effort_nack(*d, "provisioning only"); });
    if (!sub) return pipeline::fail(sub.error());
    (*sub)->close();
  }
  return plan.size();
}

pipeline::Result<DemoReport> run_distributed_demo(const DistributedOptions& o) {
  // The clock of every process: the day starts `lead` before 06:00 PT.
  auto six_pt = nba_services::zoned_time(o.date, std::chrono::hours(6), nba_services::kPacificZone);
  if (!six_pt) return pipeline::fail(six_pt.error());
  const auto offset = std::chrono::duration_cast<pipeline::Duration>(
      (*six_pt - o.lead) - std::chrono::system_clock::now());
  const auto offset_s = std::chrono::duration_cast<std::chrono::seconds>(offset).count();
  std::error_code ec;
  std::filesystem::create_directories(o.dir / "logs", ec);
  if (ec) return pipeline::fail(pipeline::ErrorCode::kUnavailable, "cannot create {}: {}", o.dir.string(), ec.message());
  // SIGTERM or SIGINT: the children are stopped (they drain) before this process ends.
  struct sigaction action {};
  action.sa_handler = on_interrupt;
  sigemptyset(&action.sa_mask);
  ::sigaction(SIGTERM, &action, nullptr);
  ::sigaction(SIGINT, &action, nullptr);
  auto s = std::make_unique<Supervisor>(o, std::chrono::seconds(offset_s));
  PIPELINE_TRY(s->open());
  PIPELINE_TRY(s->provision_and_watch());

  // The roles: every process shares the store, the broker, the warehouse and the clock.
  const std::vector<std::string> common{"--store",        o.store_uri,
                                        "--transport",    o.transport_uri,
                                        "--clock-offset", std::to_string(offset_s),
                                        "--ack-deadline", std::to_string(o.ack_deadline.count())};
  auto with = [&](std::vector<std::string> more) {
    std::vector<std::string> flags = common;
    flags.insert(flags.end(), more.begin(), more.end());
    return flags;
  };
  const std::string wh = (o.dir / "warehouse.db").string();
  const std::string data = (o.dir / "scraped").string();
  s->add("phase1_scraper", 0, with({"--warehouse", wh, "--data-dir", data}));
  for (int i = 1; i <= o.workers; ++i) s->add("phase2_raw", i, with({"--warehouse", wh, "--data-dir", data}));
  s->add("phase3_analytics", 0, with({"--warehouse", wh, "--data-dir", data}));
  s->add("phase4_precompute", 0, with({"--warehouse", wh, "--data-dir", data}));
  // Trackers and coordinators run twice, as deployed for availability: each wave is still
  // decided once, each batch started once, each scheduled job fired once.
  for (int i = 1; i <= 2; ++i) {
    s->add("phase_trackers", i,
           with({"--workers", "2", "--check-every", "1", "--debounce", std::to_string(o.debounce.count())}));
    s->add("phase5_coordinator", i,
           with({"--warehouse", wh, "--workers", "2", "--readiness-wait", std::to_string(o.readiness_wait.count())}));
  }
  for (auto& c : s->children) PIPELINE_TRY(s->start(c));
  auto stop_on_error = [&s](pipeline::Status st) {
    if (!st) s->stop_all(10s);
    return st;
  };
  PIPELINE_TRY(stop_on_error(s->wait_for(
      "every process serving",
      [&s]() -> pipeline::Result<bool> {
        for (const auto& c : s->children) {
          bool serving = false;
          for (const auto& line : read_lines(c.log)) serving = serving || line.find(": serving") != std::string::npos;
          if (!serving) return false;
        }
        return true;
      },
      s->clock.now() + o.timeout)));
  s->progress(fmt::format("{} processes serving", s->children.size()));

  std::optional<Chaos> chaos;
  if (o.chaos) {
    chaos.emplace();
    // One poison message on a phase topic: the 2→3 tracker cannot decode it and rejects it,
    // the broker dead-letters it, and the recorder keeps it with an alert.
    s->summary.poison_id = fmt::format("poison/{}", o.date);
    PIPELINE_TRY(stop_on_error(
        s->transport->publish(s->topics.phase2_complete(), {s->summary.poison_id, "{\"phase\": 2, \"truncated", {}})));
  }
  std::vector<WaveReport> waves;
  PIPELINE_TRY(stop_on_error(run_day(*s, chaos ? &*chaos : nullptr, waves)));
  PIPELINE_TRY(stop_on_error(settle(*s)));
  s->progress("settled: outbox sent, every delivery acknowledged");
  if (chaos && !chaos->scraper)  // a day too quick to interrupt still loses a process once
    s->kill(s->child("phase1_scraper"), "after the day");
  s->stop_all(30s);
  for (auto& w : s->watchers) w->close();
  s->dlq->close();

  DemoReport report{.date = o.date,
                    .store = o.store_label,
                    .warehouse = o.dir / "warehouse.db",
                    .data_dir = o.dir / "scraped",
                    .finished_at = s->clock.now()};
  std::vector<const pipeline::CompletionTracker*> trackers;
  for (const auto& t : s->trackers) trackers.push_back(t.get());
  {
    std::lock_guard lock(s->mu);
    PIPELINE_TRY(fill_waves(report, std::move(waves), s->seen, trackers, s->topics.phase4_trigger()));
    for (const auto& [wave, phases] : s->seen.runs)
      for (const auto& [phase, runs] : phases)
        for (const auto& r : runs) ++report.runs_total[r.processor];
  }
  auto batches = s->coordinator->batches(o.date);
  if (!batches) return pipeline::fail(batches.error());
  const std::int64_t batch_version = batches->empty() ? 0 : batches->front().version;
  {
    std::lock_guard lock(s->mu);
    auto p5 = phase5_report({*s->coordinator, *s->warehouse, s->seen, std::string(nba_services::kPacificZone), s->alerts},
                            o.date, batch_version);
    if (!p5) return pipeline::fail(p5.error());
    report.phase5 = std::move(*p5);
  }
  report.tables = table_counts(*s->warehouse, o.date);
  DistributedSummary d = std::move(s->summary);
  d.transport = pipelinectl::redacted_store_uri(o.transport_uri);
  PIPELINE_TRY(check(*s, d));
  for (auto& c : s->children) {
    count_deliveries(c);
    d.redeliveries += c.report.redeliveries;
    d.processes.push_back(c.report);
  }
  report.distributed = std::move(d);
  return report;
}

}  // namespace demo
