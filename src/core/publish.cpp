// The compiled bodies of the publish layer: every include/pipeline/publish/*-inl.hpp, compiled
// once into pipeline::core (see pipeline/core/config.hpp).
#ifdef PIPELINE_HEADER_ONLY
#error "src/core is the compiled build; a header-only build includes the -inl.hpp files itself"
#endif

#include "pipeline/core/config.hpp"
#include "pipeline/publish/connection-inl.hpp"
#include "pipeline/publish/retry_policy-inl.hpp"
#include "pipeline/publish/send_step-inl.hpp"
#include "pipeline/publish/unified_publisher-inl.hpp"
