// PhaseService: its processors' alerts and how one failing processor affects the others.

#include <algorithm>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <functional>
#include <vector>

#include <gtest/gtest.h>

#include "nba_service_common/service.hpp"
#include "nba_synthetic/season.hpp"
#include "nba_synthetic/warehouse.hpp"
#include "phase4_precompute/precompute_processors.hpp"
#include "pipeline/alert/alert_manager.hpp"
#include "pipeline/alert/callback_sink.hpp"
#include "pipeline/core/manual_clock.hpp"
#include "pipeline/memory/memory_state_store.hpp"
#include "pipeline/mocks/recording_transport.hpp"
#include "pipeline/orchestrate/dependency_checker.hpp"
#include "pipeline/orchestrate/run_history.hpp"

namespace phase_service_test {

using pipeline::CalendarDate;
using pipeline::Severity;

const CalendarDate kDate = *CalendarDate::parse("2025-11-18");

/// Row counts per table (every date alike); unknown tables have none.
class Tables final : public pipeline::DependencyDataSource {
 public:
  pipeline::Result<std::int64_t> row_count(std::string_view table, CalendarDate) override {
    auto it = rows.find(std::string(table));
    return it == rows.end() ? 0 : it->second;
  }
  pipeline::Result<std::optional<pipeline::TimePoint>> last_updated(std::string_view, CalendarDate) override {
    return std::optional<pipeline::TimePoint>{};
  }
  std::map<std::string, std::int64_t> rows;
};

/// A processor whose step succeeds unless told to fail; counts its runs.
class Step final : public pipeline::Processor {
 public:
  Step(CreateKey key, pipeline::Clock& clock, pipeline::StateStore& store, pipeline::RunHistory& history,
       pipeline::DependencyChecker& dependencies, const std::string& name)
      : Processor(key, clock, store, history, with_dependencies(name, dependencies)) {}
  bool failing = false;
  int runs = 0;

 private:
  static pipeline::ProcessorOptions with_dependencies(const std::string& name, pipeline::DependencyChecker& dependencies) {
    auto o = nba_services::processor_config(name, "phase4_precompute", "phase4-complete", "nba_precompute", "players");
    o.dependencies = &dependencies;
    return o;
  }

 protected:
  pipeline::Result<pipeline::ProcessResult> process(const pipeline::ProcessRequest&) override {
    ++runs;
    if (failing) return pipeline::fail(pipeline::ErrorCode::kInternal, "the step broke");
    pipeline::ProcessResult r;
    r.record_count = 1;
    return r;
  }
};

struct Rig {
  Rig()
      : alerts(pipeline::AlertManager::create(clock,
               {pipeline::CallbackAlertSink::create([this](const pipeline::Alert& a) { raised.push_back(a); }).value()},
               pipeline::AlertManagerOptions{.limits = {}, .critical_bypasses_limit = true,
                                            .digest_flush_interval = pipeline::Duration::zero()}).value()) {}

  Step& add(const std::string& name) {
    steps.push_back(pipeline::Processor::create<Step>(clock, store, history, dependencies, name).value());
    return *steps.back();
  }

  nba_services::PhaseService service() {
    std::vector<pipeline::Processor*> processors;
    for (auto& s : steps) processors.push_back(s.get());
    nba_services::PhaseService out("phase4_precompute", std::move(processors));
    out.set_alerts(alerts.get());
    return out;
  }

  static pipeline::Message trigger() {
    pipeline::Message m;
    m.processor_name = "phase3_to_phase4";
    m.phase = "phase3_analytics";
    m.execution_id = "trigger-1";
    m.correlation_id = "trigger-1";
    m.partition_date = kDate;
    return m;
  }

  std::vector<std::string> keys() const {
    std::vector<std::string> out;
    for (const auto& a : raised) out.push_back(a.key);
    return out;
  }

