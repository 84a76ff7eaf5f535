#pragma once
// What several snippet tests share: a valid upstream completion message.

#include <string>

#include "pipeline/core/calendar_date.hpp"
#include "pipeline/core/message.hpp"

namespace pipeline::snippets {

/// A Phase 2 completion of `processor` for `date`, valid for `validate_message`.
inline Message completion(std::string processor, std::string execution_id = "exec-1",
                          std::string_view date = "2025-11-18") {
  Message m;
  m.processor_name = std::move(processor);
  m.phase = "phase2_raw";
  m.execution_id = std::move(execution_id);
  m.partition_date = *CalendarDate::parse(date);
  return m;
}

}  // namespace pipeline::snippets
