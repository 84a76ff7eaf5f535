#include "transport_uri.hpp"

#include "exit_codes.hpp"

#include "pipeline/memory/memory_transport.hpp"
#ifdef PIPELINE_CLI_HAVE_REDIS
#include "pipeline/redis/redis_transport.hpp"
#endif

namespace pipelinectl {

pipeline::Result<TransportUri> parse_transport_uri(std::string_view text) {
  using pipeline::ErrorCode;
  if (text == "memory") return TransportUri{TransportUri::Kind::kMemory, {}};
  if (text.starts_with("redis://")) {
#ifdef PIPELINE_CLI_HAVE_REDIS
    return TransportUri{TransportUri::Kind::kRedis, std::string(text)};
#else
    return pipeline::fail(ErrorCode::kInvalidArgument,
                          "--transport: Redis is not built into this program (use memory)");
#endif
  }
  // Never echo the text: a mistyped Redis URI may hold a password.
  return pipeline::fail(ErrorCode::kInvalidArgument,
                        "--transport is not a transport URI (expected memory or redis://HOST:PORT)");
}


pipeline::Result<std::unique_ptr<pipeline::Transport>> open_transport(std::string_view text, pipeline::Clock& clock,
                                                                      std::size_t handler_threads) {
  auto uri = parse_transport_uri(text);
  if (!uri) return pipeline::fail(uri.error());
#ifdef PIPELINE_CLI_HAVE_REDIS
  if (uri->kind == TransportUri::Kind::kRedis) {
    pipeline::RedisTransportOptions options;
    options.handler_threads = handler_threads;
    auto redis = pipeline::RedisTransport::open(clock, uri->uri, options);  // it reads ?key_prefix=
    if (!redis) return pipeline::fail(redis.error());
    return std::unique_ptr<pipeline::Transport>(std::move(*redis));
  }
#endif
  auto memory = pipeline::MemoryTransport::create(clock);  // its destructor joins the threads
  if (!memory) return pipeline::fail(memory.error());
  if (handler_threads > 0) PIPELINE_TRY((*memory)->start(handler_threads));
  return std::unique_ptr<pipeline::Transport>(std::move(*memory));
}

CLI::Option* add_transport_option(CLI::App& sub, std::string& transport) {
  return sub.add_option("--transport", transport, "memory | redis://HOST:PORT (the Redis Streams broker)")
      ->capture_default_str();
}

int transport_error_exit(const pipeline::Error& error) {
  return error.code == pipeline::ErrorCode::kInvalidArgument ? kExitUsage : kExitFailed;
}

}  // namespace pipelinectl
