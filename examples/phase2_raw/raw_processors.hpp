#pragma once
/// @file
/// Phase 2 of the example pipeline: one raw processor per Phase 1 feed, loading the scraped
/// file its trigger names into the raw table of the same name (idempotent upserts keyed by
/// date and entity). The injury report detects which players changed (a `ChangeDetector`
/// over status and reason) and upserts only those.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "nba_service_common/service.hpp"
#include "pipeline/change/change_detector.hpp"

namespace phase2 {

inline constexpr std::string_view kPhase = "phase2_raw";

/// The raw processors, one per Phase 1 feed and named after its table. The ONE list both
/// the processors and the Phase 2→3 tracker's expected set come from.
const std::vector<std::string>& raw_processors();

/// A raw processor: loads `metadata.file` of its scraper's completion.
class RawProcessor final : public nba_services::WarehouseProcessor {
 public:
  RawProcessor(CreateKey key, nba_services::ServiceContext& ctx, std::string table, pipeline::ChangeDetector* detector);
  /// The Phase 1 scraper whose completions trigger this processor.
  [[nodiscard]] const std::string& scraper() const noexcept { return scraper_; }

 protected:
  pipeline::Result<pipeline::ProcessResult> process(const pipeline::ProcessRequest& request) override;
  pipeline::Result<std::vector<pipeline::EntitySnapshot>> snapshot_for(pipeline::CalendarDate date,
                                                                       const pipeline::Message* trigger) override;

 private:
  /// The items of the scraped file the trigger names: from `ServiceContext::scraped_in_memory`
  /// when it holds them, else read from the file.
  pipeline::Result<std::shared_ptr<const nba_services::FeedItems>> load_items(const pipeline::Message* trigger) const;
  std::string scraper_;
};

/// The inputs each raw processor checks before it runs (none: its input is the file).
pipeline::Status declare_dependencies(pipeline::DependencyChecker& checker);

/// Phase 2's processors and the service that runs, for each Phase 1 completion, the raw
/// processor of its feed.
struct Phase2 {
  std::unique_ptr<pipeline::ChangeDetector> injury_detector;
  std::vector<std::unique_ptr<RawProcessor>> processors;
  std::unique_ptr<nba_services::PhaseService> service;
};
/// **Errors:** the injury detector's, or `kInvalidArgument` when a processor's options are invalid.
pipeline::Result<Phase2> make_phase2(nba_services::ServiceContext& ctx, nba_services::RunObserver observer = {});

/// The `phase2_raw` service's `main`: its flags (see `--help`), then serving until SIGTERM, or
/// `--once`. Returns pipelinectl's exit codes. Defined in the `phase2_raw_service` library.
int service_main(int argc, char** argv);

}  // namespace phase2
