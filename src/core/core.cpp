// The compiled bodies of the core layer: every include/pipeline/core/*-inl.hpp, compiled
// once into pipeline::core (see pipeline/core/config.hpp).
#ifdef PIPELINE_HEADER_ONLY
#error "src/core is the compiled build; a header-only build includes the -inl.hpp files itself"
#endif

#include "pipeline/core/config.hpp"

#include "pipeline/core/json_reader-inl.hpp"
#include "pipeline/core/json_writer-inl.hpp"
#include "pipeline/core/message_codec-inl.hpp"
#include "pipeline/core/entity_id-inl.hpp"
#include "pipeline/core/state_store-inl.hpp"
#include "pipeline/core/sql_transaction-inl.hpp"
#include "pipeline/core/uri_parameter-inl.hpp"
#include "pipeline/core/timestamp-inl.hpp"
#include "pipeline/core/system_clock-inl.hpp"
#include "pipeline/core/error-inl.hpp"
#include "pipeline/core/ids-inl.hpp"
#include "pipeline/core/trace_context-inl.hpp"
#include "pipeline/core/calendar_date-inl.hpp"
#include "pipeline/core/manual_clock-inl.hpp"
#include "pipeline/core/topics-inl.hpp"
#include "pipeline/core/json_object-inl.hpp"
#include "pipeline/core/message-inl.hpp"
#include "pipeline/core/legacy_messages-inl.hpp"
