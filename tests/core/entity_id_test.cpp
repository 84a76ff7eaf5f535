#include <string>

#include <gtest/gtest.h>

#include "pipeline/core/entity_id.hpp"
#include "pipeline/core/message_codec.hpp"

namespace pipeline::entity_id_test {

TEST(EntityId, AcceptsPrintableAsciiWithoutSlashUpTo128Bytes) {
  EXPECT_TRUE(is_valid_entity_id("lebron-james"));
  EXPECT_TRUE(is_valid_entity_id("A"));
  EXPECT_TRUE(is_valid_entity_id("!~\"\\{}[]:;,.<>?@#$%^&*()_+=|'`"));
  EXPECT_TRUE(is_valid_entity_id(std::string(kMaxEntityIdBytes, 'x')));
  EXPECT_TRUE(validate_entity_id(std::string(128, 'z')));
  static_assert(is_valid_entity_id("player-1"));
}

TEST(EntityId, RejectsEmptyTooLongSlashSpaceControlAndNonAscii) {
  for (const std::string& id : {std::string(), std::string(129, 'x'), std::string("a/b"), std::string("a b"),
                               std::string("a\tb"), std::string("a\0b", 3), std::string("a\x7f"),
                               std::string("caf\xc3\xa9")}) {
    EXPECT_FALSE(is_valid_entity_id(id)) << id;
    auto st = validate_entity_id(id);
    ASSERT_FALSE(st) << id;
    EXPECT_EQ(st.error().code, ErrorCode::kInvalidArgument);
  }
  EXPECT_EQ(validate_entity_id("a/b").error().message, "entity id 'a/b' contains '/', which separates key parts");
  EXPECT_EQ(validate_entity_id("").error().message, "entity id must be 1 to 128 bytes, got 0 ('')");
  EXPECT_EQ(validate_entity_id("a b").error().message,
            "entity id 'a' contains byte 0x20; ids are printable ASCII without spaces (0x21-0x7E)");
}

TEST(EntityId, ValidateMessageAppliesTheRuleToChangedEntities) {
  Message m;
  m.processor_name = "p";
  m.phase = "phase3";
  m.execution_id = "e";
  m.correlation_id = "e";
  m.partition_date = *CalendarDate::parse("2025-11-18");
  m.entities_changed = EntityChanges{{"players", {"a/b", "c"}}};
  auto st = validate_message(m);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().context.at("fields"), "entities_changed");
  EXPECT_NE(st.error().message.find("kind 'players': entity id 'a/b' contains '/'"), std::string::npos)
      << st.error().message;
  // The decoder enforces the same rule: a decoded message always validates.
  m.entities_changed = EntityChanges{{"players", {"c"}}};
  std::string text = encode_message(m);
  text.replace(text.find("[\"c\"]"), 5, "[\"c d\"]");
  auto decoded = decode_message(text);
  ASSERT_FALSE(decoded);
  EXPECT_EQ(decoded.error().context.at("fields"), "entities_changed");
}

}  // namespace pipeline::entity_id_test
