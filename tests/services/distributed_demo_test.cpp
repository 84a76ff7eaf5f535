// `pipelinectl demo --transport redis://… --store postgresql://… --chaos`: every role in its
// own process, on private Redis and PostgreSQL servers that this test restarts while the day
// runs, with a scraper, a Phase 2 worker, Phase 3 and the trackers (and their relays) killed
// mid-work and one poison message. Afterwards the decisions, the processor sets and every
// warehouse row equal the in-process demo's for the same date, each wave was decided once,
// no run succeeded twice, every trigger was delivered, nothing is left unacknowledged or
// unsent, and the poison message is in the DLQ with its alert.
#include <signal.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "nba_synthetic/warehouse.hpp"
#include "phase5_coordinator/phase5.hpp"
#include "services/child.hpp"
#include "spin_until.hpp"
#include "temp_dir.hpp"

namespace pipeline::distributed_demo_test {

using nlohmann::json;

// Redis and PostgreSQL of this test alone (scripts/services.sh in a scratch state
// directory): restarting them disturbs no other test.
class PrivateServers {
 public:
  explicit PrivateServers(const std::string& dir) : env_("PIPELINE_SERVICES_DIR='" + dir + "'") {
    if (!run("start")) return;
    for (const auto& line : run_lines("env")) {
      if (line.starts_with("PIPELINE_REDIS_URI=")) redis_ = line.substr(19);
      if (line.starts_with("PIPELINE_POSTGRES_URI=")) postgres_ = line.substr(22);
    }
  }
  ~PrivateServers() { (void)run("stop"); }
  PrivateServers(const PrivateServers&) = delete;
  PrivateServers& operator=(const PrivateServers&) = delete;
  const std::string& redis() const { return redis_; }
  const std::string& postgres() const { return postgres_; }
  bool run(const std::string& verb) { return run_lines(verb, true).size() == 1; }

