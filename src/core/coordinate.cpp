// The compiled bodies of the coordinate layer: every include/pipeline/coordinate/*-inl.hpp, compiled
// once into pipeline::core (see pipeline/core/config.hpp).
#ifdef PIPELINE_HEADER_ONLY
#error "src/core is the compiled build; a header-only build includes the -inl.hpp files itself"
#endif

#include "pipeline/core/config.hpp"
#include "pipeline/coordinate/batch_state-inl.hpp"
#include "pipeline/coordinate/prediction_work-inl.hpp"
#include "pipeline/coordinate/batch_records-inl.hpp"
#include "pipeline/coordinate/batch_report-inl.hpp"
#include "pipeline/coordinate/batch_coordinator-inl.hpp"
#include "pipeline/coordinate/batch_coordinator_status-inl.hpp"
#include "pipeline/coordinate/readiness_gate-inl.hpp"
#include "pipeline/coordinate/scheduler-inl.hpp"
#include "pipeline/coordinate/fired_jobs-inl.hpp"
#include "pipeline/coordinate/hybrid_trigger-inl.hpp"
#include "pipeline/coordinate/prediction_worker-inl.hpp"
#include "pipeline/coordinate/stored_upstream-inl.hpp"
