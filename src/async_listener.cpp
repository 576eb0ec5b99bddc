// async_listener: the queue between tcp_listener's accepts and the coroutine's accept().
#include "tfd/async_listener.hpp"

namespace tfd {

async_listener::async_listener(event_loop& loop, const std::string& address, std::uint16_t port,
                               options opts)
    : loop_(&loop),
      options_(opts),
      listener_(
          loop, address, port,
          [this](unique_fd socket, const tcp_endpoint& peer) {
              on_accept(std::move(socket), peer);
          },
          opts.listen) {}

async_listener::~async_listener() = default;

void async_listener::on_accept(unique_fd socket, const tcp_endpoint& peer) {
    // The limit is on connections nobody waits for: a waiting accept() takes this one at
    // once (through the queue, which is empty while someone waits), even with max_queued 0.
    if (!accepting_.occupied() && queue_.size() >= options_.max_queued) {
        ++overflowed_;  // `socket` closes here: the client sees its connection closed
        return;
    }
    queue_.push_back(accepted{std::move(socket), peer});
    accepting_.complete();
}

void async_listener::close() noexcept {
    closed_ = true;
    listener_.close();
    queue_.clear();
    accepting_.complete();  // finds the queue empty and the listener closed: EBADF
}

}  // namespace tfd
