// pipeline::http as a consumer links it: no Boost header is needed to mount a handler and
// run the server.
#include <cstdio>

#include "pipeline/http/http_server.hpp"
#include "pipeline/http/operations.hpp"

int main() {
  pipeline::MetricsRegistry metrics = pipeline::MetricsRegistry::create().value();
  pipeline::http::Router router;
  if (!pipeline::http::mount_operations(router, {&metrics, {}, "consumer"})) return 1;
  pipeline::http::HttpServerOptions options;
  options.log = [](std::string_view) {};
  auto server = pipeline::http::HttpServer::create(std::move(router), options);
  if (!server || !(*server)->start()) return 1;
  const bool bound = (*server)->port() != 0;
  (*server)->stop();
  std::printf("http ok: %s\n", bound ? "bound" : "not bound");
  return bound ? 0 : 1;
}
