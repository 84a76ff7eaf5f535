// The compiled bodies of the alert layer: every include/pipeline/alert/*-inl.hpp, compiled
// once into pipeline::core (see pipeline/core/config.hpp).
#ifdef PIPELINE_HEADER_ONLY
#error "src/core is the compiled build; a header-only build includes the -inl.hpp files itself"
#endif

#include "pipeline/core/config.hpp"
#include "pipeline/alert/alert_manager-inl.hpp"
#include "pipeline/alert/rate_limiter-inl.hpp"
#include "pipeline/alert/coverage_rules-inl.hpp"
#include "pipeline/alert/digest-inl.hpp"
#include "pipeline/alert/structured_log_sink-inl.hpp"
#include "pipeline/alert/store_alert_sink-inl.hpp"
