#pragma once
// The status page as `pipelinectl serve` and examples/phase5_coordinator mount it, with
// the Phase 5 preset's calendar: the default date is today's game date (the US Eastern
// calendar day) and the next firings are the Phase 5 daily jobs' in US Pacific time.
// Built into pipeline_cli when pipeline::http and pipeline::schedule are.

#include <string>

#include "pipeline/core/clock.hpp"
#include "pipeline/core/result.hpp"
#include "pipeline/core/state_store.hpp"
#include "pipeline/http/http_server.hpp"
#include "pipeline/http/router.hpp"
#include "pipeline/orchestrate/outbox_relay.hpp"

namespace pipelinectl {

/// `pipeline::http::mount_status_page` over `store`, showing the next four Phase 5 firings;
/// a replay from the page wakes `relay` (when given; a started one, e.g. the service
/// runtime's), so it is published at once rather than at the next poll. Call it after
/// `server.token` is set. **Errors:** as `mount_status_page`.
pipeline::Status mount_status_page(pipeline::http::Router& router, pipeline::http::HttpServerOptions& server,
                                   pipeline::StateStore& store, pipeline::Clock& clock, std::string phase5_prefix,
                                   pipeline::OutboxRelay* relay);

}  // namespace pipelinectl
