// `pipelinectl provision --transport URI`: creates every subscription (consumer group) of the
// example pipeline's services and of their dead-letter recorders before any publisher
// starts, so no message published before a service first subscribes is missed.
#include <cstdio>
#include <memory>
#include <string>

#include "command.hpp"
#include "pipeline/core/system_clock.hpp"
#include "transport_uri.hpp"

#if __has_include("demo_driver/distributed.hpp")
#include "demo_driver/distributed.hpp"
#endif

namespace pipelinectl::cmd_provision {

struct Options {
  std::string transport;
  bool quiet = false;
};

int run(const Options& opts) {
#ifdef PIPELINE_DEMO_HAVE_DISTRIBUTED
  pipeline::SystemClock clock;
  auto transport = open_transport(opts.transport, clock, 0);
  if (!transport) {
    std::fprintf(stderr, "pipelinectl provision: --transport: %s\n", transport.error().message.c_str());
    return transport_error_exit(transport.error());
  }
  const auto plan = demo::subscription_plan();
  auto n = demo::provision(**transport, plan);
  if (!n) {
    std::fprintf(stderr, "pipelinectl provision: %s\n", n.error().to_string().c_str());
    return kExitFailed;
  }
  if (!opts.quiet)
    for (const auto& s : plan) std::printf("%-48s on %s\n", s.name.c_str(), s.topic.c_str());
  std::printf("%zu subscriptions provisioned\n", *n);
  return kExitOk;
#else
  (void)opts;
  std::fprintf(stderr, "pipelinectl provision: this pipelinectl was built without the example services and Redis\n");
  return kExitFailed;
#endif
}

const Registrar kRegistrar{
    {"provision", "Create the example pipeline's subscriptions (consumer groups) before any publisher starts",
     [](CLI::App& sub) -> Runner {
       auto opts = std::make_shared<Options>();
       add_transport_option(sub, opts->transport)->required();
       sub.add_flag("--quiet", opts->quiet, "Print only the count");
       return [opts] { return run(*opts); };
     }}};

}  // namespace pipelinectl::cmd_provision
