#include "nba_service_common/service.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <optional>
#include <utility>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "pipeline/core/best_effort_settle.hpp"
#include "pipeline/core/message_codec.hpp"

namespace nba_services {

void ScrapedPayloads::put(const std::filesystem::path& file, FeedItems items) {
  auto shared = std::make_shared<const FeedItems>(std::move(items));
  std::lock_guard lock(mu_);
  payloads_.insert_or_assign(file.string(), std::move(shared));
}

std::shared_ptr<const FeedItems> ScrapedPayloads::find(const std::filesystem::path& file) const {
  std::lock_guard lock(mu_);
  auto it = payloads_.find(file.string());
  return it == payloads_.end() ? nullptr : it->second;
}

pipeline::Result<std::int64_t> WarehouseDependencySource::row_count(std::string_view table,
                                                                    pipeline::CalendarDate date) {
  if (!warehouse_.table(table)) return pipeline::fail(pipeline::ErrorCode::kNotFound, "no table {}", table);
  return warehouse_.count_rows(table, date);
}

pipeline::Result<std::optional<pipeline::TimePoint>> WarehouseDependencySource::last_updated(std::string_view,
                                                                                           pipeline::CalendarDate) {
  return std::optional<pipeline::TimePoint>{};
}

pipeline::Result<std::optional<std::int64_t>> WarehouseDependencySource::expected_rows(std::string_view,
                                                                                     pipeline::CalendarDate date) {
  if (season_ != nullptr && season_->games_on(date).empty()) return std::optional<std::int64_t>(0);
  return std::optional<std::int64_t>{};
}

pipeline::ProcessorOptions processor_config(std::string name, std::string_view phase, std::string completion_topic,
                                           std::string dataset, std::string entity_kind) {
  pipeline::ProcessorOptions c;
  c.output_table = name;
  c.name = std::move(name);
  c.phase = std::string(phase);
  c.completion_topic = std::move(completion_topic);
  c.output_dataset = std::move(dataset);
  c.entity_kind = std::move(entity_kind);
  c.skip_if_success_within = kSkipIfProcessedWithin;
  return c;
}

pipeline::DependencySpec needs(std::string table, std::int64_t min_rows) {
  pipeline::DependencySpec s;
  s.table = std::move(table);
  s.expected_count_min = min_rows;
  return s;
}

pipeline::Result<nba::Filter> WarehouseProcessor::read_filter(const pipeline::ProcessRequest& request,
                                                              std::string_view column) {
  auto sql = request.sql_filter(column);
  if (!sql) return pipeline::fail(sql.error());
  if (sql->matches_everything) return nba::Filter{};
  nba::Filter f{sql->predicate, {}};
  for (auto& p : sql->parameters) f.params.emplace_back(p);
  return f;
}

pipeline::Result<pipeline::ProcessResult> WarehouseProcessor::write_rows(const pipeline::ProcessRequest& request,
                                                                       const std::vector<std::string>& columns,
                                                                       const std::vector<std::vector<nba::Value>>& rows,
                                                                       Written written) {
  written.records = static_cast<std::int64_t>(rows.size());
  if (!rows.empty()) PIPELINE_TRY(ctx_.warehouse.upsert(options().name, columns, rows));
  return result_of(request, written);
}

pipeline::ProcessResult WarehouseProcessor::result_of(const pipeline::ProcessRequest& request, const Written& written) {
  pipeline::ProcessResult r;
  r.record_count = written.records;
  nlohmann::json counts = nlohmann::json::object();
  for (const auto& [kind, ids] : written.entities) counts[kind] = ids.size();
  r.metadata["entities"] = counts;
  if (request.full()) {
    r.entities_changed = std::nullopt;  // everything was (re)written
  } else {
    pipeline::EntityChanges changes;
    for (const auto& [kind, ids] : written.entities) changes[kind] = {ids.begin(), ids.end()};
    r.entities_changed = std::move(changes);
  }
  if (written.records == 0) r.status = pipeline::CompletionStatus::kNoData;
  return r;
}

bool runs_processor(const pipeline::Message& trigger, std::string_view processor) {
  if (!trigger.metadata->is_object()) return true;
  auto it = trigger.metadata->find("run_processors");
  if (it == trigger.metadata->end() || !it->is_array()) return true;
  for (const auto& p : *it)
    if (p.is_string() && p.get_ref<const std::string&>() == processor) return true;
  return false;
}

bool PhaseService::has_processor(const std::string& name) const {
  return std::any_of(processors_.begin(), processors_.end(),
                     [&](const pipeline::Processor* p) { return p->options().name == name; });
}

bool PhaseService::reaches(const std::string& from, const std::string& to) const {
  std::vector<std::string> todo{from};
  std::set<std::string> seen;
  while (!todo.empty()) {
    std::string at = std::move(todo.back());
    todo.pop_back();
    if (at == to) return true;
    if (!seen.insert(at).second) continue;
    if (auto it = upstreams_.find(at); it != upstreams_.end()) todo.insert(todo.end(), it->second.begin(), it->second.end());
  }
  return false;
}

pipeline::Status PhaseService::run_after(const std::string& processor, const std::vector<std::string>& upstream) {
  if (!has_processor(processor))
    return pipeline::fail(pipeline::ErrorCode::kInvalidArgument, "{} has no processor '{}'", name_, processor);
  for (const auto& u : upstream) {
    if (!has_processor(u))
      return pipeline::fail(pipeline::ErrorCode::kInvalidArgument, "{} has no processor '{}' (an upstream of {})",
                            name_, u, processor);
    if (reaches(u, processor))
      return pipeline::fail(pipeline::ErrorCode::kInvalidArgument, "{}: {} after {} would close a cycle", name_,
                            processor, u);
  }
  upstreams_[processor].insert(upstream.begin(), upstream.end());
  return pipeline::ok();
}

std::vector<std::string> PhaseService::upstreams_of(const std::string& processor) const {
  auto it = upstreams_.find(processor);
  if (it == upstreams_.end()) return {};
  return {it->second.begin(), it->second.end()};
}

pipeline::Result<bool> PhaseService::handle(const pipeline::Message& trigger, const pipeline::DeliveryPtr& delivery) {
  enum class State { kPending, kFinished, kNotFinished };
  std::map<std::string, State> state;  // the selected processors only
  for (pipeline::Processor* p : processors_)
    if (runs_processor(trigger, p->options().name) && (!accepts_ || accepts_(*p, trigger)))
      state[p->options().name] = State::kPending;
  std::optional<pipeline::Error> first_error;
  // Passes in list order: a processor runs once its selected upstreams finished, and is
  // settled as not finished (it waits) once one of them did not. Declarations are
  // acyclic (`run_after`), so every pass settles at least one.
  for (bool progress = true; progress;) {
    progress = false;
    for (pipeline::Processor* p : processors_) {
      const std::string& name = p->options().name;
      auto self = state.find(name);
      if (self == state.end() || self->second != State::kPending) continue;
      bool blocked = false, ready = true;
      for (const auto& u : upstreams_of(name)) {
        auto it = state.find(u);
        if (it == state.end()) continue;  // not part of this trigger's work
        blocked = blocked || it->second == State::kNotFinished;
        ready = ready && it->second == State::kFinished;
      }
      if (!blocked && !ready) continue;
      progress = true;
      if (blocked) {
        self->second = State::kNotFinished;  // waits for its upstream's redelivery
        continue;
      }
      if (fails_ && fails_(*p, trigger)) {
        pipeline::RunReport injected;
        injected.outcome = pipeline::RunOutcome::kFailed;
        injected.detail = "injected failure";
        if (observer_) observer_(*p, trigger, injected, 0.0);
        self->second = State::kNotFinished;
        continue;
      }
      const auto started = std::chrono::steady_clock::now();
      auto report = p->run(trigger.partition_date, &trigger, pipeline::RunOptions{false, delivery});
      const double wall_ms =
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
      if (!report) {
        if (!first_error) first_error = report.error().with("processor", name);
        self->second = State::kNotFinished;
        continue;
      }
      if (observer_) observer_(*p, trigger, *report, wall_ms);
      raise_alerts(*p, trigger, *report);
      const bool done = report->outcome == pipeline::RunOutcome::kCompleted ||
                        report->outcome == pipeline::RunOutcome::kAlreadyDone;
      self->second = done ? State::kFinished : State::kNotFinished;
    }
  }
  if (first_error) return pipeline::fail(std::move(*first_error));
  return std::all_of(state.begin(), state.end(), [](const auto& s) { return s.second == State::kFinished; });
}

void PhaseService::raise_alerts(const pipeline::Processor& p, const pipeline::Message& trigger,
                                const pipeline::RunReport& report) {
  if (alerts_ == nullptr) return;
  const std::string& name = p.options().name;
  const auto context = [&] {
    return nlohmann::json{{"processor", name},
                          {"game_date", trigger.partition_date.to_string()},
                          {"outcome", std::string(pipeline::to_string(report.outcome))},
                          {"failures_in_a_row", report.failures_in_a_row},
                          {"detail", report.detail}};
  };
  if (report.outcome == pipeline::RunOutcome::kDependenciesFailed)
    alerts_->raise(pipeline::Severity::kError, fmt::format("dependency/{}/{}", name, trigger.partition_date),
                   fmt::format("{} for {} did not run: a critical input is missing or stale ({})", name,
                               trigger.partition_date, report.detail),
                   context());
  if (report.failures_in_a_row >= failures_in_a_row_)
    alerts_->raise(pipeline::Severity::kCritical, fmt::format("processor_failing/{}/{}", name, trigger.partition_date),
                   fmt::format("{} for {} failed {} times in a row: {}", name, trigger.partition_date,
                               report.failures_in_a_row, report.detail),
                   context());
}

pipeline::Result<std::unique_ptr<pipeline::Subscription>> PhaseService::subscribe(pipeline::Transport& transport,
                                                                                 const std::string& topic) {
  return transport.subscribe({subscription_name(), topic, {}}, handler());
}

pipeline::Handler PhaseService::handler() {
  return [this](pipeline::DeliveryPtr d) {
    auto trigger = pipeline::decode_message(d->payload());
    if (!trigger) {
      pipeline::best_effort_nack(*d, trigger.error().to_string());
      return;
    }
    auto done = handle(*trigger, d);
    if (!done)
      pipeline::best_effort_nack(*d, done.error().to_string());
    else if (!*done)
      pipeline::best_effort_nack(*d, "a processor did not complete; redelivery runs what is left");
    else
      pipeline::best_effort_ack(*d);
  };
}

pipeline::Handler logging_deliveries(pipeline::Handler handler) {
  return [handler = std::move(handler)](pipeline::DeliveryPtr d) {
    std::printf("delivery %s %s attempt %d\n", d->subscription().c_str(), d->id().c_str(), d->attempt());
    std::fflush(stdout);
    handler(std::move(d));
  };
}

}  // namespace nba_services
