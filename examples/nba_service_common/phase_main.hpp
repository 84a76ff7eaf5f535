#pragma once
/// @file
/// `run_phase_main`: what the thin `main` of each phase's example service shares — the
/// flags (pipelinectl's `--store` and `--transport`, plus `--warehouse`, `--data-dir`,
/// `--date`, `--once`) and the two ways to run: a long-running service under a
/// `ServiceRuntime`, or one date now (`--once`, for scripts).

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "nba_service_common/service.hpp"
#include "pipeline/core/calendar_date.hpp"
#include "pipeline/core/message.hpp"
#include "pipeline/core/result.hpp"

namespace nba_services {

/// A phase as its `main` builds it: the service, and what keeps its processors alive.
struct BuiltPhase {
  std::shared_ptr<void> keep;
  PhaseService* service = nullptr;
};

/// `phase` (what a phase's `make_phase…` returned) as a `BuiltPhase`: kept alive with its
/// service. **Errors:** `phase`'s.
template <class Phase>
pipeline::Result<BuiltPhase> keep_phase(pipeline::Result<Phase> phase) {
  if (!phase) return pipeline::fail(phase.error());
  auto kept = std::make_shared<Phase>(std::move(*phase));
  return BuiltPhase{kept, kept->service.get()};
}

/// What one phase's `main` supplies to `run_phase_main`.
struct PhaseMain {
  std::string name;   ///< "phase3_analytics": the runtime's name and log prefix.
  std::string about;  ///< The `--help` text.
  /// The trigger topic the service consumes.
  std::function<std::string(const Topics&)> topic;
  /// Declares the processors' inputs (may be empty).
  std::function<pipeline::Status(pipeline::DependencyChecker&)> declare_dependencies;
  /// Builds the phase's processors and service over `ctx`.
  std::function<pipeline::Result<BuiltPhase>(ServiceContext& ctx, RunObserver observer)> build;
  /// `--once`: the triggers to run for `date`, in order.
  std::function<std::vector<pipeline::Message>(pipeline::CalendarDate date, const ServiceContext& ctx)> once;
};

/// Parses the flags and runs the phase. Serving (the default): on `SystemClock`, the
/// service consumes `topic` (one delivery thread: the processors share one warehouse
/// connection; start more processes for more workers), each run's completion goes out
/// right after its commit, and SIGTERM or SIGINT drains it. `--once`: runs `once(date)` on
/// a manual clock at 06:00 ET of the date, publishes the completions through the outbox
/// and exits. Exit codes are pipelinectl's: 0 ok, 1 failed (a run that did not finish, a
/// store or broker that cannot be reached), 2 bad usage.
int run_phase_main(int argc, char** argv, const PhaseMain& spec);

/// A manual full trigger for `date`: no `entities_changed`, so every processor it names
/// (all when `run_processors` is empty) processes everything.
pipeline::Message manual_trigger(pipeline::CalendarDate date, std::string_view phase);

}  // namespace nba_services
