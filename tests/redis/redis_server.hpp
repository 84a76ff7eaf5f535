#pragma once
// The Redis server of a test run: PIPELINE_REDIS_URI when set (any server), else the one
// scripts/services.sh starts (idempotent: the ctest fixture usually started it already).
// A test that cannot reach its server fails; it never skips.

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "pipeline/redis/redis_transport.hpp"

namespace pipeline::testing {

// Runs a services.sh subcommand (with `env` prepended, e.g. "PIPELINE_SERVICES_DIR=…");
// returns its last output line, or "" when it failed.
inline std::string run_services(const std::string& subcommand, const std::string& env = {}) {
  const std::string cmd = env + (env.empty() ? "" : " ") + "bash '" + PIPELINE_SOURCE_DIR + "/scripts/services.sh' " +
                          subcommand;
  std::string out;
  bool failed = true;
  if (FILE* p = ::popen(cmd.c_str(), "r")) {
    char buf[512];
    while (std::fgets(buf, sizeof buf, p) != nullptr) out = buf;  // the last line
    failed = ::pclose(p) != 0;
  }
  if (failed) return {};
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out.empty() ? std::string("ok") : out;
}

// The server's URI, or "" (with a test failure saying why) when no server can be started.
inline std::string redis_uri() {
  static const std::string uri = [] {
    if (const char* env = std::getenv("PIPELINE_REDIS_URI"); env != nullptr && *env != '\0') return std::string(env);
    return run_services("start-redis");
  }();
  if (uri.empty()) ADD_FAILURE() << "no Redis server: set PIPELINE_REDIS_URI or make scripts/services.sh start-redis work";
  return uri;
}

// A key prefix no other test (or test process) of this run uses.
inline std::string fresh_prefix() {
  static std::atomic<int> counter{0};
  return "t" + std::to_string(::getpid()) + "-" + std::to_string(counter.fetch_add(1)) + ":";
}

}  // namespace pipeline::testing
