// phase1_scraper: the service's executable (its code is phase1::service_main, which pipelinectl's
// `service phase1_scraper` runs too).
#include "phase1_scraper/scrapers.hpp"

int main(int argc, char** argv) { return phase1::service_main(argc, argv); }
