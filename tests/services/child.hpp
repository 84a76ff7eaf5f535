#pragma once
// Starting an example service as a child process and reading its log, for tests/services.

#include <fcntl.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "child_process.hpp"

namespace pipeline::testing {

// Starts `argv` with its stdout and stderr appended to `log` (stderr to `err_log` when
// one is given).
inline pid_t spawn(const std::vector<std::string>& argv, const std::string& log, const std::string& err_log = "") {
  const pid_t pid = ::fork();
  if (pid != 0) return pid;
  const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  const int err = err_log.empty() ? fd : ::open(err_log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (fd < 0 || err < 0) ::_exit(126);
  ::dup2(fd, 1);
  ::dup2(err, 2);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  ::execv(args[0], args.data());
  ::_exit(127);
}

// Whether a line of `log` contains `text`.
inline bool log_has(const std::string& log, const std::string& text) {
  for (const auto& line : read_lines(log))
    if (line.find(text) != std::string::npos) return true;
  return false;
}

// Runs `argv` to its end (a --once run); returns its wait status, or nullopt after a hang.
inline std::optional<int> run_to_end(const std::vector<std::string>& argv, const std::string& log) {
  const pid_t pid = spawn(argv, log);
  if (pid <= 0) return std::nullopt;
  return wait_child(pid, std::chrono::seconds(120));
}

}  // namespace pipeline::testing
