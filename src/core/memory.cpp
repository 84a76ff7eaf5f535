// The compiled bodies of the memory layer: every include/pipeline/memory/*-inl.hpp, compiled
// once into pipeline::core (see pipeline/core/config.hpp).
#ifdef PIPELINE_HEADER_ONLY
#error "src/core is the compiled build; a header-only build includes the -inl.hpp files itself"
#endif

#include "pipeline/core/config.hpp"

#include "pipeline/memory/memory_transport-inl.hpp"
#include "pipeline/memory/memory_transport_core-inl.hpp"
#include "pipeline/memory/memory_state_store-inl.hpp"
#include "pipeline/memory/metrics_registry-inl.hpp"
