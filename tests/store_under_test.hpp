#pragma once
// The store a component suite that takes a `StateStore` runs on: its fixture derives from
// `StoreSuite` and the file ends with `PIPELINE_STORE_SUITE(<fixture>)`. In the layer's own
// binary that is the memory store; test_postgres compiles the same file with
// PIPELINE_TEST_STORE_POSTGRES and runs the suite on fresh PostgreSQL tables per test, and
// test_sqlite with PIPELINE_TEST_STORE_SQLITE on a fresh SQLite file per test.

#include <cstdio>
#include <cstdlib>
#include <memory>

#include <gtest/gtest.h>

#include "contracts/state_store_factory.hpp"

#ifdef PIPELINE_TEST_STORE_POSTGRES
#include "postgres/postgres_server.hpp"
#define PIPELINE_STORE_SUITE(fixture)                                                                        \
  INSTANTIATE_TEST_SUITE_P(Postgres, fixture,                                                                \
                           ::testing::Values(::pipeline::contracts::StateStoreFactory{                      \
                               "Postgres", [] { return ::pipeline::testing::make_postgres_store(); }}), \
                           ::pipeline::contracts::factory_name)
#elif defined(PIPELINE_TEST_STORE_SQLITE)
#include "sqlite/sqlite_store.hpp"
#define PIPELINE_STORE_SUITE(fixture)                                                                    \
  INSTANTIATE_TEST_SUITE_P(Sqlite, fixture,                                                              \
                           ::testing::Values(::pipeline::contracts::StateStoreFactory{                  \
                               "Sqlite", [] { return ::pipeline::testing::make_sqlite_store(); }}),     \
                           ::pipeline::contracts::factory_name)
#else
#include "pipeline/memory/memory_state_store.hpp"
#define PIPELINE_STORE_SUITE(fixture)                                                                    \
  INSTANTIATE_TEST_SUITE_P(Memory, fixture,                                                              \
                           ::testing::Values(::pipeline::contracts::StateStoreFactory{                  \
                               "Memory",                                                                 \
                               [] {                                                                      \
                                 return std::make_shared<::pipeline::MemoryStateStore>(                  \
                                     ::pipeline::MemoryStateStore::create().value());                    \
                               }}),                                                                      \
                           ::pipeline::contracts::factory_name)
#endif

namespace pipeline::testing {

// A fixture whose `store` is a fresh store of the suite's parameter.
class StoreSuite : public ::testing::TestWithParam<contracts::StateStoreFactory> {
 protected:
  std::shared_ptr<StateStore> store_holder_ = make_or_abort();
  StateStore& store = *store_holder_;

 private:
  // Without its store the suite cannot run at all: stop loudly (the factory said why).
  static std::shared_ptr<StateStore> make_or_abort() {
    auto s = GetParam().make();
    if (s == nullptr) {
      std::fprintf(stderr, "no %s store for this test (see the failure above)\n", GetParam().name.c_str());
      std::abort();
    }
    return s;
  }
};

}  // namespace pipeline::testing
