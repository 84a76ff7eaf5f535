// phase4_precompute: the service's executable (its code is phase4::service_main, which pipelinectl's
// `service phase4_precompute` runs too).
#include "phase4_precompute/precompute_processors.hpp"

int main(int argc, char** argv) { return phase4::service_main(argc, argv); }
