#pragma once
// The upstream completion the HTTP tests send: Phase 4's, for 2025-11-18.

#include <string>
#include <utility>

#include "pipeline/core/message.hpp"

namespace pipeline::testing {

inline pipeline::Message phase4_completion(std::string execution_id = "exec-1") {
  pipeline::Message m;
  m.processor_name = "ml_feature_store";
  m.phase = "phase4_precompute";
  m.execution_id = std::move(execution_id);
  m.partition_date = *pipeline::CalendarDate::parse("2025-11-18");
  return m;
}

}  // namespace pipeline::testing
