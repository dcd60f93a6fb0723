#pragma once
// The two ways a sweep runs its runs outside its own process: local worker
// processes (-j N) and one Slurm job array (--slurm). Both run task I of a
// shard folder as `peerlab sweep ... --task I --shard-dir DIR`, which writes
// DIR/shard-I.db; the caller merges the shards.
#include <cstddef>
#include <functional>
#include <string>
#include <vector>

namespace peerlab::app {

/// Called as each task ends: its index and what became of it ("ok",
/// "checker failed", "runtime error", or a Slurm state such as "FAILED").
using task_done = std::function<void(std::size_t task, const std::string& outcome)>;

/// Runs argv_of(i) for i in [0, tasks) with at most `jobs` at a time, each
/// with stdout and stderr in log_of(i). Waits for all of them.
void run_local(std::size_t tasks, unsigned jobs,
               const std::function<std::vector<std::string>(std::size_t)>& argv_of,
               const std::function<std::string(std::size_t)>& log_of, const task_done& done);

/// Submits one job array of `tasks` tasks running `wrap` (a shell command
/// that reads $SLURM_ARRAY_TASK_ID), at most `jobs` at a time if jobs > 0,
/// output in shard_dir/slurm-JOB_TASK.out, and waits (polling squeue) until
/// every task is in a final state. Throws std::runtime_error if sbatch fails
/// or squeue keeps failing. Returns the job id.
std::string run_slurm(std::size_t tasks, unsigned jobs, const std::string& wrap,
                      const std::string& shard_dir, const task_done& done);

/// The path of the running executable (/proc/self/exe).
std::string self_executable();

} // namespace peerlab::app
