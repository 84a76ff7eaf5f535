#pragma once
/// @file
/// What several bench_<layer> binaries share: a temporary directory and a transport that
/// accepts every publish.

#include <cstddef>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <stdlib.h>

#include "pipeline/core/result.hpp"
#include "pipeline/core/transport.hpp"

namespace bench_support {

/// A temporary directory on the real disk (so a FULL-synchronous store pays its fsync),
/// removed with everything in it when destroyed.
class BenchDir {
 public:
  BenchDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "pipeline-bench-XXXXXX").string();
    if (::mkdtemp(pattern.data()) != nullptr) path_ = pattern;
  }
  ~BenchDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  BenchDir(const BenchDir&) = delete;
  BenchDir& operator=(const BenchDir&) = delete;
  [[nodiscard]] std::string file(const char* name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

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
