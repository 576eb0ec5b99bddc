#include "fd_registry.hpp"

#include <cerrno>
#include <string>
#include <system_error>

#include "sys/sys.hpp"
#include "tfd/handle.hpp"

namespace tfd::detail {

fd_registry::fd_registry(backend_kind kind) : backend_(make_backend(kind)) {}

fd_registry::~fd_registry() {
    for (fd_node* node : internal_) {
        delete node;
    }
}

void fd_registry::add(fd_node* node) {
    const int fd = node->fd;
    auto index = static_cast<std::size_t>(fd);
    if (index < by_fd_.size() && by_fd_[index] != nullptr) {
        throw std::system_error(
            std::make_error_code(std::errc::file_exists),
            "event_loop::watch: fd=" + std::to_string(fd) + " already has a watcher");
    }
    // Everything that can fail for lack of memory comes before the backend registration, so
    // a failure leaves nothing registered.  A number beyond the table is checked first (EBADF,
    // as the backend would word it): the table grows to its size, which a number no
    // descriptor has (a stray 1 << 30) must not cost.
    if (index >= by_fd_.size()) {
        check_open(backend_->kind(), fd);
        by_fd_.resize(index + 1, nullptr);
    }
    backend_->add(fd, node->interest);
    by_fd_[index] = node;
    node->registered = true;
    node->registered_pass = pass_;
    if (!node->internal) {
        ++user_registered_;
    }
}

fd_node* fd_registry::watch(int fd, io_events interest, fd_callback callback) {
    if (fd < 0) {
        throw std::system_error(std::make_error_code(std::errc::bad_file_descriptor),
                                "event_loop::watch: fd=" + std::to_string(fd));
    }
    if (!callback) {
        usage_error("event_loop::watch", "empty callback for fd=" + std::to_string(fd));
    }
    auto node = std::make_unique<fd_node>();
    node->fd = fd;
    node->interest = interest & (io_events::readable | io_events::writable);
    node->callback = std::move(callback);
    node->owner = this;
    add(node.get());
    ++user_nodes_;
    return node.release();
}

fd_node* fd_registry::add_internal(int fd, io_events interest, fd_callback callback) {
    internal_.reserve(internal_.size() + 1);
    auto node = std::make_unique<fd_node>();
    node->fd = fd;
    node->interest = interest;
    node->internal = true;
    node->callback = std::move(callback);
    node->owner = this;
    add(node.get());
    internal_.push_back(node.get());
    return node.release();
}

void fd_registry::start(fd_node* node) {
    if (node->closed) {
        throw std::system_error(EBADF, std::system_category(),
                                "fd_watcher::start: fd=" + std::to_string(node->fd) +
                                    " was closed while watched (reported by an earlier wait); "
                                    "stop or reset the watcher");
    }
    if (!node->registered) {
        add(node);
    }
}

void fd_registry::stop(fd_node* node) noexcept {
    if (!node->registered) {
        return;
    }
    backend_->remove(node->fd);
    by_fd_[static_cast<std::size_t>(node->fd)] = nullptr;
    node->registered = false;
    if (!node->internal && !node->closed) {
        --user_registered_;
    }
    node->closed = false;
}

void fd_registry::release(fd_node* node) noexcept {
    stop(node);
    if (current_ == node) {
        node->released = true;  // freed when its callback returns
    } else {
        free_node(node);
    }
}

void fd_registry::free_node(fd_node* node) noexcept {
    --user_nodes_;
    delete node;
}

void fd_registry::set_interest(fd_node* node, io_events interest) {
    interest = interest & (io_events::readable | io_events::writable);
    if (interest != node->interest) {
        if (node->registered) {
            backend_->modify(node->fd, interest);
        }
        node->interest = interest;
    }
}

// A descriptor the loop opens for itself gets the lowest free number from the kernel, which
// can be the number of a descriptor a user closed without stopping its watcher.  Registering
// it there would fail (EEXIST, about a descriptor the user never named) or steal the user's
// events, so such a descriptor is moved above every watched number instead.
int fd_registry::unwatched_number(int fd) {
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

void fd_registry::wait(std::chrono::nanoseconds timeout) {
    ready_.clear();
    try {
        backend_->wait(timeout, ready_);
    } catch (const closed_while_watched& e) {
        // Reported once and never again: their watchers no longer deliver, so they no longer
        // keep the loop alive (run() would otherwise wait for them forever).
        for (int fd : e.fds()) {
            fd_node* node = fd >= 0 && static_cast<std::size_t>(fd) < by_fd_.size()
                                ? by_fd_[static_cast<std::size_t>(fd)]
                                : nullptr;
            if (node != nullptr && !node->internal && !node->closed) {
                node->closed = true;
                --user_registered_;
            }
        }
        throw;
    }
    ++pass_;
}

void fd_registry::dispatch() {
    for (std::size_t i = 0; i < ready_.size(); ++i) {
        ready_event event = ready_[i];
        if (event.fd < 0 || static_cast<std::size_t>(event.fd) >= by_fd_.size()) {
            continue;
        }
        fd_node* node = by_fd_[event.fd];
        if (node == nullptr || node->registered_pass == pass_) {
            continue;
        }
        io_events deliver = event.events & (node->interest | io_events::error | io_events::hangup);
        if (deliver == io_events::none) {
            continue;
        }
        struct scope {
            fd_registry& registry;
            fd_node* node;
            fd_node* previous;
            ~scope() {
                registry.current_ = previous;
                if (node->released) {
                    registry.free_node(node);
                }
            }
        } guard{*this, node, std::exchange(current_, node)};
        node->callback(deliver);
    }
    ready_.clear();
}

}  // namespace tfd::detail
