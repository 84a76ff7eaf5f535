#pragma once
/// @file
/// What several bench_<layer> binaries share: a temporary directory and a transport that
/// accepts every publish.

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "pipeline/core/result.hpp"
#include "pipeline/core/transport.hpp"
#include "tests/temp_dir.hpp"

namespace bench_support {

/// A temporary directory on the real disk (so a FULL-synchronous store pays its fsync),
/// removed with everything in it when destroyed: the tests' own.
using BenchDir = pipeline::testing::TempDir;

/// Accepts and counts every publish; no subscriptions, no dead letters. Not thread-safe
/// beyond one publishing thread (the benches' workers publish from one thread).
class NullTransport final : public pipeline::Transport {
 public:
  pipeline::Status publish(std::string_view, pipeline::OutgoingMessage) override {
    ++published;
    return pipeline::ok();
  }
  pipeline::Result<std::unique_ptr<pipeline::Subscription>> subscribe(const pipeline::SubscriptionConfig&,
                                                                       pipeline::Handler) override {
    return pipeline::fail(pipeline::ErrorCode::kFailedPrecondition, "the bench transport has no subscriptions");
  }
  pipeline::Result<std::vector<pipeline::DeadLetter>> dead_letters(std::string_view) override {
    return std::vector<pipeline::DeadLetter>{};
  }
  pipeline::Status replay_dead_letter(std::string_view, std::string_view) override {
    return pipeline::fail(pipeline::ErrorCode::kNotFound, "the bench transport has no dead letters");
  }
  std::size_t published = 0;
};

}  // namespace bench_support
