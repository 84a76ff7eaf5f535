#pragma once
/// @file
/// Phase 1 of the example pipeline: one scraper per feed of the synthetic season. A scraper
/// writes what the "source" publishes at the current (simulated) time to a file
/// `<data_dir>/<feed>/<date>/w<wave>.json` and completes with `metadata.feed` and
/// `metadata.file`, the way the seeds' scrapers write to GCS and publish the path (with no
/// `data_dir`, no file; with `ServiceContext::scraped_in_memory`, the items are also kept
/// there under that path).

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "nba_service_common/service.hpp"

namespace phase1 {

inline constexpr std::string_view kPhase = "phase1_scrapers";

/// The feeds the scrapers fetch, in the order the 06:00 schedule starts them. Each name is
/// also the raw table Phase 2 loads it into.
const std::vector<std::string>& feeds();

/// The scraper of `feed`: "<feed>_scraper".
std::string scraper_name(std::string_view feed);

/// 14:00 ET: when the synthetic injury report changes (`nba::Season::injury_update`).
inline constexpr std::chrono::minutes kInjuryUpdateTime{14 * 60};

/// The instant of `kInjuryUpdateTime` on the game date in US Eastern time (19:00Z in
/// standard time, 18:00Z in daylight time). The injury scraper publishes the updated
/// report from then on.
/// **Errors:** `kInvalidArgument` when the tz database does not know America/New_York.
pipeline::Result<pipeline::TimePoint> injury_update_time(pipeline::CalendarDate date);

/// The items of a scraped file of `feed` (its "items" array) as the scraper had them.
/// **Errors:** `kInvalidArgument` for an unknown feed or an item of the wrong shape.
pipeline::Result<nba_services::FeedItems> items_from_json(std::string_view feed, const nlohmann::json& items);

/// A scraper: its step fetches (generates) the feed for the date as of the clock's now and
/// writes the file. Idempotent: the same (date, wave) rewrites the same file. Built by
/// `pipeline::Processor::create<Scraper>(ctx, feed)`.
class Scraper final : public pipeline::Processor {
 public:
  Scraper(CreateKey key, nba_services::ServiceContext& ctx, std::string feed);
  [[nodiscard]] const std::string& feed() const noexcept { return feed_; }

 protected:
  pipeline::Result<pipeline::ProcessResult> process(const pipeline::ProcessRequest& request) override;

 private:
  nba_services::ServiceContext& ctx_;
  std::string feed_;
};

/// Phase 1's processors and the service that runs them on the phase-1 trigger topic.
struct Phase1 {
  std::vector<std::unique_ptr<Scraper>> scrapers;
  std::unique_ptr<nba_services::PhaseService> service;
};
/// The scrapers of `feeds()` and their service. **Errors:** `kInvalidArgument` when a
/// scraper's options are invalid.
pipeline::Result<Phase1> make_phase1(nba_services::ServiceContext& ctx, nba_services::RunObserver observer = {});

/// The scheduler's trigger for Phase 1: runs `scrapers` (all when empty) for `date` as
/// wave `wave`, starting a new correlation id and trace. With `as_of` (metadata `as_of`,
/// RFC 3339) the scrapers fetch what their feeds show at that instant instead of at the
/// clock's now: the scheduled job's own time, for a run whose clock does not reach it
/// (the multi-process demo sends the 14:00 ET injury update in the morning).
pipeline::Message schedule_trigger(pipeline::CalendarDate date, int wave, const std::vector<std::string>& scrapers,
                                   std::string_view reason, std::optional<pipeline::TimePoint> as_of = std::nullopt);

/// The `phase1_scraper` service's `main`: its flags (see `--help`), then serving until SIGTERM, or
/// `--once`. Returns pipelinectl's exit codes. Defined in the `phase1_scraper_service` library.
int service_main(int argc, char** argv);

}  // namespace phase1
