#include "pipeline/memory/memory_state_store.hpp"

#include <memory>

#include <gtest/gtest.h>

#include "contracts/state_store_contract.hpp"

namespace memory_state_store_test {

using pipeline::contracts::StateStoreContract;
using pipeline::contracts::StateStoreFactory;

INSTANTIATE_TEST_SUITE_P(Memory, StateStoreContract,
                         ::testing::Values(StateStoreFactory{
                             "Memory",
                             [] {
                               return std::make_shared<pipeline::MemoryStateStore>(
                                   pipeline::MemoryStateStore::create().value());
                             }}),
                         pipeline::contracts::factory_name);

TEST(MemoryStateStore, ReentrantCallFromBodyFailsInsteadOfDeadlocking) {
  pipeline::MemoryStateStore store = pipeline::MemoryStateStore::create().value();
  pipeline::Status inner;
  auto st = store.transact([&](pipeline::Transaction&) -> pipeline::Status {
    inner = store.transact([](pipeline::Transaction&) { return pipeline::ok(); });
    return pipeline::ok();
  });
  ASSERT_TRUE(st);
  ASSERT_FALSE(inner);
  EXPECT_EQ(inner.error().code, pipeline::ErrorCode::kFailedPrecondition);
}

TEST(MemoryStateStore, AMovedStoreKeepsItsRowsAndStaysUsable) {
  pipeline::MemoryStateStore first = pipeline::MemoryStateStore::create().value();
  ASSERT_TRUE(first.transact([](pipeline::Transaction& tx) { return tx.put("k", "v"); }));
  pipeline::MemoryStateStore second = std::move(first);
  EXPECT_EQ(second.get("k").value(), std::optional<std::string>("v"));
  ASSERT_TRUE(second.transact([](pipeline::Transaction& tx) { return tx.put("k2", "v2"); }));
  EXPECT_EQ(second.get("k2").value(), std::optional<std::string>("v2"));
}

TEST(MemoryStateStore, ThrowingBodyRollsBackAndReturnsInternal) {
  pipeline::MemoryStateStore store = pipeline::MemoryStateStore::create().value();
  auto st = store.transact([&](pipeline::Transaction& tx) -> pipeline::Status {
    (void)tx.put("k", "v");
    throw std::runtime_error("boom");
  });
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, pipeline::ErrorCode::kInternal);
  EXPECT_NE(st.error().message.find("boom"), std::string::npos);
  EXPECT_FALSE(store.get("k").value().has_value());
}

}  // namespace memory_state_store_test
