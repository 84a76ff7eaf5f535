// pipelinectl dlq list|replay: the dead letters DeadLetterRecorder stored as rows
// (`dlq/<subscription>/<id>`), readable and replayable after the producing process ended.
#include <cstdio>
#include <memory>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "command.hpp"
#include "pipeline/core/timestamp.hpp"
#include "pipeline/orchestrate/dead_letter_recorder.hpp"
#include "store_uri.hpp"

namespace cmd_dlq {

struct Options {
  std::string store;
  std::string subscription;
  std::string id;
  bool pending_only = false;
  bool json = false;
};

/// The first line of a possibly long error, cut to `width` for the table.
std::string one_line(const std::string& s, std::size_t width) {
  std::string out = s.substr(0, s.find('\n'));
  if (out.size() > width) out = out.substr(0, width - 3) + "...";
  return out;
}

int run_list(const Options& opts) {
  auto store = pipelinectl::open_store(opts.store);
  if (!store) {
    std::fprintf(stderr, "pipelinectl dlq list: %s\n", store.error().message.c_str());
    return pipelinectl::store_error_exit(store.error());
  }
  auto rows = pipeline::DeadLetterRecorder::list(**store, {opts.subscription, !opts.pending_only});
  if (!rows) {
    std::fprintf(stderr, "pipelinectl dlq list: %s\n", rows.error().to_string().c_str());
    return pipelinectl::kExitFailed;
  }
  if (opts.json) {
    nlohmann::json j{{"dead_letters", nlohmann::json::array()}, {"count", rows->size()}};
    for (const auto& r : *rows) j["dead_letters"].push_back(r.to_json());
    std::printf("%s\n", j.dump(2).c_str());
    return pipelinectl::kExitOk;
  }
  if (rows->empty()) {
    std::printf("no dead letters\n");
    return pipelinectl::kExitOk;
  }
  std::string out = fmt::format("{:<40} {:<28} {:>8} {:>8}  {:<20}  {}\n", "id", "subscription", "attempts",
                                "replayed", "recorded", "last error");
  for (const auto& r : *rows)
    out += fmt::format("{:<40} {:<28} {:>8} {:>8}  {:<20}  {}\n", r.id, r.subscription, r.attempts, r.replayed,
                       pipeline::format_rfc3339(r.recorded_at), one_line(r.last_error, 60));
  out += fmt::format("{} dead letter(s)\n", rows->size());
  std::fputs(out.c_str(), stdout);
  return pipelinectl::kExitOk;
}

int run_replay(const Options& opts) {
  auto store = pipelinectl::open_store(opts.store);
  if (!store) {
    std::fprintf(stderr, "pipelinectl dlq replay: %s\n", store.error().message.c_str());
    return pipelinectl::store_error_exit(store.error());
  }
  auto r = pipeline::DeadLetterRecorder::replay(**store, opts.id);
  if (!r) {
    std::fprintf(stderr, "pipelinectl dlq replay: %s\n", r.error().message.c_str());
    // An unknown or ambiguous id is bad input (2); anything else (the store) a failure (1).
    return r.error().code == pipeline::ErrorCode::kInvalidArgument || r.error().code == pipeline::ErrorCode::kNotFound
               ? pipelinectl::kExitUsage
               : pipelinectl::kExitFailed;
  }
  if (opts.json) {
    nlohmann::json j{{"id", r->record.id}, {"outbox_key", r->outbox_key}, {"dead_letter", r->record.to_json()}};
    std::printf("%s\n", j.dump(2).c_str());
    return pipelinectl::kExitOk;
  }
  std::printf("%s\n", fmt::format("replayed {} to {} with its original id (replay #{}, outbox key {})",
                                  r->record.id, r->record.source_topic, r->record.replayed, r->outbox_key)
                          .c_str());
  return pipelinectl::kExitOk;
}

const pipelinectl::Registrar kRegistrar{
    {"dlq", "List and replay dead letters recorded in the store",
     [](CLI::App& sub) -> pipelinectl::Runner {
       auto opts = std::make_shared<Options>();
       auto which = std::make_shared<int>(0);
       sub.require_subcommand(1);
       CLI::App* list = sub.add_subcommand("list", "List recorded dead letters");
       pipelinectl::add_required_store_option(*list, opts->store);
       list->add_option("--subscription", opts->subscription, "Only this subscription's dead letters");
       list->add_flag("--pending", opts->pending_only, "Only those never replayed");
       list->add_flag("--json", opts->json, "Machine output on stdout");
       list->callback([which] { *which = 1; });
       CLI::App* replay = sub.add_subcommand("replay", "Re-publish one dead letter through the outbox");
       replay->add_option("--id", opts->id, "The dead letter's id, or <subscription>/<id>")->required();
       pipelinectl::add_required_store_option(*replay, opts->store);
       replay->add_flag("--json", opts->json, "Machine output on stdout");
       replay->callback([which] { *which = 2; });
       return [opts, which] { return *which == 2 ? run_replay(*opts) : run_list(*opts); };
     }}};

}  // namespace cmd_dlq
