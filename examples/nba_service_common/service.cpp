#include "nba_service_common/service.hpp"

#include <chrono>
#include <utility>
#include <nlohmann/json.hpp>

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

pipeline::ProcessorConfig processor_config(std::string name, std::string_view phase, std::string completion_topic,
                                           std::string dataset, std::string entity_kind) {
  pipeline::ProcessorConfig c;
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
  if (!rows.empty()) PIPELINE_TRY(ctx_.warehouse.upsert(config().name, columns, rows));
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

pipeline::Result<bool> PhaseService::handle(const pipeline::Message& trigger, const pipeline::DeliveryPtr& delivery) {
  bool all_done = true;
  for (pipeline::Processor* p : ordered_) {
    if (!runs_processor(trigger, p->config().name)) continue;
    if (accepts_ && !accepts_(*p, trigger)) continue;
    if (fails_ && fails_(*p, trigger)) {
      pipeline::RunReport injected;
      injected.outcome = pipeline::RunOutcome::kFailed;
      injected.detail = "injected failure";
      if (observer_) observer_(*p, trigger, injected, 0.0);
      all_done = false;
      break;
    }
    const auto started = std::chrono::steady_clock::now();
    auto report = p->run(trigger.partition_date, &trigger, pipeline::RunOptions{false, delivery});
    const double wall_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
    if (!report) return pipeline::fail(report.error().with("processor", p->config().name));
    if (observer_) observer_(*p, trigger, *report, wall_ms);
    const bool done = report->outcome == pipeline::RunOutcome::kCompleted ||
                      report->outcome == pipeline::RunOutcome::kAlreadyDone;
    // Later processors of the phase may read this one's output: stop at the first that
    // did not finish, and let the redelivery continue from here.
    if (!done) {
      all_done = false;
      break;
    }
  }
  return all_done;
}

pipeline::Result<std::unique_ptr<pipeline::Subscription>> PhaseService::subscribe(pipeline::Transport& transport,
                                                                                 const std::string& topic) {
  return transport.subscribe({name_ + "-sub", topic, {}}, [this](pipeline::DeliveryPtr d) {
    auto trigger = pipeline::decode_message(d->payload());
    if (!trigger) {
      (void)d->nack(trigger.error().to_string());
      return;
    }
    auto done = handle(*trigger, d);
    if (!done)
      (void)d->nack(done.error().to_string());
    else if (!*done)
      (void)d->nack("a processor did not complete; redelivery runs what is left");
    else
      (void)d->ack();
  });
}

}  // namespace nba_services
