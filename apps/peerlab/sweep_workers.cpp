#include "apps/peerlab/sweep_workers.hpp"

#include "apps/peerlab/sweep_plan.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace peerlab::app {

namespace {

std::string exit_outcome(int status) {
  if (WIFEXITED(status)) {
    switch (WEXITSTATUS(status)) {
    case 0:
      return "ok";
    case 1:
      return "checker failed";
    case 2:
      return "bad usage (exit 2)";
    default:
      return "runtime error";
    }
  }
  return "killed by signal " + std::to_string(WTERMSIG(status));
}

pid_t spawn(const std::vector<std::string>& argv, const std::string& log) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  std::vector<char*> av;
  for (auto& a : argv)
    av.push_back(const_cast<char*>(a.c_str()));
  av.push_back(nullptr);
  pid_t pid = 0;
  int rc = posix_spawn(&pid, argv[0].c_str(), &fa, nullptr, av.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0)
    throw std::runtime_error("cannot start " + argv[0] + ": " + std::strerror(rc));
  return pid;
}

// Runs a shell command; its stdout and stderr together, and its exit status.
std::pair<int, std::string> capture(const std::string& cmd) {
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  if (!p)
    return {-1, "cannot run " + cmd};
  std::string out;
  char buf[4096];
  while (std::size_t n = std::fread(buf, 1, sizeof buf, p))
    out.append(buf, n);
  int st = pclose(p);
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, out};
}

bool final_state(const std::string& s) {
  static const std::set<std::string> finals{
    "COMPLETED", "FAILED",   "CANCELLED",     "TIMEOUT",      "NODE_FAIL", "PREEMPTED",
    "BOOT_FAIL", "DEADLINE", "OUT_OF_MEMORY", "SPECIAL_EXIT", "REVOKED"};
  return finals.count(s.substr(0, s.find(' '))) != 0;
}

} // namespace

std::string self_executable() {
  char buf[4096];
  auto n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0)
    throw std::runtime_error("cannot find the peerlab executable (/proc/self/exe)");
  return std::string(buf, static_cast<std::size_t>(n));
}

void run_local(std::size_t tasks, unsigned jobs,
               const std::function<std::vector<std::string>(std::size_t)>& argv_of,
               const std::function<std::string(std::size_t)>& log_of, const task_done& done) {
  std::map<pid_t, std::size_t> running;
  std::size_t next = 0;
  std::exception_ptr failure;
  while (next < tasks || !running.empty()) {
    while (!failure && running.size() < jobs && next < tasks) {
      try {
        running[spawn(argv_of(next), log_of(next))] = next;
        ++next;
      } catch (...) {
        failure = std::current_exception();
      }
    }
    if (running.empty())
      break;
    int st = 0;
    pid_t pid = waitpid(-1, &st, 0);
    if (pid < 0) {
      if (errno == EINTR)
        continue;
      throw std::runtime_error(std::string("waitpid: ") + std::strerror(errno));
    }
    auto it = running.find(pid);
    if (it == running.end())
      continue;
    auto task = it->second;
    running.erase(it);
    done(task, exit_outcome(st));
  }
  if (failure)
    std::rethrow_exception(failure);
}

std::string run_slurm(std::size_t tasks, unsigned jobs, const std::string& wrap,
                      const std::string& shard_dir, const task_done& done) {
  std::string array = "0-" + std::to_string(tasks - 1);
  if (jobs > 0)
    array += "%" + std::to_string(jobs);
  auto [rc, out] =
    capture("sbatch --parsable --array=" + array + " --job-name=peerlab-sweep -o " +
            shell_quote(shard_dir + "/slurm-%A_%a.out") + " --wrap " + shell_quote(wrap));
  std::string job = out.substr(0, out.find_first_of(";\n"));
  if (rc != 0 || job.empty() || job.find_first_not_of("0123456789") != std::string::npos)
    throw std::runtime_error("sbatch failed (exit " + std::to_string(rc) + "): " + out);
  std::fprintf(stderr, "submitted Slurm job array %s (%zu tasks)\n", job.c_str(), tasks);
  // Poll squeue (sbatch --wait polls at 2, 8 and 32 s); a job that left
  // squeue's view for good (MinJobAge) counts as ended.
  std::map<std::size_t, std::string> ended;
  int errors = 0, empty = 0;
  while (ended.size() < tasks) {
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    auto [qrc, q] = capture("squeue -h -r -j " + job + " -t all -o '%i %T'");
    if (qrc != 0) {
      if (++errors >= 40)
        throw std::runtime_error("squeue keeps failing for job " + job + ": " + q);
      continue;
    }
    errors = 0;
    std::istringstream lines(q);
    std::string line;
    bool any = false;
    while (std::getline(lines, line)) {
      auto us = line.find('_'), sp = line.find(' ');
      if (us == std::string::npos || sp == std::string::npos || us > sp)
        continue;
      any = true;
      auto id = line.substr(us + 1, sp - us - 1);
      if (id.empty() || id.find_first_not_of("0123456789") != std::string::npos)
        continue; // a pending range such as [3-7]
      auto task = static_cast<std::size_t>(std::stoull(id));
      auto state = line.substr(sp + 1);
      if (task < tasks && final_state(state) && !ended.count(task)) {
        ended[task] = state;
        done(task, state == "COMPLETED" ? "ok" : state);
      }
    }
    if (!any && ++empty >= 20)
      break;
    if (any)
      empty = 0;
  }
  return job;
}

} // namespace peerlab::app
