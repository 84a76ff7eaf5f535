#pragma once
/// @file
/// What the example services of every phase share: the collaborators a processor gets
/// (`ServiceContext`), the warehouse-backed `Processor` base, the warehouse as the
/// `DependencyDataSource`, the NBA topic names, and `PhaseService`, which runs the
/// processors a trigger names, each after the ones it reads, on one subscription.

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "nba_synthetic/season.hpp"
#include "nba_synthetic/warehouse.hpp"
#include "pipeline/alert/alert_manager.hpp"
#include "pipeline/core/topics.hpp"
#include "pipeline/core/transport.hpp"
#include "pipeline/orchestrate/dependency_checker.hpp"
#include "pipeline/process/processor.hpp"

namespace nba_services {

/// Topics of the example pipeline (prefix "nba", as `nba::tracker_presets`).
struct Topics {
  pipeline::TopicNaming naming{"nba"};
  [[nodiscard]] std::string phase1_trigger() const { return naming.prefix + "-phase1-trigger"; }
  [[nodiscard]] std::string phase1_complete() const { return naming.phase_complete(1, "scrapers"); }
  [[nodiscard]] std::string phase2_complete() const { return naming.phase_complete(2, "raw"); }
  [[nodiscard]] std::string phase3_trigger() const { return naming.prefix + "-phase3-trigger"; }
  [[nodiscard]] std::string phase3_complete() const { return naming.phase_complete(3, "analytics"); }
  [[nodiscard]] std::string phase4_trigger() const { return naming.prefix + "-phase4-trigger"; }
  [[nodiscard]] std::string phase4_complete() const { return naming.phase_complete(4, "precompute"); }
  /// The 4→5 tracker's trigger, which Phase 5's hybrid trigger consumes (event path).
  [[nodiscard]] std::string phase5_trigger() const { return naming.prefix + "-phase5-trigger"; }
};

/// What a scraper fetched for one feed: its items, typed (its file holds them as JSON).
using FeedItems = std::variant<std::vector<nba::Game>, std::vector<nba::InjuryEntry>, std::vector<nba::PlayerProp>,
                               std::vector<nba::GameLine>, std::vector<nba::BoxScore>>;

/// Scraped items held in memory, keyed by the path of their file: what raw processors in
/// the scrapers' process read instead of decoding the file again, and all there is of a
/// payload when a run keeps nothing on disk (a backfill over the memory store).
///
/// **Thread safety:** every member may be called from any thread (one mutex).
/// **Performance:** `put` moves the items in; `find` shares them without copying. Payloads
/// stay until the object goes: give each run (each demo day) its own.
///
/// **Example:**
/// @code
///   nba_services::ScrapedPayloads scraped;
///   scraped.put(dir / "nbac_schedule" / "2025-11-18" / "w0.json", games);  // a std::vector<nba::Game>
///   auto items = scraped.find(dir / "nbac_schedule" / "2025-11-18" / "w0.json");  // null when absent
/// @endcode
class ScrapedPayloads {
 public:
  void put(const std::filesystem::path& file, FeedItems items);
  /// The items stored as `file`, null when there are none.
  [[nodiscard]] std::shared_ptr<const FeedItems> find(const std::filesystem::path& file) const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<const FeedItems>> payloads_;
};

/// Everything a service's processors use. All references must outlive the processors.
/// The warehouse is one connection: run a service's processors on one thread.
struct ServiceContext {
  pipeline::StateStore& store;
  pipeline::Clock& clock;
  pipeline::RunHistory& history;
  pipeline::DependencyChecker& dependencies;
  pipeline::Transport& transport;
  nba::Warehouse& warehouse;
  const nba::Season& season;
  std::filesystem::path data_dir;  ///< Where scrapers write their files (Phase 1 and 2); empty: no files.
  pipeline::MetricsSink* metrics = nullptr;
  Topics topics{};
  /// When set, scrapers also keep their items here (under the path the completion names,
  /// written or not), and raw processors look here before reading the file: one process
  /// running both phases skips writing-then-parsing, and the files (when `data_dir` is set)
  /// still let another process, or a resumed run, read them.
  ScrapedPayloads* scraped_in_memory = nullptr;
  /// Where the phase services raise their processors' alerts (`PhaseService::set_alerts`).
  pipeline::AlertManager* alerts = nullptr;
  /// Woken after each run's commit, so its completion is published at once (a service
  /// process's `ServiceRuntime::relay()`); null: the caller relays.
  pipeline::OutboxRelay* relay = nullptr;

