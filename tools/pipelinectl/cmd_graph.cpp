// pipelinectl graph: the trigger graph of the NBA preset as Graphviz DOT; with --date,
// each upstream processor coloured done / missing / failed from the trackers' rows.
#include <cstdio>
#include <map>
#include <memory>
#include <string>

#include "command.hpp"
#include "pipeline/core/calendar_date.hpp"
#include "pipeline/orchestrate/completion_tracker.hpp"
#include "nba_synthetic/nba_preset.hpp"
#include "store_uri.hpp"

namespace cmd_graph {

struct Options {
  std::string date;
  std::string store = "memory";
};

int run(const Options& opts) {
  const pipeline::TriggerRegistry registry = nba::trigger_preset();
  std::map<std::string, pipeline::ProcessorState, std::less<>> states;
  if (!opts.date.empty()) {
    auto date = pipeline::CalendarDate::parse(opts.date);
    if (!date) {
      std::fprintf(stderr, "pipelinectl graph: --date: %s\n", date.error().message.c_str());
      return pipelinectl::kExitUsage;
    }
    auto store = pipelinectl::open_store(opts.store);
    if (!store) {
      std::fprintf(stderr, "pipelinectl graph: %s\n", store.error().message.c_str());
      return pipelinectl::store_error_exit(store.error());
    }
    auto statuses = pipelinectl::load_tracker_statuses(**store, *date);
    if (!statuses) {
      std::fprintf(stderr, "pipelinectl graph: %s\n", statuses.error().to_string().c_str());
      return pipelinectl::kExitFailed;
    }
    for (const auto& s : *statuses)
      for (const auto& [name, state] : s.processor_states()) states[name] = state;
  } else if (opts.store != "memory") {
    if (auto uri = pipelinectl::parse_store_uri(opts.store); !uri) {
      std::fprintf(stderr, "pipelinectl graph: %s\n", uri.error().message.c_str());
      return pipelinectl::kExitUsage;
    }
  }
  std::fputs(registry.to_dot(states).c_str(), stdout);
  return pipelinectl::kExitOk;
}

const pipelinectl::Registrar kRegistrar{
    {"graph", "Print the trigger graph (Graphviz DOT); with --date, colour done / missing / failed",
     [](CLI::App& sub) -> pipelinectl::Runner {
       auto opts = std::make_shared<Options>();
       sub.add_option("--date", opts->date, "Colour the processors by their state on this date (YYYY-MM-DD)");
       sub.add_option("--store", opts->store, "memory | sqlite:PATH")->capture_default_str();
       return [opts] { return run(*opts); };
     }}};

}  // namespace cmd_graph
