#include "status_page_setup.hpp"

#include <chrono>
#include <memory>
#include <utility>
#include <vector>

#include "pipeline/http/status_page.hpp"
#include "pipeline/schedule/daily_schedule.hpp"
#include "pipeline/schedule/local_time.hpp"

namespace pipelinectl {

pipeline::Status mount_status_page(pipeline::http::Router& router, pipeline::http::HttpServerOptions& server,
                                   pipeline::StateStore& store, pipeline::Clock& clock, std::string phase5_prefix,
                                   pipeline::OutboxRelay* relay) {
  pipeline::http::StatusPageOptions page;
  page.store = &store;
  page.clock = &clock;
  page.phase5_prefix = std::move(phase5_prefix);
  page.game_date = [](pipeline::TimePoint now) {
    auto d = pipeline::game_date_of(now);
    // The zone is a constant; should the tz database lack it, the UTC day is the nearest answer.
    return d ? *d : pipeline::CalendarDate(std::chrono::floor<std::chrono::days>(now));
  };
  if (auto schedule = pipeline::DailySchedule::phase5()) {  // else (no tz database) no schedule section
    page.next_firings = [s = std::make_shared<const pipeline::DailySchedule>(std::move(*schedule))](pipeline::TimePoint now) {
      std::vector<pipeline::http::ScheduledFiring> out;
      for (auto next = s->next_after(now); next && out.size() < 4; next = s->next_after(next->at))
        out.push_back({next->job, next->at,
                       next->wall.to_rfc3339() + " " + next->wall.abbreviation + " (" + s->zone_name() + ")"});
      return out;
    };
  }
  if (relay != nullptr) page.after_replay = [relay] { relay->notify(); };
  return pipeline::http::mount_status_page(router, server, std::move(page));
}

}  // namespace pipelinectl
