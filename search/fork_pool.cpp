#include "search/fork_pool.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <exception>
#include <stdexcept>

namespace codesim::search {

namespace {

using Clock = std::chrono::steady_clock;

struct Child {
  size_t task = 0;
  pid_t pid = -1;
  int out = -1;  // result pipe: 'O' or 'E', then the payload or message
  int err = -1;  // the child's stderr (kept for crash reports)
  std::string out_buf, err_buf;
  Clock::time_point start;
  bool timed_out = false;
};

void write_all(int fd, const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    const ssize_t n = ::write(fd, s.data() + off, s.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return;
    }
    off += static_cast<size_t>(n);
  }
}

// Reads what is available; returns false at end of file.
bool drain(int fd, std::string& buf) {
  char tmp[65536];
  const ssize_t n = ::read(fd, tmp, sizeof tmp);
  if (n > 0) {
    buf.append(tmp, static_cast<size_t>(n));
    return true;
  }
  return n < 0 && (errno == EINTR || errno == EAGAIN);
}

[[noreturn]] void run_child(size_t i, const std::function<std::string(size_t)>& task, int out,
                            int err) {
  ::dup2(err, STDERR_FILENO);
  const int null = ::open("/dev/null", O_WRONLY);
  if (null >= 0) ::dup2(null, STDOUT_FILENO);
  std::string msg;
  try {
    msg = "O" + task(i);
  } catch (const std::exception& e) {
    msg = std::string("E") + e.what();
  } catch (...) {
    msg = "Eunknown exception";
  }
  write_all(out, msg);
  // _exit: no atexit handlers, static destructors or stdio flushes of the parent's state.
  ::_exit(0);
}

std::string tail(const std::string& s, size_t n) {
  std::string t = s.size() > n ? "..." + s.substr(s.size() - n) : s;
  while (!t.empty() && (t.back() == '\n' || t.back() == '\r')) t.pop_back();
  return t;
}

}  // namespace

void run_forked(size_t count, const std::function<std::string(size_t)>& task,
                const PoolOptions& options,
                const std::function<void(size_t, const TaskOutcome&)>& done) {
  const size_t workers = static_cast<size_t>(std::max(1, options.workers));
  std::vector<Child> running;
  size_t next = 0;
  std::fflush(nullptr);  // the child must not flush the parent's buffered output again
  while (next < count || !running.empty()) {
    while (next < count && running.size() < workers) {
      int out[2], err[2];
      if (::pipe(out) != 0 || ::pipe(err) != 0) throw std::runtime_error("pipe() failed");
      const pid_t pid = ::fork();
      if (pid < 0) throw std::runtime_error(std::string("fork() failed: ") + std::strerror(errno));
      if (pid == 0) {
        ::close(out[0]);
        ::close(err[0]);
        for (const auto& c : running) {
          ::close(c.out);
          ::close(c.err);
        }
        run_child(next, task, out[1], err[1]);
      }
      ::close(out[1]);
      ::close(err[1]);
      Child c;
      c.task = next++;
      c.pid = pid;
      c.out = out[0];
      c.err = err[0];
      c.start = Clock::now();
      running.push_back(std::move(c));
    }
    std::vector<pollfd> fds;
    for (const auto& c : running) {
      if (c.out >= 0) fds.push_back({c.out, POLLIN, 0});
      if (c.err >= 0) fds.push_back({c.err, POLLIN, 0});
    }
    ::poll(fds.data(), fds.size(), 100);
    for (const auto& f : fds) {
      if (!(f.revents & (POLLIN | POLLHUP | POLLERR))) continue;
      for (auto& c : running) {
        if (f.fd == c.out && !drain(c.out, c.out_buf)) {
          ::close(c.out);
          c.out = -1;
        } else if (f.fd == c.err && !drain(c.err, c.err_buf)) {
          ::close(c.err);
          c.err = -1;
        }
      }
    }
    const auto now = Clock::now();
    for (size_t k = 0; k < running.size();) {
      Child& c = running[k];
      const double elapsed = std::chrono::duration<double>(now - c.start).count();
      if (!c.timed_out && options.timeout_seconds > 0 && elapsed > options.timeout_seconds) {
        ::kill(c.pid, SIGKILL);
        c.timed_out = true;
      }
      if (c.out >= 0 || (c.err >= 0 && !c.timed_out)) {
        ++k;
        continue;
      }
      int status = 0;
      if (::waitpid(c.pid, &status, c.timed_out ? 0 : WNOHANG) == 0) {
        ++k;
        continue;
      }
      if (c.err >= 0) ::close(c.err);
      TaskOutcome o;
      o.seconds = elapsed;
      if (c.timed_out) {
        char limit[32];
        std::snprintf(limit, sizeof limit, "%g", options.timeout_seconds);
        o.error = std::string("timeout: killed after ") + limit + " s";
      } else if (WIFSIGNALED(status)) {
        o.error = std::string("crashed: signal ") + std::to_string(WTERMSIG(status)) + " (" +
                  strsignal(WTERMSIG(status)) + ")";
        if (!c.err_buf.empty()) o.error += ": " + tail(c.err_buf, 400);
      } else if (!c.out_buf.empty() && c.out_buf[0] == 'O') {
        o.ok = true;
        o.payload = c.out_buf.substr(1);
      } else if (!c.out_buf.empty() && c.out_buf[0] == 'E') {
        o.error = c.out_buf.substr(1);
      } else {
        o.error = "worker exited with status " + std::to_string(WEXITSTATUS(status)) +
                  " without a result";
        if (!c.err_buf.empty()) o.error += ": " + tail(c.err_buf, 400);
      }
      const size_t task_index = c.task;
      running.erase(running.begin() + static_cast<long>(k));
      done(task_index, o);
    }
  }
}

}  // namespace codesim::search
