#pragma once
/// @file
/// A named maker of fresh, empty stores: the parameter of the `StateStore` contract suite
/// and of the component suites that run on every store (`store_under_test.hpp`).

#include <functional>
#include <memory>
#include <ostream>
#include <string>

#include <gtest/gtest.h>

#include "pipeline/core/state_store.hpp"

namespace pipeline::contracts {

struct StateStoreFactory {
  std::string name;
  std::function<std::shared_ptr<StateStore>()> make;
};

// Test names and failure messages show the store's name, not the factory's bytes.
inline void PrintTo(const StateStoreFactory& factory, std::ostream* os) { *os << factory.name; }

inline std::string factory_name(const ::testing::TestParamInfo<StateStoreFactory>& info) { return info.param.name; }

}  // namespace pipeline::contracts
