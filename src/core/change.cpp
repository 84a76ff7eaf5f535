// The compiled bodies of the change layer: every include/pipeline/change/*-inl.hpp, compiled
// once into pipeline::core (see pipeline/core/config.hpp).
#ifdef PIPELINE_HEADER_ONLY
#error "src/core is the compiled build; a header-only build includes the -inl.hpp files itself"
#endif

#include "pipeline/core/config.hpp"
// First: it inlines xxHash (XXH_INLINE_ALL) for every body below that hashes.
#include "pipeline/change/fingerprint-inl.hpp"
#include "pipeline/change/change_detector-inl.hpp"
#include "pipeline/change/change_set-inl.hpp"
#include "pipeline/change/fingerprint_change_detector-inl.hpp"
#include "pipeline/change/fingerprint_table-inl.hpp"
#include "pipeline/change/selective_filter-inl.hpp"
#include "pipeline/change/query_change_detector-inl.hpp"
