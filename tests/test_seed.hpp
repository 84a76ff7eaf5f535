#pragma once
// The seed of a randomized test: fixed by default (the run is repeatable), replaced by
// the environment variable PIPELINE_TEST_SEED to explore or to reproduce another run.
// The seed in use is printed and recorded as the test's "seed" property (in the XML/JSON
// report), so a failure's output names the seed that reproduces it.

#include <cerrno>
#include <cstdlib>
#include <iostream>
#include <string>

#include <gtest/gtest.h>

namespace pipeline::testing {

inline unsigned test_seed(unsigned fallback) {
  unsigned seed = fallback;
  if (const char* env = std::getenv("PIPELINE_TEST_SEED"); env != nullptr && *env != '\0') {
    char* end = nullptr;
    errno = 0;
    const unsigned long v = std::strtoul(env, &end, 0);
    if (errno != 0 || end == env || *end != '\0' || v > 0xFFFFFFFFul)
      ADD_FAILURE() << "PIPELINE_TEST_SEED='" << env << "' is not an unsigned 32-bit number; using " << fallback;
    else
      seed = static_cast<unsigned>(v);
  }
  ::testing::Test::RecordProperty("seed", std::to_string(seed));
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::cout << "[ seed     ] " << (info ? std::string(info->test_suite_name()) + "." + info->name() : std::string("?"))
            << ": PIPELINE_TEST_SEED=" << seed << " reproduces this run\n"
            << std::flush;
  return seed;
}

}  // namespace pipeline::testing
