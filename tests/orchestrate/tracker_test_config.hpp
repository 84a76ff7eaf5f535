#pragma once
// The tracker configuration the orchestrate tests share.

#include <chrono>

#include <gtest/gtest.h>

#include "pipeline/orchestrate/completion_tracker.hpp"

namespace pipeline::testing {

// Phase 3's tracker over five upstream processors a..e (deadline 30 min, partial at 60%,
// debounce 5 min): a -> x; b -> x, y; c -> y; d, e -> z. "stray" is a known Phase 2
// processor the tracker does not expect.
inline CompletionTrackerOptions five_processor_config() {
  using std::chrono::minutes;
  CompletionTrackerOptions c;
  c.name = "phase3";
  c.upstream_phase = "phase2_raw";
  c.downstream_phase = "phase3_analytics";
  c.expected = {"a", "b", "c", "d", "e"};
  c.trigger_topic = "test-phase3-trigger";
  c.deadline = minutes(30);
  c.partial_threshold = 0.6;
  c.debounce = minutes(5);
  for (auto p : {"a", "b", "c", "d", "e", "stray"}) EXPECT_TRUE(c.registry.add_processor(p, "p2"));
  for (auto p : {"x", "y", "z"}) EXPECT_TRUE(c.registry.add_processor(p, "p3"));
  EXPECT_TRUE(c.registry.add_trigger("a", {"x"}));
  EXPECT_TRUE(c.registry.add_trigger("b", {"x", "y"}));
  EXPECT_TRUE(c.registry.add_trigger("c", {"y"}));
  EXPECT_TRUE(c.registry.add_trigger("d", {"z"}));
  EXPECT_TRUE(c.registry.add_trigger("e", {"z"}));
  return c;
}

}  // namespace pipeline::testing