  pipeline::ManualClock clock;
  pipeline::MemoryStateStore store = pipeline::MemoryStateStore::create().value();
  pipeline::RunHistory history = pipeline::RunHistory::create(clock, store).value();
  Tables tables;
  pipeline::DependencyChecker dependencies = pipeline::DependencyChecker::create(clock, tables).value();
  std::vector<pipeline::Alert> raised;
  std::unique_ptr<pipeline::AlertManager> alerts;
  std::vector<std::unique_ptr<Step>> steps;
};

TEST(PhaseServiceAlerts, AProcessorFailingFiveTimesInARowIsCritical) {
  Rig rig;
  Step& broken = rig.add("player_daily_cache");
  broken.failing = true;
  auto service = rig.service();
  for (int i = 0; i < 4; ++i) EXPECT_FALSE(*service.handle(Rig::trigger()));
  EXPECT_TRUE(rig.raised.empty());
  EXPECT_FALSE(*service.handle(Rig::trigger()));
  ASSERT_EQ(rig.raised.size(), 1u);
  EXPECT_EQ(rig.raised[0].key, "processor_failing/player_daily_cache/2025-11-18");
  EXPECT_EQ(rig.raised[0].severity, Severity::kCritical);
  EXPECT_EQ(rig.raised[0].message,
            "player_daily_cache for 2025-11-18 failed 5 times in a row: internal: the step broke");
  // A success starts the count again.
  broken.failing = false;
  EXPECT_TRUE(*service.handle(Rig::trigger()));
  EXPECT_EQ(rig.history.get({"player_daily_cache", kDate, 0})->value().failures_in_a_row, 0);
  EXPECT_EQ(rig.raised.size(), 1u);
}

TEST(PhaseServiceAlerts, AMissingCriticalDependencyRaisesAnError) {
  Rig rig;
  rig.add("player_shot_zone_analysis");
  ASSERT_TRUE(rig.dependencies.declare("player_shot_zone_analysis", {nba_services::needs("player_game_summary")}));
  auto service = rig.service();
  EXPECT_FALSE(*service.handle(Rig::trigger()));
  ASSERT_EQ(rig.keys(), (std::vector<std::string>{"dependency/player_shot_zone_analysis/2025-11-18"}));
  EXPECT_EQ(rig.raised[0].severity, Severity::kError);
  EXPECT_EQ(rig.steps[0]->runs, 0);
  rig.tables.rows["player_game_summary"] = 10;
  EXPECT_TRUE(*service.handle(Rig::trigger()));
  EXPECT_EQ(rig.raised.size(), 1u);
}

/// "name:outcome" for each run the service reports, in order.
struct Runs {
  void operator()(const pipeline::Processor& p, const pipeline::Message&, const pipeline::RunReport& r, double) {
    seen.push_back(p.options().name + ":" + std::string(pipeline::to_string(r.outcome)));
  }
  std::vector<std::string> take() { return std::exchange(seen, {}); }
  std::vector<std::string> seen;
};

TEST(PhaseServiceOrder, AFailedProcessorStopsOnlyItsDependentsAndTheRedeliveryRunsWhatIsLeft) {
  Rig rig;
  // Listed with the dependents first: the order is the declared one, not the list's.
  Step& features = rig.add("ml_feature_store");
  Step& composite = rig.add("player_composite_factors");
  Step& zones = rig.add("player_shot_zone_analysis");
  Step& cache = rig.add("player_daily_cache");
  zones.failing = true;
  auto service = rig.service();
  ASSERT_TRUE(service.run_after("player_composite_factors", {"player_shot_zone_analysis"}));
  ASSERT_TRUE(service.run_after("ml_feature_store", {"player_composite_factors", "player_daily_cache"}));
  Runs runs;
  service.set_observer(std::ref(runs));
  EXPECT_FALSE(*service.handle(Rig::trigger()));
  EXPECT_EQ(runs.take(), (std::vector<std::string>{"player_shot_zone_analysis:failed", "player_daily_cache:completed"}));
  EXPECT_EQ(composite.runs + features.runs, 0);  // they wait for their upstream
  // The redelivery, the failure gone: what finished is not run again.
  zones.failing = false;
  EXPECT_TRUE(*service.handle(Rig::trigger()));
  EXPECT_EQ(runs.take(),
            (std::vector<std::string>{"player_shot_zone_analysis:completed", "player_daily_cache:already_done",
                                      "player_composite_factors:completed", "ml_feature_store:completed"}));
  EXPECT_EQ(cache.runs, 1);
  EXPECT_EQ(zones.runs, 2);
  EXPECT_EQ(composite.runs, 1);
  EXPECT_EQ(features.runs, 1);
}

TEST(PhaseServiceOrder, AnInjectedFailureLetsTheIndependentProcessorsRun) {
  Rig rig;
  rig.add("player_game_summary");
  rig.add("team_offense_game_summary");
  rig.add("team_defense_game_summary");
  auto service = rig.service();
  service.set_injected_failure(
      [](const pipeline::Processor& p, const pipeline::Message&) { return p.options().name == "player_game_summary"; });
  Runs runs;
  service.set_observer(std::ref(runs));
  EXPECT_FALSE(*service.handle(Rig::trigger()));
  EXPECT_EQ(runs.take(), (std::vector<std::string>{"player_game_summary:failed", "team_offense_game_summary:completed",
                                                   "team_defense_game_summary:completed"}));
}

TEST(PhaseServiceOrder, RunAfterRefusesUnknownNamesAndCycles) {
  Rig rig;
  rig.add("a");
  rig.add("b");
  rig.add("c");
  auto service = rig.service();
  ASSERT_TRUE(service.run_after("b", {"a"}));
  ASSERT_TRUE(service.run_after("c", {"b"}));
  auto cycle = service.run_after("a", {"c"});
  ASSERT_FALSE(cycle);
  EXPECT_EQ(cycle.error().code, pipeline::ErrorCode::kInvalidArgument);
  EXPECT_EQ(cycle.error().message, "phase4_precompute: a after c would close a cycle");
  EXPECT_FALSE(service.run_after("a", {"nope"}));
  EXPECT_FALSE(service.run_after("nope", {"a"}));
  EXPECT_TRUE(service.upstreams_of("a").empty());
  EXPECT_EQ(service.upstreams_of("c"), (std::vector<std::string>{"b"}));
}

// Phase 4's run_after edges are exactly its declared inputs that are Phase 4 outputs.
TEST(PhaseServiceOrder, PhaseFourRunsEachProcessorAfterThePhaseFourInputsItDeclares) {
  Rig rig;
  auto warehouse = nba::Warehouse::open(":memory:");
  ASSERT_TRUE(warehouse) << warehouse.error().to_string();
  nba::Season season;
  pipeline::mocks::RecordingTransport transport;
  nba_services::ServiceContext ctx{rig.store, rig.clock, rig.history, rig.dependencies, transport, *warehouse, season, {}};
  ASSERT_TRUE(phase4::declare_dependencies(rig.dependencies));
  auto phase = phase4::make_phase4(ctx);
  ASSERT_TRUE(phase) << phase.error().to_string();
  const auto names = phase4::precompute_processors();
  const std::set<std::string> in_phase(names.begin(), names.end());
  std::size_t edges = 0;
  for (const auto& name : names) {
    std::vector<std::string> want;
    for (const auto& spec : *rig.dependencies.inputs(name))
      if (in_phase.count(spec.table) != 0) want.push_back(spec.table);
    std::sort(want.begin(), want.end());
    EXPECT_EQ(phase->service->upstreams_of(name), want) << name;
    edges += want.size();
  }
  EXPECT_EQ(edges, 4u);
}

}  // namespace phase_service_test
