// phase2_raw: the service's executable (its code is phase2::service_main, which pipelinectl's
// `service phase2_raw` runs too).
#include "phase2_raw/raw_processors.hpp"

int main(int argc, char** argv) { return phase2::service_main(argc, argv); }
