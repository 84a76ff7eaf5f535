// pipelinectl phase5 start|trigger|retry|status: the Phase 5 coordinator's operations from
// the shell, on the store alone. Readiness and the expected entities are what the last
// upstream completion told the coordinator (StoredUpstream); what is predicted is the work
// the prediction workers finished. Work is enqueued in the store's outbox, where the
// services' relay publishes it; this process waits for nothing: a batch it leaves waiting
// is decided by the coordinator's next start or recover once its wait is overdue.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <string>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "command.hpp"
#include "pipeline/alert/alert_manager.hpp"
#include "pipeline/alert/callback_sink.hpp"
#include "pipeline/coordinate/batch_coordinator.hpp"
#include "pipeline/coordinate/stored_upstream.hpp"
#include "pipeline/core/system_clock.hpp"
#include "store_uri.hpp"

namespace cmd_phase5 {

enum class Op { kStart, kTrigger, kRetry, kStatus };

struct Options {
  std::string store;
  std::string date;
  std::string message;  // trigger: a file, or - for stdin
  bool force = false;
  bool json = false;
  std::string worker = "phase5-prediction-worker";
  pipeline::BatchCoordinatorOptions coordinator;
};

const char* name(Op op) {
  switch (op) {
    case Op::kStart: return "start";
    case Op::kTrigger: return "trigger";
    case Op::kRetry: return "retry";
    case Op::kStatus: return "status";
  }
  return "?";
}

/// 0 when the batch went ahead or is done; 3 when it waits or was refused (not ready).
int exit_for(pipeline::BatchOutcome o) {
  switch (o) {
    case pipeline::BatchOutcome::kWaiting:
    case pipeline::BatchOutcome::kRefused: return pipelinectl::kExitNotReady;
    default: return pipelinectl::kExitOk;
  }
}

int run(Op op, const Options& opts) {
  const std::string what = fmt::format("pipelinectl phase5 {}", name(op));
  pipeline::CalendarDate date;
  if (op != Op::kTrigger) {
    auto d = pipeline::CalendarDate::parse(opts.date);
    if (!d) {
      std::fprintf(stderr, "%s: --date: %s\n", what.c_str(), d.error().message.c_str());
      return pipelinectl::kExitUsage;
    }
    date = *d;
  }
  if (auto st = opts.coordinator.validate(); !st) return pipelinectl::options_error_exit(what, st.error());
  std::string payload;
  if (op == Op::kTrigger) {
    if (opts.message == "-") {
      payload.assign(std::istreambuf_iterator<char>(std::cin), {});
    } else {
      std::ifstream in(opts.message, std::ios::binary);
      if (!in) {
        std::fprintf(stderr, "%s: cannot read --message %s\n", what.c_str(), opts.message.c_str());
        return pipelinectl::kExitUsage;
      }
      payload.assign(std::istreambuf_iterator<char>(in), {});
    }
  }
  auto store = pipelinectl::open_store(opts.store);
  if (!store) {
    std::fprintf(stderr, "%s: %s\n", what.c_str(), store.error().message.c_str());
    return pipelinectl::store_error_exit(store.error());
  }
  pipeline::SystemClock clock;
  // Alerts go to stderr, one line each: an operator at a shell is the sink.
  auto sink = pipeline::CallbackAlertSinkMt::create([](const pipeline::Alert& a) {
    std::fprintf(stderr, "alert %s %s: %s\n", std::string(pipeline::to_string(a.severity)).c_str(), a.key.c_str(),
                 a.message.c_str());
  });
  if (!sink) return pipelinectl::options_error_exit(what, sink.error());
  auto alerts = pipeline::AlertManager::create(clock, {*sink});
  if (!alerts) return pipelinectl::options_error_exit(what, alerts.error());
  auto created_upstream = pipeline::StoredUpstream::create(**store, {opts.coordinator.key_prefix, opts.worker});
  if (!created_upstream) return pipelinectl::options_error_exit(what, created_upstream.error());
  pipeline::StoredUpstream& upstream = *created_upstream;
  auto created = pipeline::BatchCoordinator::create(clock, **store, **alerts, upstream, upstream, opts.coordinator);
  if (!created) return pipelinectl::options_error_exit(what, created.error());
  pipeline::BatchCoordinator& coordinator = **created;

  if (op == Op::kStatus) {
    // Without an upstream entity list (a pipeline whose completions do not carry one),
    // the rows alone still tell the batch's state.
    auto summary = upstream.summary(date);
    if (!summary) {
      std::fprintf(stderr, "%s: %s\n", what.c_str(), summary.error().to_string().c_str());
      return pipelinectl::kExitFailed;
    }
    const bool listed = *summary && (*summary)->entities;
    auto report = listed ? coordinator.status(date)
                         : pipeline::BatchCoordinator::load_report(**store, opts.coordinator.key_prefix, date);
    if (!report) {
      std::fprintf(stderr, "%s: %s\n", what.c_str(), report.error().to_string().c_str());
      return pipelinectl::kExitFailed;
    }
    if (opts.json) {
      std::printf("%s\n", report->to_json().dump(2).c_str());
    } else if (report->batch_id.empty()) {
      std::fprintf(stderr, "no Phase 5 batch for %s yet\n", date.to_string().c_str());
    } else {
      const auto why = report->no_go_reasons();
      std::printf("%s\n", fmt::format("{} {}: predicted {} of {} ({:.1f}%), {} missing; {}", report->batch_id,
                                      pipeline::to_string(report->state), report->done, report->expected,
                                      100.0 * report->completion_rate, report->missing.size(),
                                      why.empty() ? std::string("GO") : "NO-GO: " + fmt::format("{}", fmt::join(why, "; ")))
                              .c_str());
    }
    if (report->batch_id.empty()) return pipelinectl::kExitOk;  // nothing recorded yet
    return report->state == pipeline::BatchState::kComplete ? pipelinectl::kExitOk : pipelinectl::kExitNotReady;
  }

  pipeline::Result<pipeline::BatchResult> r =
      op == Op::kStart     ? coordinator.start(date, opts.force, pipeline::BatchTrigger::kManual)
      : op == Op::kTrigger ? coordinator.trigger_payload(payload)
                           : coordinator.retry(date);
  if (!r) {
    std::fprintf(stderr, "%s: %s\n", what.c_str(), r.error().to_string().c_str());
    const auto code = r.error().code;
    return code == pipeline::ErrorCode::kInvalidArgument || code == pipeline::ErrorCode::kFailedPrecondition
               ? pipelinectl::kExitUsage
               : pipelinectl::kExitFailed;
  }
  if (opts.json) {
    nlohmann::json j{{"batch_id", r->batch_id},
                     {"status", std::string(pipeline::to_string(r->status))},
                     {"message", r->message},
                     {"attempt", r->attempt},
                     {"version", r->version},
                     {"enqueued", r->published.size()}};
    std::printf("%s\n", j.dump(2).c_str());
  } else {
    std::printf("%s\n", fmt::format("{} {}: {}{}", r->batch_id.empty() ? "-" : r->batch_id, pipeline::to_string(r->status),
                                    r->message,
                                    r->published.empty() ? std::string()
                                                         : fmt::format(" ({} work messages in the outbox)", r->published.size()))
                            .c_str());
  }
  return exit_for(r->status);
}

const pipelinectl::Registrar kRegistrar{
    {"phase5", "Run the Phase 5 coordinator's start, trigger, retry and status from the shell",
     [](CLI::App& sub) -> pipelinectl::Runner {
       auto opts = std::make_shared<Options>();
       auto op = std::make_shared<Op>(Op::kStatus);
       sub.require_subcommand(1);
       auto common = [&](CLI::App* c, bool with_date) {
         pipelinectl::add_required_store_option(*c, opts->store);
         if (with_date) c->add_option("--date", opts->date, "The game date, YYYY-MM-DD")->required();
         c->add_option("--prefix", opts->coordinator.key_prefix, "The coordinator's key prefix (default phase5)");
         c->add_option("--work-topic", opts->coordinator.work_topic, "Where work messages go");
         c->add_option("--complete-topic", opts->coordinator.complete_topic, "Where the completion goes");
         c->add_option("--expected-phase", opts->coordinator.expected_phase, "The phase trigger accepts");
         c->add_option("--entity-kind", opts->coordinator.entity_kind, "The entity kind the upstream lists");
         c->add_option("--worker", opts->worker, "The prediction workers' consumer name");
         c->add_flag("--json", opts->json, "Machine output on stdout");
       };
       CLI::App* start = sub.add_subcommand("start", "Start (or find) the date's batch; exit 3 if it waits or is refused");
       common(start, true);
       start->add_flag("--force", opts->force, "Start a new batch even when one completed");
       start->callback([op] { *op = Op::kStart; });
       CLI::App* trigger = sub.add_subcommand("trigger", "Hand the coordinator an upstream completion message");
       common(trigger, false);
       trigger->add_option("--message", opts->message, "The unified completion, a file or - for stdin")->required();
       trigger->callback([op] { *op = Op::kTrigger; });
       CLI::App* retry = sub.add_subcommand("retry", "Enqueue work for the entities still missing");
       common(retry, true);
       retry->callback([op] { *op = Op::kRetry; });
       CLI::App* status = sub.add_subcommand("status", "The date's batch, coverage and Go/No-Go; exit 3 unless complete");
       common(status, true);
       status->callback([op] { *op = Op::kStatus; });
       return [opts, op] { return run(*op, *opts); };
     }}};

}  // namespace cmd_phase5
