#pragma once
/// @file
/// Umbrella header of `pipeline::core` (compiled; `PIPELINE_HEADER_ONLY` for the
/// header-only build), layer by layer: declarations only — the `-inl.hpp` bodies come in
/// only when `PIPELINE_HEADER_ONLY` is defined. The compiled adapters
/// (`pipeline/sqlite/…`, `pipeline/schedule/…`) and the test doubles (`pipeline/mocks/…`)
/// are included on their own; presets and adapters of one particular pipeline live with
/// that pipeline's examples, never here.

#include "pipeline/version.hpp"

#include "pipeline/core/alert_sink.hpp"
#include "pipeline/core/calendar_date.hpp"
#include "pipeline/core/clock.hpp"
#include "pipeline/core/config.hpp"
#include "pipeline/core/decode_limits.hpp"
#include "pipeline/core/entity_id.hpp"
#include "pipeline/core/enum_names.hpp"
#include "pipeline/core/error.hpp"
#include "pipeline/core/ids.hpp"
#include "pipeline/core/legacy_messages.hpp"
#include "pipeline/core/manual_clock.hpp"
#include "pipeline/core/message.hpp"
#include "pipeline/core/message_codec.hpp"
#include "pipeline/core/metrics_sink.hpp"
#include "pipeline/core/result.hpp"
#include "pipeline/core/state_store.hpp"
#include "pipeline/core/system_clock.hpp"
#include "pipeline/core/timestamp.hpp"
#include "pipeline/core/topics.hpp"
#include "pipeline/core/trace_context.hpp"
#include "pipeline/core/transport.hpp"

#include "pipeline/memory/memory_state_store.hpp"
#include "pipeline/memory/memory_transport.hpp"
#include "pipeline/memory/memory_transport_options.hpp"
#include "pipeline/memory/metrics_registry.hpp"

#include "pipeline/publish/retry_policy.hpp"
#include "pipeline/publish/unified_publisher.hpp"

#include "pipeline/alert/alert_manager.hpp"
#include "pipeline/alert/callback_sink.hpp"
#include "pipeline/alert/coverage_rules.hpp"
#include "pipeline/alert/digest.hpp"
#include "pipeline/alert/rate_limiter.hpp"
#include "pipeline/alert/sink_base.hpp"
#include "pipeline/alert/structured_log_sink.hpp"
#include "pipeline/alert/store_alert_sink.hpp"

#include "pipeline/orchestrate/completion_tracker.hpp"
#include "pipeline/orchestrate/dead_letter_recorder.hpp"
#include "pipeline/orchestrate/dependency_checker.hpp"
#include "pipeline/orchestrate/idempotent_consumer.hpp"
#include "pipeline/orchestrate/outbox_relay.hpp"
#include "pipeline/orchestrate/registry_store.hpp"
#include "pipeline/orchestrate/run_history.hpp"
#include "pipeline/orchestrate/run_until_quiet.hpp"
#include "pipeline/orchestrate/tracker_subscription.hpp"
#include "pipeline/orchestrate/trigger_registry.hpp"

#include "pipeline/change/change_detector.hpp"
#include "pipeline/change/fingerprint.hpp"
#include "pipeline/change/fingerprint_table.hpp"
#include "pipeline/change/query_change_detector.hpp"
#include "pipeline/change/selective_filter.hpp"

#include "pipeline/process/processor.hpp"

#include "pipeline/coordinate/batch_coordinator.hpp"
#include "pipeline/coordinate/fired_jobs.hpp"
#include "pipeline/coordinate/hybrid_trigger.hpp"
#include "pipeline/coordinate/prediction_worker.hpp"
#include "pipeline/coordinate/readiness_gate.hpp"
#include "pipeline/coordinate/scheduler.hpp"
#include "pipeline/coordinate/stored_upstream.hpp"
#include "pipeline/runtime/date_status.hpp"
#include "pipeline/runtime/retention.hpp"
