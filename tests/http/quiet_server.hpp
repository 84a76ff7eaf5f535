#pragma once
// An HttpServer for tests: started on a free loopback port, its request log muted.

#include <memory>
#include <string_view>
#include <utility>

#include <gtest/gtest.h>

#include "pipeline/http/http_server.hpp"

namespace pipeline::testing {

// The started server, or null after recording a test failure saying why it did not start.
inline std::unique_ptr<pipeline::http::HttpServer> start_quiet_server(pipeline::http::Router router) {
  pipeline::http::HttpServerOptions options;
  options.log = [](std::string_view) {};
  auto server = pipeline::http::HttpServer::create(std::move(router), options);
  if (!server) {
    ADD_FAILURE() << server.error().to_string();
    return nullptr;
  }
  if (auto started = (*server)->start(); !started) {
    ADD_FAILURE() << started.error().to_string();
    return nullptr;
  }
  return std::move(*server);
}

}  // namespace pipeline::testing
