// fd watchers: registration with the backend and the handle's operations.
#include "tfd/fd_watcher.hpp"

#include <cerrno>
#include <string>
#include <system_error>

#include "loop_impl.hpp"
#include "sys/sys.hpp"

namespace tfd {
namespace detail {

fd_node* loop_impl::register_fd(int fd, io_events interest, bool internal, fd_callback callback) {
    if (fd < 0) {
        throw std::system_error(std::make_error_code(std::errc::bad_file_descriptor),
                                "event_loop::watch: fd=" + std::to_string(fd));
    }
    auto index = static_cast<std::size_t>(fd);
    if (index < by_fd_.size() && by_fd_[index] != nullptr) {
        throw std::system_error(
            std::make_error_code(std::errc::file_exists),
            "event_loop::watch: fd=" + std::to_string(fd) + " already has a watcher");
    }
    interest = interest & (io_events::readable | io_events::writable);
    // Everything that can fail for lack of memory comes before the backend registration, so
    // a failure leaves nothing registered.
    if (index >= by_fd_.size()) {
        by_fd_.resize(index + 1, nullptr);
    }
    auto node = std::make_unique<fd_node>(
        fd_node{fd, interest, internal, false, pass_, std::move(callback)});
    backend_->add(fd, interest);
    by_fd_[index] = node.get();
    return node.release();
}

// A descriptor the loop opens for itself gets the lowest free number from the kernel, which
// can be the number of a descriptor a user closed without stopping its watcher.  Registering
// it there would fail (EEXIST, about a descriptor the user never named) or steal the user's
// events, so such a descriptor is moved above every watched number instead.  Returns `fd`
// when its number is free in the registry, else the duplicate, which the caller adopts in
// place of `fd` (closing it).
int loop_impl::unwatched_number(int fd) {
    auto index = static_cast<std::size_t>(fd);
    if (index >= by_fd_.size() || by_fd_[index] == nullptr) {
        return fd;
    }
    int moved = sys::dup_at_least(fd, static_cast<int>(by_fd_.size()));
    if (moved < 0) {
        throw std::system_error(errno, std::system_category(),
                                "event_loop: moving the loop's own fd=" + std::to_string(fd) +
                                    " off the number of a watched (closed?) descriptor");
    }
    return moved;
}

fd_watcher loop_impl::watch(int fd, io_events interest, fd_callback callback) {
    if (!callback) {
        throw std::system_error(std::make_error_code(std::errc::invalid_argument),
                                "event_loop::watch: empty callback for fd=" + std::to_string(fd));
    }
    fd_node* node = register_fd(fd, interest, false, std::move(callback));
    ++user_fds_;
    return fd_watcher(this, node);
}

void loop_impl::release(fd_node* node) noexcept {
    backend_->remove(node->fd);
    by_fd_[static_cast<std::size_t>(node->fd)] = nullptr;
    --user_fds_;
    if (current_ == node) {
        node->released = true;  // freed when its callback returns
    } else {
        free_node(node);
    }
}

void loop_impl::set_interest(fd_node* node, io_events interest) {
    interest = interest & (io_events::readable | io_events::writable);
    if (interest != node->interest) {
        backend_->modify(node->fd, interest);
        node->interest = interest;
    }
}

}  // namespace detail

void fd_watcher::stop() noexcept {
    if (node_ != nullptr) {
        loop_->release(std::exchange(node_, nullptr));
        loop_ = nullptr;
    }
}

void fd_watcher::set_interest(io_events interest) {
    if (node_ == nullptr) {
        throw std::system_error(std::make_error_code(std::errc::invalid_argument),
                                "fd_watcher::set_interest: the watcher was stopped");
    }
    loop_->set_interest(node_, interest);
}

io_events fd_watcher::interest() const noexcept {
    return node_ != nullptr ? node_->interest : io_events::none;
}

int fd_watcher::fd() const noexcept {
    return node_ != nullptr ? node_->fd : -1;
}

}  // namespace tfd