 private:
  // `services.sh <verb>`'s output lines; with `status`, one line "ok" or nothing on failure.
  std::vector<std::string> run_lines(const std::string& verb, bool status = false) {
    const std::string cmd = env_ + " '" PIPELINE_SOURCE_DIR "/scripts/services.sh' " + verb;
    std::vector<std::string> lines;
    FILE* p = ::popen(cmd.c_str(), "r");
    if (p == nullptr) return lines;
    char buf[1024];
    while (std::fgets(buf, sizeof buf, p) != nullptr) {
      std::string line(buf);
      while (!line.empty() && line.back() == '\n') line.pop_back();
      lines.push_back(line);
    }
    const bool ok = ::pclose(p) == 0;
    if (status) return ok ? std::vector<std::string>{"ok"} : std::vector<std::string>{};
    return lines;
  }
  std::string env_;
  std::string redis_, postgres_;
};

json read_json(const std::string& path) {
  std::ifstream in(path);
  return json::parse(in, nullptr, /*allow_exceptions=*/false);
}

// Each wave's phases as the summaries show them, without ids and times: what ran, what it
// wrote, and what each tracker decided.
json decisions(const json& report) {
  json out = json::array();
  for (const auto& w : report["waves"]) {
    json phases = json::array();
    for (const auto& p : w["phases"]) {
      std::vector<std::string> processors;
      for (const auto& r : p["runs"])
        if (r["outcome"] == "completed") processors.push_back(r["processor"]);
      std::sort(processors.begin(), processors.end());
      json t = p.contains("trigger") && !p["trigger"].is_null()
                   ? json{{"reason", p["trigger"]["reason"]},
                          {"status", p["trigger"]["status"]},
                          {"upstream_processors", p["trigger"]["upstream_processors"]},
                          {"run_processors", p["trigger"]["run_processors"]},
                          {"entities_changed", p["trigger"]["entities_changed"]}}
                   : json();
      phases.push_back({{"phase", p["phase"]},
                        {"processors", processors},
                        {"records", p["records"]},
                        {"entity_runs", p["entity_runs"]},
                        {"trigger", t}});
    }
    out.push_back({{"wave", w["wave"]}, {"phases", phases}});
  }
  return out;
}

// Every row of `date` in every table, the run's correlation ids apart (new each run).
std::vector<std::string> rows_of(const std::string& path, CalendarDate date) {
  std::vector<std::string> out;
  auto wh = nba::Warehouse::open(path);
  if (!wh) {
    ADD_FAILURE() << path << ": " << wh.error().to_string();
    return out;
  }
  std::vector<nba::TableSpec> tables = nba::warehouse_tables();
  tables.push_back(nba::phase5::prediction_versions_table());
  for (const auto& t : tables) {
    auto rows = wh->read_rows(t.name, date);
    if (!rows) {
      out.push_back(t.name + ": " + rows.error().to_string());
      continue;
    }
    for (std::size_t r = 0; r < rows->size(); ++r) {
      std::string line = t.name;
      for (std::size_t c = 0; c < rows->columns.size(); ++c)
        if (rows->columns[c] != "correlation_id") line += "|" + nba::as_text(rows->at(r, c));
      out.push_back(std::move(line));
    }
  }
  return out;
}

TEST(DistributedDemo, EveryRoleItsOwnProcessThroughKillsAndServerRestartsEqualsTheInProcessDay) {
  testing::TempDir dir;
  PrivateServers servers(dir.file("services"));
  ASSERT_FALSE(servers.redis().empty()) << "could not start a private redis-server through scripts/services.sh";
  ASSERT_FALSE(servers.postgres().empty()) << "could not start a private PostgreSQL through scripts/services.sh";
  const auto date = *CalendarDate::parse("2025-11-18");

  // The in-process day, the reference.
  const std::string ref_json = dir.file("reference.json");
  const std::string ref_wh = dir.file("reference-warehouse.db");
  auto status = testing::run_to_end({PIPELINE_CTL_BIN, "demo", "--json", "--store", "sqlite:" + dir.file("ref-state.db"),
                                     "--warehouse", ref_wh, "--data-dir", dir.file("ref-scraped")},
                                    ref_json);
  ASSERT_TRUE(status && testing::exited_cleanly(*status));
  const json reference = read_json(ref_json);
  ASSERT_FALSE(reference.is_discarded());

  // The day with every role its own process, under chaos; the progress lines on stderr.
  const std::string out = dir.file("distributed.json");
  const std::string progress = dir.file("progress.log");
  const pid_t pid = testing::spawn({PIPELINE_CTL_BIN, "demo", "--json", "--chaos", "--transport", servers.redis(), "--store",
                                    servers.postgres(), "--lead", "3600", "--timeout", "500"},
                                   out, progress);
  ASSERT_GT(pid, 0);
  // On a failed assertion the demo is stopped (it stops its children) before the servers.
  struct StopOnExit {
    pid_t pid;
    ~StopOnExit() {
      if (pid <= 0) return;
      ::kill(pid, SIGTERM);
      (void)testing::wait_child(pid, std::chrono::seconds(120));
    }
  } stop_on_exit{pid};
  // Each server restarts once while the day runs: Redis as the Phase 2 wave starts,
  // PostgreSQL once Phase 3 is under way (its service was just killed).
  const auto seen = [&](const std::string& text) { return testing::log_has(progress, text); };
  ASSERT_TRUE(pipeline_test::spin_until([&] { return seen("chaos: SIGKILL phase1_scraper"); }, std::chrono::seconds(300)))
      << "the day did not start";
  ASSERT_TRUE(servers.run("restart-redis"));
  ASSERT_TRUE(pipeline_test::spin_until([&] { return seen("chaos: SIGKILL phase3_analytics"); }, std::chrono::seconds(300)))
      << "Phase 3 did not start";
  ASSERT_TRUE(servers.run("restart"));
  status = testing::wait_child(pid, std::chrono::seconds(600));
  ASSERT_TRUE(status) << "the multi-process demo hung";
  stop_on_exit.pid = -1;
  ASSERT_TRUE(testing::exited_cleanly(*status)) << testing::describe_status(*status) << "; see " << progress;
  const json day = read_json(out);
  ASSERT_FALSE(day.is_discarded());

  // The same decisions, processor sets and rows as the in-process day.
  EXPECT_EQ(decisions(day), decisions(reference));
  EXPECT_EQ(day["tables"], reference["tables"]);
  for (const char* key : {"predictions", "prediction_versions", "expected", "done", "coverage", "update"})
    EXPECT_EQ(day["phase5"][key], reference["phase5"][key]) << key;
  EXPECT_EQ(rows_of(day["warehouse"].get<std::string>(), date), rows_of(ref_wh, date));

  // What held through the faults.
  const json& d = day["distributed"];
  EXPECT_EQ(d["kills"], 4);
  // Each killed process restarted, and any that died while a server was restarting.
  EXPECT_GE(d["restarts"].get<int>(), 4);
  EXPECT_GE(d["redeliveries"].get<int>(), 1);
  for (const auto& [topic, waves] : d["decisions"].items())
    for (const auto& [wave, n] : waves.items()) EXPECT_EQ(n, 1) << topic << " wave " << wave << " decided more than once";
  EXPECT_EQ(d["decisions"].size(), 3u);
  EXPECT_EQ(d["max_successes_per_processor_wave"], 1) << d["max_successes_processor"];
  EXPECT_EQ(d["undelivered"], json::array());
  EXPECT_EQ(d["unacked"], json::object());
  EXPECT_EQ(d["outbox_unsent"], 0);
  EXPECT_EQ(d["poison"]["dead_lettered"], true);
  EXPECT_GE(d["dlq_alerts"].get<int>(), 1);
  for (const auto& p : d["processes"]) EXPECT_EQ(p["exit_code"], 0) << p["role"] << " did not drain on SIGTERM";
}

}  // namespace pipeline::distributed_demo_test
