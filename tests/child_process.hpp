#pragma once
// For tests that fork processes and kill them: durable one-line appends that survive the
// writer's SIGKILL, and waits on children with a deadline instead of sleeps.

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

namespace pipeline::testing {

// Appends `line` and a newline in one write(2) on an O_APPEND descriptor, so lines of
// concurrent processes never interleave and a line is whole or absent. Once it returns
// the line is in the kernel's page cache, which a SIGKILL of the writer does not lose
// (`sync` adds an fsync, for what must survive the machine).
inline bool append_line(const std::string& path, const std::string& line, bool sync = false) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (fd < 0) return false;
  const std::string text = line + "\n";
  const bool ok =
      ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && (!sync || ::fsync(fd) == 0);
  ::close(fd);
  return ok;
}

inline std::vector<std::string> read_lines(const std::string& path) {
  std::vector<std::string> out;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

inline bool killed_by_sigkill(int status) { return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL; }
inline bool exited_cleanly(int status) { return WIFEXITED(status) && WEXITSTATUS(status) == 0; }

// "exited with 3", "killed by signal 6", ...
inline std::string describe_status(int status) {
  if (WIFEXITED(status)) return "exited with " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status));
  return "ended with wait status " + std::to_string(status);
}

// Waits for child `pid` to end and returns its wait status. Past `deadline` the child is
// presumed hung: it is SIGKILLed and reaped, and nullopt comes back (the caller fails).
// The deadline bounds a hang, it is not a speed requirement. Blocks in poll(2) on a
// pidfd; where pidfds are missing, polls waitpid(WNOHANG) between yields.
inline std::optional<int> wait_child(pid_t pid, std::chrono::milliseconds deadline = std::chrono::seconds(60)) {
  using Clock = std::chrono::steady_clock;
  const auto give_up = Clock::now() + deadline;
  int status = 0;
#ifdef SYS_pidfd_open
  const int fd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
#else
  const int fd = -1;
#endif
  for (;;) {
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) break;
    if (r < 0) {
      if (fd >= 0) ::close(fd);
      return std::nullopt;
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(give_up - Clock::now());
    if (left.count() <= 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      if (fd >= 0) ::close(fd);
      return std::nullopt;
    }
    if (fd >= 0) {
      pollfd p{fd, POLLIN, 0};
      (void)::poll(&p, 1, static_cast<int>(left.count()));  // readable once the child has ended
    } else {
      ::sched_yield();
    }
  }
  if (fd >= 0) ::close(fd);
  return status;
}

}  // namespace pipeline::testing
