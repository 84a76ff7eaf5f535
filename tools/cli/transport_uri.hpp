#pragma once
// The `--transport` flag pipelinectl and the example services share: parsing and opening
// in one place.
//
//   memory          an in-process MemoryTransport (messages never leave the process)
//   redis://…       the Redis Streams transport (`redis://[user:password@]host:port[/db]`,
//                   `?key_prefix=P` names the pipeline's keys), when built with pipeline::redis

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include <CLI/CLI.hpp>

#include "pipeline/core/clock.hpp"
#include "pipeline/core/result.hpp"
#include "pipeline/core/transport.hpp"

namespace pipelinectl {

/// A parsed `--transport` value.
struct TransportUri {
  enum class Kind { kMemory, kRedis };
  Kind kind = Kind::kMemory;
  std::string uri;  ///< The Redis URI (kRedis).
};

/// Parses a `--transport` value. **Errors:** `kInvalidArgument` with a sentence naming the
/// accepted forms (also for `redis://` when Redis is not built in).
pipeline::Result<TransportUri> parse_transport_uri(std::string_view text);

/// Opens the transport `text` names, delivering on `handler_threads` threads (0: pump
/// mode, for one-shot runs that pump themselves). **Errors:** `kInvalidArgument` (bad URI),
/// or the transport's own (`kUnavailable`: Redis unreachable or the password refused,
/// within the connect timeout). Messages never hold the URI's password.
pipeline::Result<std::unique_ptr<pipeline::Transport>> open_transport(std::string_view text, pipeline::Clock& clock,
                                                                      std::size_t handler_threads);

/// Declares `--transport` (default `memory`).
CLI::Option* add_transport_option(CLI::App& sub, std::string& transport);

/// The exit code for an `open_transport` error: a bad URI is bad usage (2), anything else
/// a failed operation (1).
int transport_error_exit(const pipeline::Error& error);

}  // namespace pipelinectl
