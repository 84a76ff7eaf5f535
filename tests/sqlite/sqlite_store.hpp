#pragma once
// A SQLite store of a test: a fresh file in its own temporary directory, both gone with the
// store. The contract suite and the component suites (tests/store_under_test.hpp) use it.

#include <memory>

#include <gtest/gtest.h>

#include "pipeline/sqlite/sqlite_state_store.hpp"
#include "temp_dir.hpp"

namespace pipeline::testing {

// A store on a fresh file, or nullptr (with a test failure saying why).
inline std::shared_ptr<StateStore> make_sqlite_store() {
  auto dir = std::make_shared<TempDir>();
  auto store = SqliteStateStore::open(dir->file("state.db"));
  if (!store) {
    ADD_FAILURE() << store.error().to_string();
    return nullptr;
  }
  // The deleter closes the store before its directory goes away.
  return std::shared_ptr<StateStore>(store->release(), [dir](StateStore* s) { delete s; });
}

}  // namespace pipeline::testing
