#include "net/drop_transport.hpp"

#include "protocols/droplog/codec.hpp"
#include "protocols/droplog/droplog.hpp"

#include <boost/asio/post.hpp>

#include <charconv>
#include <stdexcept>
#include <system_error>

#include <sys/inotify.h>
#include <unistd.h>

namespace peerlab::net {

namespace asio = boost::asio;

namespace {

int open_inotify(const std::filesystem::path& dir) {
  int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0)
    throw std::runtime_error("inotify: " + std::system_category().message(errno));
  if (::inotify_add_watch(fd, dir.c_str(), IN_MOVED_TO | IN_CLOSE_WRITE) < 0) {
    auto why = std::system_category().message(errno);
    ::close(fd);
    throw std::runtime_error("cannot watch folder " + dir.string() + ": " + why);
  }
  return fd;
}

std::optional<std::uint64_t> parse_u64(std::string_view s) {
  std::uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty())
    return std::nullopt;
  return v;
}

} // namespace

drop_transport::drop_transport(asio::io_context& io, drop_folders_config cfg, peer_id self,
                               deliver_fn deliver, log_fn log, count_fn count)
    : io_(io), cfg_(std::move(cfg)), self_(self), deliver_(std::move(deliver)),
      log_(std::move(log)), count_(std::move(count)),
      folder_(cfg_.out_dir, cfg_.in_dir, self_, cfg_.limits), inotify_(io), rescan_(io) {
  inotify_.assign(open_inotify(folder_.incoming_dir()));
}

drop_transport::~drop_transport() {
  boost::system::error_code ec;
  inotify_.close(ec);
}

void drop_transport::start() {
  running_ = true;
  watch();
  arm_rescan();
  request_scan(); // files that arrived while the node was down
}

void drop_transport::stop() {
  running_ = false;
  open_ = false;
  boost::system::error_code ec;
  inotify_.cancel(ec);
  rescan_.cancel();
}

void drop_transport::watch() {
  inotify_.async_read_some(asio::buffer(events_),
                           [this](const boost::system::error_code& ec, std::size_t) {
                             if (ec || !running_)
                               return; // cancelled at stop; the rescan still runs otherwise
                             // Which file does not matter: a scan reads every new one.
                             request_scan();
                             watch();
                           });
}

void drop_transport::arm_rescan() {
  rescan_.expires_after(std::chrono::microseconds(cfg_.rescan_interval));
  rescan_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || !running_)
      return;
    count_("drop.rescans", 1);
    request_scan();
    arm_rescan();
  });
}

void drop_transport::request_scan() {
  if (scan_posted_ || !running_)
    return; // one scan pending covers every event before it
  scan_posted_ = true;
  asio::post(io_, [this] {
    scan_posted_ = false;
    if (running_)
      scan();
  });
}

void drop_transport::scan() {
  auto files = folder_.scan();
  for (auto& f : files) {
    auto r = droplog::peek_route({f.data.data(), f.data.size()});
    if (!r || r->sender != f.route.sender || r->recipient != self_ ||
        r->packet_id != f.route.packet_id) {
      // Not a droplog packet, or its header names another sender, recipient
      // or packet than its file name: nobody will ever read it.
      count_("drop.files_rejected", 1);
      log_("drop folder: rejected and deleted " + (folder_.incoming_dir() / f.name).string() +
           ": " + (r ? "its header does not match its name" : "not a droplog packet"));
      folder_.remove_incoming(f.name);
      continue;
    }
    count_("drop.files_read", 1);
    count_("drop.bytes_read", static_cast<double>(f.data.size()));
    bytes frame;
    frame.reserve(f.data.size() + 1);
    frame.push_back(ports::droplog);
    frame.insert(frame.end(), f.data.begin(), f.data.end());
    f.data = {};
    deliver_(f.route.sender, std::move(frame));
  }
  if (files.size() >= cfg_.limits.max_files_per_scan)
    request_scan(); // a bounded scan: more may be waiting
}

void drop_transport::send(peer_id to, bytes frame) {
  const auto size = frame.size();
  if (!open_) {
    count_("drop.frames_dropped_stopped", 1);
    return;
  }
  if (queued_bytes_.fetch_add(size) + size > cfg_.max_write_queue_bytes) {
    queued_bytes_.fetch_sub(size);
    count_("drop.frames_dropped_queue_full", 1);
    log_("drop folder: dropped a packet for " + hex16(to) + ": " +
         std::to_string(cfg_.max_write_queue_bytes) +
         " bytes already wait to be written (the log sends it again)");
    return;
  }
  asio::post(io_, [this, to, f = std::move(frame), size] {
    queued_bytes_.fetch_sub(size);
    if (running_)
      write(to, f);
  });
}

void drop_transport::write(peer_id to, const bytes& frame) {
  byte_view file{frame.data() + 1, frame.size() - 1};
  auto r = frame.size() > 1 ? droplog::peek_route(file) : std::nullopt;
  if (!r || r->recipient != to || r->sender != self_) { // the role's own files: a bug
    count_("drop.frames_dropped_malformed", 1);
    log_("drop folder: a frame for " + hex16(to) + " is not a packet from this node to it");
    return;
  }
  try {
    folder_.write(to, r->packet_id, file);
    count_("drop.files_written", 1);
    count_("drop.bytes_written", static_cast<double>(file.size()));
  } catch (const std::exception& e) {
    count_("drop.write_errors", 1);
    log_(std::string("drop folder: ") + e.what()); // the log retransmits what was lost
  }
}

void drop_transport::remove(std::string files) {
  if (!open_)
    return;
  asio::post(io_, [this, f = std::move(files)] {
    if (running_)
      remove_now(f);
  });
}

void drop_transport::remove_now(const std::string& files) {
  std::string_view rest = files;
  while (!rest.empty()) {
    auto sp = rest.find(' ');
    auto tok = rest.substr(0, sp);
    rest = sp == std::string_view::npos ? std::string_view{} : rest.substr(sp + 1);
    auto c1 = tok.find(':'), c2 = tok.rfind(':');
    if (tok.size() < 5 || c1 != 1 || c2 <= c1)
      continue;
    auto peer = parse_u64(tok.substr(2, c2 - 2)), id = parse_u64(tok.substr(c2 + 1));
    if (!peer || !id)
      continue;
    bool gone =
      tok[0] == 'o' ? folder_.remove_outgoing(*peer, *id) : folder_.remove_incoming(*peer, *id);
    count_(gone ? "drop.files_deleted" : "drop.files_already_gone", 1);
  }
}

} // namespace peerlab::net