  /// `options` with this context's collaborators (dependencies, relay, transport, metrics)
  /// and `detector`.
  [[nodiscard]] pipeline::ProcessorOptions processor_options(pipeline::ProcessorOptions options,
                                                             pipeline::ChangeDetector* detector = nullptr) {
    options.detector = detector;
    options.dependencies = &dependencies;
    options.relay = relay;
    options.transport = &transport;
    options.metrics = metrics;
    return options;
  }
};

/// The warehouse as the dependency checker's data source: row counts per date. The
/// synthetic warehouse keeps no write times, so `last_updated` is unknown (declare no age
/// limits on these inputs).
class WarehouseDependencySource final : public pipeline::DependencyDataSource {
 public:
  /// With `season`, a date on which it has no games needs no rows in any input: its
  /// processors run, find nothing and complete with `no_data`.
  explicit WarehouseDependencySource(nba::Warehouse& warehouse, const nba::Season* season = nullptr)
      : warehouse_(warehouse), season_(season) {}
  pipeline::Result<std::int64_t> row_count(std::string_view table, pipeline::CalendarDate date) override;
  pipeline::Result<std::optional<pipeline::TimePoint>> last_updated(std::string_view table,
                                                                    pipeline::CalendarDate date) override;
  /// 0 on a date the season has no games, else nullopt (the declared minimum applies).
  pipeline::Result<std::optional<std::int64_t>> expected_rows(std::string_view table,
                                                              pipeline::CalendarDate date) override;

 private:
  nba::Warehouse& warehouse_;
  const nba::Season* season_;
};

/// The seeds' skip-if-processed window: a step that succeeded for a date less than an hour
/// ago is not run again for a new trigger ("already processed recently, skipping"); the
/// library's default, `ProcessorOptions::skip_if_success_within`, is 24 hours.
inline constexpr pipeline::Duration kSkipIfProcessedWithin = std::chrono::hours(1);

/// A processor's configuration in the example pipeline (output table = its name; skip
/// window `kSkipIfProcessedWithin`).
pipeline::ProcessorOptions processor_config(std::string name, std::string_view phase, std::string completion_topic,
                                           std::string dataset, std::string entity_kind);

/// `num / den`, 0 when `den` is not positive.
inline double ratio(double num, double den) { return den > 0 ? num / den : 0.0; }

/// A critical input with at least `min_rows` rows for the date.
pipeline::DependencySpec needs(std::string table, std::int64_t min_rows = 1);

/// Entities a step wrote, by kind, for its completion and the demo's counts.
struct Written {
  std::int64_t records = 0;
  std::map<std::string, std::set<std::string>> entities;  ///< kind -> ids
  void add(std::string_view kind, std::string id) { entities[std::string(kind)].insert(std::move(id)); }
};

/// The base of the example processors of Phases 2–4: a `Processor` with the warehouse,
/// the season and helpers for selective reads and results. Its subclasses take the
/// `CreateKey` first and are built by `pipeline::Processor::create` (see `add_processor`).
class WarehouseProcessor : public pipeline::Processor {
 public:
  WarehouseProcessor(CreateKey key, ServiceContext& ctx, pipeline::ProcessorOptions config,
                     pipeline::ChangeDetector* detector = nullptr)
      : Processor(key, ctx.clock, ctx.store, ctx.history, ctx.processor_options(std::move(config), detector)),
        ctx_(ctx) {}

 protected:
  /// The read filter of `request` on `column`: every row for a full run, else only the
  /// changed entities as bound parameters.
  static pipeline::Result<nba::Filter> read_filter(const pipeline::ProcessRequest& request, std::string_view column);
  /// The step's result: `entities_changed` is precise for a selective run and "all"
  /// (nullopt) for a full one; metadata counts the entities written per kind.
  static pipeline::ProcessResult result_of(const pipeline::ProcessRequest& request, const Written& written);
  /// Upserts `rows` (when any) into this processor's own table and returns `result_of`
  /// with `written.records` set to the row count. **Errors:** the warehouse's.
  pipeline::Result<pipeline::ProcessResult> write_rows(const pipeline::ProcessRequest& request,
                                                       const std::vector<std::string>& columns,
                                                       const std::vector<std::vector<nba::Value>>& rows, Written written);

