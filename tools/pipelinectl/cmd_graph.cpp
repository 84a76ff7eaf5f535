// pipelinectl graph: the trigger graph recorded in the store (every tracker stores the
// registry it was created with; see pipeline/orchestrate/registry_store.hpp) as Graphviz
// DOT; with --date, each upstream processor coloured done / missing / failed from the
// trackers' rows.
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "command.hpp"
#include "pipeline/core/calendar_date.hpp"
#include "pipeline/orchestrate/registry_store.hpp"
#include "pipeline/orchestrate/trigger_registry.hpp"
#include "pipeline/runtime/date_status.hpp"
#include "store_uri.hpp"

namespace cmd_graph {

struct Options {
  std::string date;
  std::string store;
};

int run(const Options& opts) {
  std::optional<pipeline::CalendarDate> date;
  if (!opts.date.empty()) {
    auto parsed = pipeline::CalendarDate::parse(opts.date);
    if (!parsed) {
      std::fprintf(stderr, "pipelinectl graph: --date: %s\n", parsed.error().message.c_str());
      return pipelinectl::kExitUsage;
    }
    date = *parsed;
  }
  auto store = pipelinectl::open_store(opts.store);
  if (!store) {
    std::fprintf(stderr, "pipelinectl graph: %s\n", store.error().message.c_str());
    return pipelinectl::store_error_exit(store.error());
  }
  auto registry = pipeline::load_registry(**store);
  if (!registry) {
    std::fprintf(stderr, "pipelinectl graph: %s\n", registry.error().to_string().c_str());
    return pipelinectl::kExitFailed;
  }
  if (!*registry) {
    std::fprintf(stderr,
                 "pipelinectl graph: nothing recorded: no trigger registry in this store yet (a CompletionTracker "
                 "stores its registry when it is created)\n");
    return pipelinectl::kExitOk;
  }
  std::map<std::string, pipeline::ProcessorState, std::less<>> states;
  if (date) {
    auto statuses = pipeline::load_tracker_statuses(**store, *date);
    if (!statuses) {
      std::fprintf(stderr, "pipelinectl graph: %s\n", statuses.error().to_string().c_str());
      return pipelinectl::kExitFailed;
    }
    for (const auto& s : *statuses)
      for (const auto& [name, state] : s.processor_states()) states[name] = state;
  }
  std::fputs((*registry)->to_dot(states).c_str(), stdout);
  return pipelinectl::kExitOk;
}

const pipelinectl::Registrar kRegistrar{
    {"graph", "Print the trigger graph recorded in the store (Graphviz DOT); with --date, colour done / missing / failed",
     [](CLI::App& sub) -> pipelinectl::Runner {
       auto opts = std::make_shared<Options>();
       sub.add_option("--date", opts->date, "Colour the processors by their state on this date (YYYY-MM-DD)");
       pipelinectl::add_required_store_option(sub, opts->store);
       return [opts] { return run(*opts); };
     }}};

}  // namespace cmd_graph
