// phase_trackers: the service's executable (its code is phase_trackers::service_main, which
// pipelinectl's `service phase_trackers` runs too).
#include "phase_trackers/trackers_service.hpp"

int main(int argc, char** argv) { return phase_trackers::service_main(argc, argv); }
