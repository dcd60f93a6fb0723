#include "net/drop_upstream.hpp"

#include "net/drop_http.hpp"
#include "protocols/droplog/drop_role.hpp"
#include "protocols/droplog/droplog.hpp"

#include <boost/asio/post.hpp>

#include <stdexcept>

namespace peerlab::net {

namespace asio = boost::asio;
namespace dh = droplog::http;

drop_upstream::drop_upstream(local_peer_host& host, drop_upstream_options o, log_fn log)
    : host_(host), o_(std::move(o)), log_(std::move(log)) {}

drop_upstream::~drop_upstream() { stop(); }

void drop_upstream::start() {
  work_.emplace(io_.get_executor());
  thread_ = std::thread([this] { io_.run(); });
  // The sink runs on the role's thread: it only hands the frame over.
  auto id = host_.open_local_peer(
    ports::droplog, std::string(droplog::upstream_peer_address) + " " + to_string(o_.upstream),
    [this](bytes frame) {
      asio::post(io_, [this, f = std::move(frame)]() mutable { on_frame(std::move(f)); });
    });
  if (id == 0) {
    stop();
    throw std::runtime_error("drop_http side b needs the droplog role on this node");
  }
  id_ = id;
}

void drop_upstream::stop() {
  if (auto id = id_.exchange(0))
    host_.close_local_peer(id); // no frame reaches the sink after this
  if (!thread_.joinable())
    return;
  work_.reset();
  io_.stop();
  thread_.join();
}

drop_upstream::counters drop_upstream::stats() const {
  return {calls_.load(), answered_.load(), busy_.load(), unreadable_.load()};
}

void drop_upstream::on_frame(bytes frame) {
  dh::decode_error err;
  auto q = frame.size() > 1
             ? dh::decode_request({frame.data() + 1, frame.size() - 1}, o_.max_body, err)
             : std::nullopt;
  if (!q) { // the role sends what it decoded: only a bug gets here
    ++unreadable_;
    log_("drop upstream: ignored a frame that is not a request: " + err.what);
    return;
  }
  ++calls_;
  if (in_flight_ < o_.max_in_flight)
    return perform(std::move(*q));
  if (queue_.size() < o_.max_queue) {
    queue_.push_back(std::move(*q));
    return;
  }
  ++busy_;
  reply(error_response(q->id, 503, "too many requests waiting for the upstream server"));
}

void drop_upstream::perform(dh::request&& q) {
  ++in_flight_;
  time_us t = o_.timeout;
  if (q.timeout_ms > 0)
    t = std::min<time_us>(t, static_cast<time_us>(q.timeout_ms) * us_per_ms);
  auto call = std::make_shared<upstream_call>(io_, o_.upstream, std::chrono::microseconds(t),
                                              o_.max_body, std::move(q), [this](dh::response&& p) {
                                                --in_flight_;
                                                reply(std::move(p));
                                                if (!queue_.empty()) {
                                                  auto next = std::move(queue_.front());
                                                  queue_.pop_front();
                                                  perform(std::move(next));
                                                }
                                              });
  call->start();
}

void drop_upstream::reply(dh::response&& p) {
  auto id = id_.load();
  if (id == 0)
    return;
  ++answered_;
  auto msg = dh::encode(p);
  bytes frame;
  frame.reserve(msg.size() + 1);
  frame.push_back(ports::droplog);
  frame.insert(frame.end(), msg.begin(), msg.end());
  host_.local_frame(id, std::move(frame));
}

} // namespace peerlab::net
