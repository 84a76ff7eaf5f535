// The compiled bodies of the runtime layer: every include/pipeline/runtime/*-inl.hpp, compiled
// once into pipeline::core (see pipeline/core/config.hpp).
#ifdef PIPELINE_HEADER_ONLY
#error "src/core is the compiled build; a header-only build includes the -inl.hpp files itself"
#endif

#include "pipeline/core/config.hpp"
#include "pipeline/runtime/date_status-inl.hpp"
#include "pipeline/runtime/retention-inl.hpp"
#include "pipeline/runtime/service_runtime-inl.hpp"
