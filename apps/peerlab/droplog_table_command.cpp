// peerlab droplog-table: runs the droplog designs over the pure channel
// harness (protocols/droplog/testing/) and prints, or writes into the docs,
// the markdown goodput table.
#include "apps/peerlab/droplog_table_command.hpp"

#include "apps/peerlab/args.hpp"
#include "apps/peerlab/sim_run.hpp"
#include "protocols/droplog/testing/figures_table.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace peerlab::app {

namespace {

namespace dt = droplog::testing;

const char* const begin_marker = "<!-- droplog-table begin -->";
const char* const end_marker = "<!-- droplog-table end -->";

const command_help table_help{
  "droplog-table",
  "[options]",
  "Runs the droplog designs over the simulated file-drop channel and prints the goodput table.",
  {{"seed", "N", "the channel and workload seed (default 2026)"},
   {"messages", "N", "messages each way per run (default 1000, 1..100000)"},
   {"update", "FILE", "also replace the table between the droplog-table markers of FILE"}},
  "Designs coded (adaptive + erasure_coding), adaptive and fixed5s (5 s fixed timeout, fixed\n"
  "16 KiB packets, 5 NACK copies); truncation 0, 0.10, 0.50, 0.75; channels uniform (a cut\n"
  "file is cut at a uniformly random byte) and size (P(cut) = 1 - exp(-size / S), S set so\n"
  "that the median file of adaptive on the lossless channel, 1000 messages each way, is cut\n"
  "at the row's rate). Delay 0.5..1.5 s and bit rot 1e-4 per byte in every run.\n"
  "Every run must deliver every message exactly once, in order, intact: exit 1 otherwise,\n"
  "and FILE is then left as it was. FILE must hold the lines\n"
  "<!-- droplog-table begin --> and <!-- droplog-table end -->."};

std::string caption(const dt::figure_table& t) {
  char buf[512];
  std::snprintf(
    buf, sizeof buf,
    "Seed %llu, %zu messages each way. Reference file for the `size` channel: %.0f B "
    "(the median file of `adaptive` on the lossless channel, 1000 messages each way); a "
    "file of that size is "
    "cut at the row's rate, larger files more often.\n\n",
    static_cast<unsigned long long>(t.seed), t.messages, t.reference_bytes);
  return buf;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw usage_error("--update: cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_file(const std::string& path, const std::string& text) {
  // A temporary next to it, then a rename: FILE is never half-written.
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out.flush())
      throw std::runtime_error("cannot write " + tmp);
  }
  std::filesystem::rename(tmp, path);
}

} // namespace

int droplog_table_command(int argc, char** argv) {
  return run_parsed(table_help, argc, argv, [&](const args& a) {
    if (!a.positional().empty())
      throw usage_error("droplog-table takes no positional arguments (got \"" + a.positional()[0] +
                        "\")");
    std::uint64_t seed = 2026;
    if (auto s = a.value("seed"))
      seed = parse_seed(*s);
    std::size_t messages = 1000;
    if (auto m = a.count("messages")) {
      if (*m < 1 || *m > 100000)
        throw usage_error("--messages: expected 1..100000, got " + std::to_string(*m));
      messages = static_cast<std::size_t>(*m);
    }
    // Read FILE and find its markers before the runs: a wrong FILE fails at once.
    std::string doc;
    auto update = a.value("update");
    if (update) {
      doc = read_file(*update);
      try {
        dt::replace_between(doc, begin_marker, end_marker, "");
      } catch (const std::invalid_argument& e) {
        throw usage_error("--update " + *update + ": " + e.what());
      }
    }

    auto t = dt::run_figure_table(seed, messages);
    const std::string text = caption(t) + dt::markdown(t);
    std::fputs(text.c_str(), stdout);
    std::fflush(stdout);
    std::size_t bad = 0;
    for (auto& r : t.rows)
      if (!r.complete) {
        ++bad;
        std::fprintf(stderr, "%s %s %.2f: %s\n", r.design.c_str(), r.channel.c_str(), r.truncate,
                     r.first_problem.c_str());
      }
    if (bad > 0) {
      std::fprintf(stderr, "peerlab droplog-table: %zu of %zu runs did not deliver everything\n",
                   bad, t.rows.size());
      return exit_code::failed;
    }
    std::fprintf(stderr, "all %zu runs delivered every message exactly once\n", t.rows.size());
    if (update) {
      write_file(*update, dt::replace_between(doc, begin_marker, end_marker, text));
      std::fprintf(stderr, "updated %s\n", update->c_str());
    }
    return exit_code::ok;
  });
}

} // namespace peerlab::app
