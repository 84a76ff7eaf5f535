#include <type_traits>
#include <utility>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "pipeline/core/json_object.hpp"
#include "pipeline/core/message.hpp"
#include "pipeline/core/message_codec.hpp"

namespace pipeline::json_object_test {

TEST(JsonObject, AnUnwrittenBoxReadsAsTheEmptyObjectAndEqualsOne) {
  const JsonObject box;
  EXPECT_TRUE(box.empty());
  EXPECT_TRUE(box->is_object());
  EXPECT_EQ(*box, nlohmann::json::object());
  EXPECT_EQ(box, JsonObject(nlohmann::json::object()));
  EXPECT_TRUE(box["absent"].is_null()) << "a const read of a missing member is null, not undefined behaviour";
}

TEST(JsonObject, WritingCreatesTheObjectAndCopiesAreDeep) {
  JsonObject a;
  a["rows"] = 42;
  a["nested"]["k"] = "v";
  EXPECT_FALSE(a.empty());
  JsonObject b = a;
  b["rows"] = 7;
  EXPECT_EQ((*a)["rows"], 42) << "the copy owns its own tree";
  EXPECT_EQ((*b)["rows"], 7);
  EXPECT_NE(a, b);
  b = a;
  EXPECT_EQ(a, b);
  JsonObject moved = std::move(b);
  EXPECT_EQ(moved, a);
}

TEST(JsonObject, AssignsAWholeValueAndKeepsNonObjectsForValidationToRefuse) {
  JsonObject box = nlohmann::json{{"wave", 2}};
  EXPECT_EQ(box->value("wave", 0), 2);
  const JsonObject& cbox = box;
  EXPECT_EQ(cbox["wave"], 2);
  box = nlohmann::json::array({1, 2});
  EXPECT_FALSE(box.empty());
  EXPECT_TRUE(cbox["wave"].is_null()) << "a const read of a non-object is null";

  Message m;
  m.processor_name = "p";
  m.phase = "phase2";
  m.execution_id = "e";
  m.partition_date = *CalendarDate::parse("2025-11-18");
  m.metadata = nlohmann::json::array({1});
  const auto st = validate_message(m);
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().context.at("fields").find("metadata"), std::string::npos);
}

// A braced list must not convert (it would silently become an array); only a json does.
static_assert(std::is_convertible_v<nlohmann::json, JsonObject>);
static_assert(!std::is_convertible_v<int, JsonObject>);
static_assert(std::is_nothrow_move_constructible_v<JsonObject>);

}  // namespace pipeline::json_object_test
