// pipelinectl prune: deletes the state rows of old game dates (pipeline::Retention), counted
// back from the newest date in the store, never what is live, unsent or undated.
#include <cstdio>
#include <memory>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "command.hpp"
#include "pipeline/core/system_clock.hpp"
#include "pipeline/runtime/retention.hpp"
#include "store_uri.hpp"

namespace cmd_prune {

struct Options {
  std::string store;
  std::string older_than;
  bool dry_run = false;
  bool json = false;
};

int run(const Options& opts) {
  auto older_than = pipeline::parse_retention_duration(opts.older_than);
  if (!older_than) {
    std::fprintf(stderr, "pipelinectl prune: --older-than: %s\n", older_than.error().message.c_str());
    return pipelinectl::kExitUsage;
  }
  auto store = pipelinectl::open_store(opts.store);
  if (!store) {
    std::fprintf(stderr, "pipelinectl prune: %s\n", store.error().message.c_str());
    return pipelinectl::store_error_exit(store.error());
  }
  pipeline::SystemClock clock;  // only to tell a run-history lease that still runs
  pipeline::RetentionOptions options;
  options.older_than = *older_than;
  options.dry_run = opts.dry_run;
  auto retention = pipeline::Retention::create(clock, **store, options);
  if (!retention) {
    std::fprintf(stderr, "pipelinectl prune: %s\n", retention.error().message.c_str());
    return pipelinectl::kExitUsage;
  }
  auto report = (*retention)->run_once();
  if (!report) {
    std::fprintf(stderr, "pipelinectl prune: %s\n", report.error().to_string().c_str());
    return pipelinectl::kExitFailed;
  }
  if (opts.json) {
    std::printf("%s\n", report->to_json().dump(2).c_str());
    return pipelinectl::kExitOk;
  }
  if (!report->newest) {
    std::printf("nothing to prune: the store holds no dated rows\n");
    return pipelinectl::kExitOk;
  }
  std::string out = fmt::format("newest game date {}; {} rows of dates before {}\n", *report->newest,
                                report->dry_run ? "would delete the" : "deleted the", *report->oldest_kept);
  for (const auto& [family, n] : report->deleted) {
    const auto live = report->kept_live.find(family);
    out += fmt::format("  {:<20} {:>8}{}\n", family, n,
                       live == report->kept_live.end() ? "" : fmt::format("  ({} live, kept)", live->second));
  }
  out += report->outbox_deleted ? fmt::format("  {:<20} {:>8}\n", "outbox (sent)", *report->outbox_deleted)
                                 : fmt::format("  {:<20} {:>8}\n", "outbox (sent)", "not counted in a dry run");
  out += fmt::format("{} rows {}\n", report->total(), report->dry_run ? "would go (dry run: nothing deleted)" : "deleted");
  std::fputs(out.c_str(), stdout);
  return pipelinectl::kExitOk;
}

const pipelinectl::Registrar kRegistrar{
    {"prune", "Delete the state rows of game dates older than a window (never what is live or unsent)",
     [](CLI::App& sub) -> pipelinectl::Runner {
       auto opts = std::make_shared<Options>();
       pipelinectl::add_required_store_option(sub, opts->store);
       sub.add_option("--older-than", opts->older_than,
                      "Keep the newest game date and this much before it: 3d, 72h (at least the 72h redelivery "
                      "horizon)")
           ->required();
       sub.add_flag("--dry-run", opts->dry_run, "Count what would go; delete nothing");
       sub.add_flag("--json", opts->json, "Machine output on stdout");
       return [opts] { return run(*opts); };
     }}};

}  // namespace cmd_prune
