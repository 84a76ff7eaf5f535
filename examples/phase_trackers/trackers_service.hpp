#pragma once
/// @file
/// The `phase_trackers` service: the example pipeline's three completion trackers (2→3,
/// 3→4, 4→5) in one long-running process over `--transport` and `--store`.

namespace phase_trackers {

/// The service's `main`: its flags (see `--help`), then serving until SIGTERM. Returns
/// pipelinectl's exit codes. Defined in the `phase_trackers_service` library.
int service_main(int argc, char** argv);

}  // namespace phase_trackers
