// The compiled bodies of the orchestrate layer: every include/pipeline/orchestrate/*-inl.hpp, compiled
// once into pipeline::core (see pipeline/core/config.hpp).
#ifdef PIPELINE_HEADER_ONLY
#error "src/core is the compiled build; a header-only build includes the -inl.hpp files itself"
#endif

#include "pipeline/core/config.hpp"

#include "pipeline/orchestrate/completion_tracker-inl.hpp"
#include "pipeline/orchestrate/tracker_subscription-inl.hpp"
#include "pipeline/orchestrate/run_until_quiet-inl.hpp"
#include "pipeline/orchestrate/tracker_keys-inl.hpp"
#include "pipeline/orchestrate/tracker_records-inl.hpp"
#include "pipeline/orchestrate/tracker_status-inl.hpp"
#include "pipeline/orchestrate/outbox_relay-inl.hpp"
#include "pipeline/orchestrate/dead_letter_recorder-inl.hpp"
#include "pipeline/orchestrate/dependency_checker-inl.hpp"
#include "pipeline/orchestrate/idempotent_consumer-inl.hpp"
#include "pipeline/orchestrate/run_history-inl.hpp"
#include "pipeline/orchestrate/trigger_registry-inl.hpp"
#include "pipeline/orchestrate/registry_store-inl.hpp"
