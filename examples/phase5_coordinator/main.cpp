// phase5_coordinator: the service's executable (its code is nba::phase5::service_main,
// which pipelinectl's `service phase5_coordinator` runs too).
#include "phase5_coordinator/phase5.hpp"

int main(int argc, char** argv) { return nba::phase5::service_main(argc, argv); }
