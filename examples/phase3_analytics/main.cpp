// phase3_analytics: the service's executable (its code is phase3::service_main, which pipelinectl's
// `service phase3_analytics` runs too).
#include "phase3_analytics/analytics_processors.hpp"

int main(int argc, char** argv) { return phase3::service_main(argc, argv); }
