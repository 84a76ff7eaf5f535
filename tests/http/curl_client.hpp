#pragma once
// Drives an HTTP server with the real `curl` binary as a child process. Every call has a
// deadline (curl's --max-time, and wait_child's), never a fixed sleep.

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "child_process.hpp"

namespace pipeline::testing {

struct CurlResult {
  int exit_code = -1;     // curl's exit status (0: a full HTTP exchange happened)
  int status = 0;         // the HTTP status code (0 when none was read)
  std::string body;
  std::string headers;    // the response headers as received
  std::string stderr_text;
  [[nodiscard]] bool has_header(const std::string& line_part) const {
    return headers.find(line_part) != std::string::npos;
  }
};

inline std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Starts curl with `args` and returns its pid; output files under `dir` with `tag`.
inline pid_t spawn_curl(const std::string& dir, const std::string& tag, const std::vector<std::string>& args,
                        int max_time_seconds = 60) {
  std::vector<std::string> argv{"curl",
                                "-sS",
                                "--max-time",
                                std::to_string(max_time_seconds),
                                "-o",
                                dir + "/" + tag + ".body",
                                "-D",
                                dir + "/" + tag + ".headers",
                                "-w",
                                "%{http_code}"};
  argv.insert(argv.end(), args.begin(), args.end());
  // Everything the child needs is built before fork (the parent has threads).
  const std::string code_path = dir + "/" + tag + ".code", err_path = dir + "/" + tag + ".stderr";
  std::vector<char*> cargv;
  for (auto& a : argv) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int out = ::open(code_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (out < 0 || err < 0) ::_exit(126);
    ::dup2(out, 1);
    ::dup2(err, 2);
    ::execvp("curl", cargv.data());
    ::_exit(127);
  }
  return pid;
}

// Waits for a curl started by spawn_curl and reads what it wrote.
inline CurlResult finish_curl(pid_t pid, const std::string& dir, const std::string& tag) {
  CurlResult r;
  auto status = wait_child(pid, std::chrono::seconds(120));
  if (!status) {
    r.stderr_text = "curl did not finish within its deadline";
    return r;
  }
  r.exit_code = WIFEXITED(*status) ? WEXITSTATUS(*status) : -1;
  const std::string code = slurp(dir + "/" + tag + ".code");
  r.status = std::atoi(code.c_str());
  r.body = slurp(dir + "/" + tag + ".body");
  r.headers = slurp(dir + "/" + tag + ".headers");
  r.stderr_text = slurp(dir + "/" + tag + ".stderr");
  return r;
}

inline CurlResult run_curl(const std::string& dir, const std::vector<std::string>& args, int max_time_seconds = 60) {
  static int counter = 0;
  const std::string tag = "curl" + std::to_string(++counter);
  return finish_curl(spawn_curl(dir, tag, args, max_time_seconds), dir, tag);
}

// POSTs `body` (written to a numbered file under `dir` first, so any bytes go as they are)
// to `url` with each of `headers` ("Name: value").
inline CurlResult post_body(const std::string& dir, const std::string& url, const std::string& body,
                            const std::vector<std::string>& headers) {
  static int counter = 0;
  const std::string file = dir + "/post" + std::to_string(++counter) + ".data";
  std::ofstream(file, std::ios::binary) << body;
  std::vector<std::string> args;
  for (const auto& h : headers) {
    args.push_back("-H");
    args.push_back(h);
  }
  args.push_back("--data-binary");
  args.push_back("@" + file);
  args.push_back(url);
  return run_curl(dir, args);
}

// Runs `sh -c command`; returns its exit status and output (stdout and stderr together).
inline std::pair<int, std::string> run_shell(const std::string& dir, const std::string& command) {
  static int counter = 0;
  const std::string out = dir + "/sh" + std::to_string(++counter) + ".out";
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) ::_exit(126);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    ::execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  auto status = wait_child(pid, std::chrono::seconds(120));
  if (!status) return {-1, "timed out"};
  return {WIFEXITED(*status) ? WEXITSTATUS(*status) : -1, slurp(out)};
}

}  // namespace pipeline::testing
