#pragma once
/// @file
/// Bodies of pipeline/memory/memory_transport.hpp.

#include "pipeline/memory/memory_transport.hpp"

#include <mutex>
#include <thread>
#include <utility>

#include "pipeline/memory/memory_transport_core.hpp"

namespace pipeline::inline v0 {

PIPELINE_INLINE MemoryTransport::MemoryTransport(Clock& clock, MemoryTransportOptions options)
    : core_(std::make_shared<internal::MemoryTransportCore>(clock, options)) {}

PIPELINE_INLINE MemoryTransport::~MemoryTransport() {
  stop();
  core_->shut_down();
}

PIPELINE_INLINE Status MemoryTransport::do_publish(PublishParams params) {
  return core_->publish(params.topic, std::move(params.message));
}

PIPELINE_INLINE Result<std::unique_ptr<Subscription>> MemoryTransport::subscribe(const SubscribeParams& config,
                                                                                 Handler handler) {
  return core_->subscribe(config, std::move(handler));
}

PIPELINE_INLINE Result<std::vector<DeadLetter>> MemoryTransport::dead_letters(std::string_view subscription) {
  return core_->dead_letters(subscription);
}

PIPELINE_INLINE Status MemoryTransport::replay_dead_letter(std::string_view subscription, std::string_view id) {
  return core_->replay_dead_letter(subscription, id);
}

PIPELINE_INLINE std::size_t MemoryTransport::pump() { return core_->pump(); }

PIPELINE_INLINE Status MemoryTransport::start(std::size_t threads) {
  if (threads == 0) return fail(ErrorCode::kInvalidArgument, "start needs at least one worker thread");
  std::lock_guard lock(core_->mu_);
  if (core_->workers_ > 0) return fail(ErrorCode::kFailedPrecondition, "the memory transport is already started");
  core_->workers_ = threads;
  for (std::size_t i = 0; i < threads; ++i) core_->threads_.emplace_back([core = core_] { core->worker_loop(); });
  return ok();
}

PIPELINE_INLINE void MemoryTransport::stop() {
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(core_->mu_);
    if (core_->threads_.empty()) return;
    core_->stopping_ = true;
    threads.swap(core_->threads_);
  }
  core_->work_cv_.notify_all();
  for (auto& t : threads) t.join();
  std::lock_guard lock(core_->mu_);
  core_->stopping_ = false;
  core_->workers_ = 0;
}

PIPELINE_INLINE void MemoryTransport::wait_until_idle() {
  if (!started()) {
    pump();
    return;
  }
  core_->wait_until_idle();
}

PIPELINE_INLINE bool MemoryTransport::started() {
  std::lock_guard lock(core_->mu_);
  return core_->workers_ > 0;
}

PIPELINE_INLINE std::size_t MemoryTransport::unacked(std::string_view subscription) {
  std::lock_guard lock(core_->mu_);
  auto it = core_->subs_.find(subscription);
  return it == core_->subs_.end() ? 0 : it->second->entries.size();
}

}  // namespace pipeline::inline v0
