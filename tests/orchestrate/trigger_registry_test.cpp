#include <algorithm>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "pipeline/orchestrate/trigger_registry.hpp"

namespace pipeline {
namespace trigger_registry_test {

using Names = std::vector<std::string>;

TriggerRegistry small() {
  TriggerRegistry r;
  EXPECT_TRUE(r.add_processor("raw_a", "p2"));
  EXPECT_TRUE(r.add_processor("raw_b", "p2"));
  EXPECT_TRUE(r.add_processor("sum_x", "p3"));
  EXPECT_TRUE(r.add_processor("sum_y", "p3"));
  EXPECT_TRUE(r.add_trigger("raw_a", {"sum_x"}));
  EXPECT_TRUE(r.add_trigger("raw_b", {"sum_x", "sum_y"}));
  return r;
}

TEST(TriggerRegistry, TargetsOfIsTheSortedUnion) {
  const auto r = small();
  EXPECT_TRUE(r.validate());
  EXPECT_EQ(r.targets("raw_b"), (Names{"sum_x", "sum_y"}));
  EXPECT_TRUE(r.targets("sum_x").empty());
  EXPECT_EQ(r.targets_of(Names{"raw_b", "raw_a"}), (Names{"sum_x", "sum_y"}));
  EXPECT_EQ(r.processors("p3"), (Names{"sum_x", "sum_y"}));
  EXPECT_EQ(r.phases(), (Names{"p2", "p3"}));
  EXPECT_EQ(r.phase_of("raw_a"), std::optional<std::string>("p2"));
  EXPECT_FALSE(r.phase_of("nope"));
}

TEST(TriggerRegistry, DuplicateEdgeIsRefusedWithItsNames) {
  auto r = small();
  auto st = r.add_trigger("raw_a", {"sum_y", "sum_x"});
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, ErrorCode::kAlreadyExists);
  EXPECT_NE(st.error().message.find("'raw_a' -> 'sum_x' is declared twice"), std::string::npos) << st.error().message;
  EXPECT_EQ(r.targets("raw_a"), (Names{"sum_x"})) << "nothing of a refused call is added";
  EXPECT_FALSE(r.add_trigger("raw_a", {"sum_y", "sum_y"}));
}

TEST(TriggerRegistry, UnknownProcessorFailsValidation) {
  auto r = small();
  ASSERT_TRUE(r.add_trigger("raw_a", {"sum_z"}));
  auto st = r.validate();
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(st.error().message.find("'sum_z'"), std::string::npos) << st.error().message;

  TriggerRegistry r2 = small();
  ASSERT_TRUE(r2.add_trigger("ghost", {"sum_x"}));
  auto st2 = r2.validate();
  ASSERT_FALSE(st2);
  EXPECT_NE(st2.error().message.find("'ghost' is not a declared processor"), std::string::npos);
}

TEST(TriggerRegistry, CycleFailsValidationAndIsNamed) {
  auto r = small();
  ASSERT_TRUE(r.add_trigger("sum_x", {"sum_y"}));
  ASSERT_TRUE(r.add_trigger("sum_y", {"raw_b"}));
  auto st = r.validate();
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message.find("cycle"), std::string::npos);
  EXPECT_NE(st.error().message.find("sum_x -> sum_y -> raw_b -> sum_x"), std::string::npos) << st.error().message;

  TriggerRegistry self;
  ASSERT_TRUE(self.add_processor("a", "p"));
  ASSERT_TRUE(self.add_trigger("a", {"a"}));
  EXPECT_FALSE(self.validate());
}

TEST(TriggerRegistry, BadNamesAndConflictingPhasesAreRefused) {
  TriggerRegistry r;
  EXPECT_FALSE(r.add_processor("has/slash", "p"));
  EXPECT_FALSE(r.add_processor("", "p"));
  EXPECT_TRUE(r.add_processor("a", "p1"));
  EXPECT_TRUE(r.add_processor("a", "p1"));
  auto st = r.add_processor("a", "p2");
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, ErrorCode::kAlreadyExists);
  EXPECT_FALSE(r.add_trigger("a", {"b c"}));
}

TEST(TriggerRegistry, DotHasOneClusterPerPhaseEdgesAndStateColours) {
  const auto r = small();
  const std::string plain = r.to_dot();
  EXPECT_EQ(plain.rfind("digraph triggers {", 0), 0u);
  EXPECT_NE(plain.find("label=\"p2\""), std::string::npos);
  EXPECT_NE(plain.find("label=\"p3\""), std::string::npos);
  EXPECT_NE(plain.find("\"raw_b\" -> \"sum_y\";"), std::string::npos);
  EXPECT_EQ(plain.find("palegreen"), std::string::npos);
  const std::string coloured = r.to_dot({{"raw_a", ProcessorState::kDone},
                                         {"raw_b", ProcessorState::kFailed},
                                         {"sum_x", ProcessorState::kMissing}});
  EXPECT_NE(coloured.find("\"raw_a\" [fillcolor=palegreen"), std::string::npos) << coloured;
  EXPECT_NE(coloured.find("\"raw_b\" [fillcolor=tomato"), std::string::npos);
  EXPECT_NE(coloured.find("\"sum_x\" [fillcolor=lightgrey"), std::string::npos);
  EXPECT_NE(coloured.find("    \"sum_y\";"), std::string::npos) << "no state: plain node";
}

}  // namespace trigger_registry_test
}  // namespace pipeline