  ServiceContext& ctx_;
};

/// Builds a `P` with `pipeline::Processor::create(args...)` and appends it to `processors`.
/// **Errors:** `create`'s (`kInvalidArgument` naming the first bad option); nothing is appended then.
template <class P, class Base, class... Args>
pipeline::Status add_processor(std::vector<std::unique_ptr<Base>>& processors, Args&&... args) {
  auto p = pipeline::Processor::create<P>(std::forward<Args>(args)...);
  if (!p) return pipeline::fail(p.error());
  processors.push_back(std::move(*p));
  return pipeline::ok();
}

/// How a `PhaseService` reports each processor run (for logs, tests and the demo), with the
/// run's real (wall) time in milliseconds — a measurement for people, never for decisions.
using RunObserver = std::function<void(const pipeline::Processor&, const pipeline::Message& trigger,
                                       const pipeline::RunReport&, double wall_ms)>;

/// One subscription that runs a phase's processors for each trigger: those the trigger's
/// `metadata.run_processors` names (all when absent) and `accepts`.
///
/// **Order by declared dependencies, not list position.** `run_after(p, {q, ...})`
/// declares that `p` reads the output of `q` (processors of the same service). Each
/// processor runs once all of its selected upstreams finished (completed or already
/// done); one that did not finish — failed, refused for its inputs, busy, or an error —
/// never stops the others: processors not depending on it still run (in list order
/// where nothing orders them), and only those depending on it, directly or through
/// another, wait and do not run. The delivery is acked when every selected processor
/// finished and nacked otherwise — the redelivery re-runs only what is not done yet,
/// thanks to run history (the finished ones answer `already_done`). A malformed trigger is
/// nacked with its decode error (and ends in the DLQ).
///
/// **Alerts** (with `set_alerts`): a run refused because a critical input is missing or
/// stale raises an error on key `dependency/<processor>/<date>`; a processor whose run of
/// a date and wave failed `failures_in_a_row` times since its last success (5, the seeds'
/// rule; run history counts across redeliveries and processes) raises a critical alert on
/// key `processor_failing/<processor>/<date>`, again at each further failure (the
/// manager's rate limit applies).
///
/// **Thread safety:** the handler runs on the transport's delivery thread; the processors
/// share one warehouse connection, so use a single delivery thread (pump or inline mode).
class PhaseService {
 public:
  using Accept = std::function<bool(const pipeline::Processor&, const pipeline::Message& trigger)>;
  PhaseService(std::string name, std::vector<pipeline::Processor*> processors, Accept accepts = {},
               RunObserver observer = {})
      : name_(std::move(name)), processors_(std::move(processors)), accepts_(std::move(accepts)),
        observer_(std::move(observer)) {}

  /// Declares that `processor` runs after each of `upstream` (processors of this service).
  /// **Errors:** `kInvalidArgument` for a name not in the service, or a declaration that
  /// would close a cycle (naming it); nothing is declared then.
  pipeline::Status run_after(const std::string& processor, const std::vector<std::string>& upstream);

  /// The declared upstreams of `processor` (empty when none).
  [[nodiscard]] std::vector<std::string> upstreams_of(const std::string& processor) const;

  /// Subscribes as `subscription_name()` to `topic`, with `handler()`.
  pipeline::Result<std::unique_ptr<pipeline::Subscription>> subscribe(pipeline::Transport& transport,
                                                                       const std::string& topic);
  /// `<name>-sub`: the subscription every process of this service shares.
  [[nodiscard]] std::string subscription_name() const { return name_ + "-sub"; }
  /// Decodes each delivery and runs `handle`: ack when every selected processor finished,
  /// nack otherwise (the redelivery runs what is left). This service must outlive it.
  pipeline::Handler handler();
  /// Runs the selected processors for `trigger` now, by their dependencies; false when one
  /// did not finish or waited for one that did not. **Errors:** the first run error (after
  /// the processors not depending on it ran).
  pipeline::Result<bool> handle(const pipeline::Message& trigger, const pipeline::DeliveryPtr& delivery = nullptr);
  void set_observer(RunObserver observer) { observer_ = std::move(observer); }
  /// A test hook: a processor for which `fails` answers true does not run; it is reported
  /// `failed` ("injected failure") and the delivery is nacked, so the trigger is
  /// redelivered until it dead-letters, as when its step keeps failing.
  void set_injected_failure(Accept fails) { fails_ = std::move(fails); }
  /// Raise the processors' alerts through `alerts` (null: none); `failures_in_a_row` is
  /// the count of failed runs that is critical.
  void set_alerts(pipeline::AlertManager* alerts, int failures_in_a_row = 5) {
    alerts_ = alerts;
    failures_in_a_row_ = failures_in_a_row;
  }

 private:
  std::string name_;
  std::vector<pipeline::Processor*> processors_;
  std::map<std::string, std::set<std::string>> upstreams_;  // processor -> what it runs after
  Accept accepts_;
  RunObserver observer_;
  Accept fails_;
  pipeline::AlertManager* alerts_ = nullptr;
  int failures_in_a_row_ = 5;

  void raise_alerts(const pipeline::Processor& p, const pipeline::Message& trigger, const pipeline::RunReport& report);
  [[nodiscard]] bool has_processor(const std::string& name) const;
  /// Whether `to` is reachable from `from` along declared upstreams.
  [[nodiscard]] bool reaches(const std::string& from, const std::string& to) const;
};

/// True when `trigger` has no `metadata.run_processors` or names `processor` in it.
bool runs_processor(const pipeline::Message& trigger, std::string_view processor);

/// `handler`, printing one line per delivery on stdout first —
/// `delivery <subscription> <id> attempt <n>` — so whoever supervises the process (the
/// multi-process demo, an operator reading the journal) sees what it handled and what was
/// redelivered to it.
pipeline::Handler logging_deliveries(pipeline::Handler handler);

}  // namespace nba_services
