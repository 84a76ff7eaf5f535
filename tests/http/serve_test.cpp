// `pipelinectl serve` as an operator runs it: a child process on a SQLite store, driven by
// curl, stopped with SIGTERM (it drains and exits 0).
#ifdef PIPELINE_CTL_PATH

#include <signal.h>
#include <unistd.h>

#include <fstream>
#include <regex>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "curl_client.hpp"
#include "phase4_completion.hpp"
#include "pipeline/core/message_codec.hpp"
#include "pipeline/http/push.hpp"
#include "spin_until.hpp"
#include "temp_dir.hpp"

namespace {

using pipeline::testing::run_curl;
using pipeline::testing::slurp;

class ServeTest : public ::testing::Test {
 protected:
  // Starts `pipelinectl serve` with `args`; stdout and stderr go to files.
  pid_t spawn(std::vector<std::string> args) {
    std::vector<std::string> argv{PIPELINE_CTL_PATH, "serve"};
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<char*> cargv;
    for (auto& a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    const std::string out = dir.file("serve.out"), err = dir.file("serve.err");
    const pid_t pid = ::fork();
    if (pid == 0) {
      const int o = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      const int e = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (o < 0 || e < 0) ::_exit(126);
      ::dup2(o, 1);
      ::dup2(e, 2);
      ::execv(cargv[0], cargv.data());
      ::_exit(127);
    }
    return pid;
  }
  // The port the server printed; 0 when it did not within the deadline.
  int wait_for_port() {
    int port = 0;
    const std::regex re("listening on [^ ]+:([0-9]+)");
    (void)pipeline_test::spin_until([&] {
      std::smatch m;
      const std::string text = slurp(dir.file("serve.out"));
      if (std::regex_search(text, m, re)) port = std::stoi(m[1]);
      return port != 0;
    });
    return port;
  }
  pipeline::testing::TempDir dir;
};

TEST_F(ServeTest, ServesTheCoordinatorApiWithTokenAndDrainsOnSigterm) {
  std::ofstream(dir.file("token")) << "op-token-123\n";
  const pid_t pid = spawn({"--port", "0", "--token-file", dir.file("token"), "--store", "sqlite:" + dir.file("state.db"),
                           "--max-wait-minutes", "0", "--min-entities", "1"});
  const int port = wait_for_port();
  ASSERT_NE(port, 0) << slurp(dir.file("serve.err"));
  const std::string base = "http://127.0.0.1:" + std::to_string(port);
  const std::vector<std::string> auth{"-H", "Authorization: Bearer op-token-123"};

  EXPECT_EQ(run_curl(dir.path(), {base + "/ready"}).status, 200);
  EXPECT_EQ(run_curl(dir.path(), {"-X", "POST", base + "/start"}).status, 401);
  // A Phase 4 completion listing three entities, as plain JSON: the batch starts.
  pipeline::Message m;
  m.processor_name = "ml_feature_store";
  m.phase = "phase4_precompute";
  m.execution_id = "exec-1";
  m.partition_date = *pipeline::CalendarDate::parse("2025-11-18");
  m.entities_changed = pipeline::EntityChanges{{"entities", {"a", "b", "c"}}};
  m.metadata["entities_ready"] = 3;
  m.metadata["entities_total"] = 3;
  std::ofstream(dir.file("m.json")) << pipeline::encode_message(m);
  auto args = auth;
  for (std::string a : {"-H", "Content-Type: application/json", "--data-binary"}) args.push_back(a);
  args.push_back("@" + dir.file("m.json"));
  args.push_back(base + "/trigger");
  auto r = run_curl(dir.path(), args);
  ASSERT_EQ(r.status, 202) << r.body << slurp(dir.file("serve.err"));
  auto j = nlohmann::json::parse(r.body);
  EXPECT_EQ(j["status"], "started");
  EXPECT_EQ(j["enqueued"], 3);
  r = run_curl(dir.path(), {"-H", "Authorization: Bearer op-token-123", base + "/status?date=2025-11-18"});
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(nlohmann::json::parse(r.body)["expected"], 3);
  r = run_curl(dir.path(), {"-H", "Authorization: Bearer op-token-123", "-H", "Content-Type: application/json", "-d",
                            "{}", base + "/start"});
  EXPECT_EQ(r.status, 400) << r.body;
  auto [rc, out] = pipeline::testing::run_shell(
      dir.path().string(),
      "curl -sS --max-time 60 -H 'Authorization: Bearer op-token-123' " + base + "/metrics | promtool check metrics");
  EXPECT_EQ(rc, 0) << out;

  ASSERT_EQ(::kill(pid, SIGTERM), 0);
  auto status = pipeline::testing::wait_child(pid, std::chrono::seconds(60));
  ASSERT_TRUE(status);
  EXPECT_TRUE(pipeline::testing::exited_cleanly(*status)) << pipeline::testing::describe_status(*status);
  const std::string err = slurp(dir.file("serve.err"));
  EXPECT_EQ(err.find("op-token-123"), std::string::npos);
  EXPECT_NE(err.find("SIGTERM received"), std::string::npos) << err;
}

// serve's transport bridge: a push envelope or a CloudEvent carrying a unified message is
// published to the topic ?topic= names (2xx), bad input is 4xx; /metrics has the gauges and
// counters the alert rules use.
TEST_F(ServeTest, PublishesPushedMessagesAndCloudEventsAndExportsTheAlertMetrics) {
  const pid_t pid = spawn({"--port", "0", "--store", "sqlite:" + dir.file("state.db")});
  const int port = wait_for_port();
  ASSERT_NE(port, 0) << slurp(dir.file("serve.err"));
  const std::string base = "http://127.0.0.1:" + std::to_string(port);
  const std::string payload = pipeline::encode_message(pipeline::testing::phase4_completion("exec-9"));
  const std::string push =
      nlohmann::json{{"message", {{"data", pipeline::http::base64_encode(payload)}, {"messageId", "1"}}}}.dump();
  auto post = [&](const std::string& path, const std::string& body, const std::vector<std::string>& headers) {
    return pipeline::testing::post_body(dir.path(), base + path, body, headers);
  };
  auto r = post("/push?topic=acme-phase4-precompute-complete", push, {"Content-Type: application/json"});
  EXPECT_EQ(r.status, 200) << r.body << slurp(dir.file("serve.err"));
  EXPECT_EQ(nlohmann::json::parse(r.body, nullptr, false).value("status", ""), "acked") << r.body;
  r = post("/push?topic=acme-phase4-precompute-complete", R"({"message":{"data":"***"}})", {"Content-Type: application/json"});
  EXPECT_EQ(r.status, 400) << r.body;
  r = post("/push", push, {"Content-Type: application/json"});
  EXPECT_EQ(r.status, 400) << r.body;
  r = post("/events?topic=acme-phase4-precompute-complete", payload,
           {"Content-Type: application/json", "ce-specversion: 1.0", "ce-id: phase4/2025-11-18/w0",
            "ce-source: /pipeline/phase4_precompute/ml_feature_store", "ce-type: dev.pipeline.completion.v1"});
  EXPECT_EQ(r.status, 200) << r.body;
  r = post("/events?topic=acme-phase4-precompute-complete", payload,
           {"Content-Type: application/json", "ce-specversion: 0.3", "ce-id: 1", "ce-source: /s", "ce-type: t"});
  EXPECT_EQ(r.status, 400) << r.body;

  r = run_curl(dir.path(), {base + "/metrics"});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find("# TYPE pipeline_outbox_pending gauge"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("pipeline_batches_refused_total{coordinator=\"phase5\"} 0"), std::string::npos) << r.body;

  ASSERT_EQ(::kill(pid, SIGTERM), 0);
  auto status = pipeline::testing::wait_child(pid, std::chrono::seconds(60));
  ASSERT_TRUE(status);
  EXPECT_TRUE(pipeline::testing::exited_cleanly(*status)) << pipeline::testing::describe_status(*status);
}

TEST_F(ServeTest, RefusesAPublicAddressWithoutAToken) {
  const pid_t pid = spawn({"--bind", "0.0.0.0", "--port", "0"});
  auto status = pipeline::testing::wait_child(pid, std::chrono::seconds(60));
  ASSERT_TRUE(status);
  EXPECT_EQ(WEXITSTATUS(*status), 2);
  EXPECT_NE(slurp(dir.file("serve.err")).find("refusing to bind 0.0.0.0 without a token"), std::string::npos)
      << slurp(dir.file("serve.err"));
}

}  // namespace

#endif  // PIPELINE_CTL_PATH
