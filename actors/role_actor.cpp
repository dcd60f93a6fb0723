#include "actors/role_actor.hpp"

namespace peerlab {

namespace {

context make_context(role_actor_state& st) {
  return context{st.rt->now(),
                 st.self_id,
                 st.rt->random(st.self_id),
                 st.rt->store(st.self_id),
                 st.rt->content(st.self_id),
                 st.rt->self_address(st.self_id)};
}

void apply(role_actor_state& st) {
  auto& fx = st.fx;
  // Addresses first: a frame may go to a peer the role has just learned of.
  for (auto& [peer, addr] : fx.addresses)
    st.rt->learn_address(peer, addr);
  for (auto& c : fx.asks)
    st.rt->local_command(st.self_id, c.to, std::move(c.cmd));
  for (auto& f : fx.frames)
    st.rt->send(st.self_id, f.to, std::move(f.data));
  for (auto& t : fx.timers)
    st.rt->after(st.self_id, st.logic->port(), t.delay, t.token);
  for (auto& m : fx.metrics)
    st.rt->metric(st.self_id, m);
  for (auto& e : fx.events)
    st.rt->emit(st.self_id, st.logic->port(), std::move(e));
  fx.clear();
}

// Runs one handler of the role and then its effects. The rows it writes land
// together (table_store::begin_atomic) and before any frame it sends leaves:
// a node killed at any point never keeps half of a handler's rows, nor has
// announced what it had not yet stored.
template <class Handler>
void dispatch(role_actor_state& st, Handler&& handler) {
  auto ctx = make_context(st);
  {
    atomic_rows batch{ctx.store};
    handler(ctx);
  }
  apply(st);
}

} // namespace

caf::behavior role_actor(role_actor_t* self, runtime* rt, peer_id id, std::shared_ptr<role> logic) {
  auto& st = self->state;
  st.rt = rt;
  st.self_id = id;
  st.logic = std::move(logic);
  // CAF catches what a handler throws; hand it to the runtime so a failure
  // inside an actor stops a simulation the same way as in the direct engine.
  self->set_exception_handler([](caf::scheduled_actor* a, std::exception_ptr& e) -> caf::error {
    auto& s = static_cast<role_actor_t*>(a)->state;
    if (s.rt->failed(s.self_id, e))
      return caf::sec::runtime_error;
    return caf::scheduled_actor::default_exception_handler(a, e);
  });
  return {
    // The hot path first: CAF tries handlers in order.
    [self](frame_atom, peer_id from, const bytes& data) {
      auto& s = self->state;
      dispatch(s, [&](context& ctx) {
        s.logic->frame(ctx, from, byte_view{data.data(), data.size()}, s.fx);
      });
    },
    [self](start_atom) {
      auto& s = self->state;
      dispatch(s, [&](context& ctx) { s.logic->start(ctx, s.fx); });
    },
    [self](timer_atom, std::uint64_t token) {
      auto& s = self->state;
      dispatch(s, [&](context& ctx) { s.logic->timer(ctx, token, s.fx); });
    },
    [self](command_atom, const command& cmd) {
      auto& s = self->state;
      dispatch(s, [&](context& ctx) { deliver_command(*s.logic, ctx, cmd, s.fx); });
    },
    [self](peer_atom, peer_id peer, const std::string& address) {
      auto& s = self->state;
      dispatch(s, [&](context& ctx) { s.logic->peer_up(ctx, peer, address, s.fx); });
    },
    [self](reply_atom, port_t from, const event& e) {
      auto& s = self->state;
      dispatch(s, [&](context& ctx) { s.logic->reply(ctx, from, e, s.fx); });
    },
    [self](leave_atom) {
      auto& s = self->state;
      dispatch(s, [&](context& ctx) { s.logic->stop(ctx, s.fx); });
      self->quit();
    },
  };
}

} // namespace peerlab
