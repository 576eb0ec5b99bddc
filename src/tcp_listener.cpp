#include "tfd/tcp_listener.hpp"

#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <system_error>
#include <utility>

#include "sys/sys.hpp"
#include "tfd/time_convert.hpp"

namespace tfd {
namespace {

[[noreturn]] void fail(const char* operation, const tcp_endpoint& where) {
    int error = errno;
    throw std::system_error(error, std::system_category(),
                            std::string("tcp_listener::") + operation + ": " + where.to_string());
}

unique_fd open_spare() noexcept {
    return unique_fd(sys::open("/dev/null", O_RDONLY | O_CLOEXEC));
}

[[noreturn]] void refuse_option(const std::string& setting) {
    throw std::system_error(std::make_error_code(std::errc::invalid_argument),
                            "tcp_listener: " + setting + " must be positive");
}

// An accept_batch below 1 would never accept, and the listener, readable for good, would
// make the loop spin; a pause of 0 would retry at once and spin while descriptors are out.
// (backlog may be anything: the kernel clamps it to 0..net.core.somaxconn.)
tcp_listener::options checked(tcp_listener::options opts) {
    if (opts.accept_batch < 1) {
        refuse_option("accept_batch=" + std::to_string(opts.accept_batch));
    }
    if (opts.pause <= std::chrono::nanoseconds::zero()) {
        refuse_option("pause=" + format_duration(opts.pause));
    }
    return opts;
}

// Refused at construction: the listener would call it at the first client.
accept_callback checked(accept_callback on_accept) {
    if (!on_accept) {
        throw std::system_error(std::make_error_code(std::errc::invalid_argument),
                                "tcp_listener: empty on_accept callback");
    }
    return on_accept;
}

}  // namespace

tcp_listener::tcp_listener(event_loop& loop, const std::string& host, std::uint16_t port,
                           accept_callback on_accept, options opts)
    : loop_(loop), options_(checked(opts)), on_accept_(checked(std::move(on_accept))) {
    tcp_endpoint where = tcp_endpoint::resolve(host, port);
    fd_.reset(sys::socket(where.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd_) {
        fail("socket", where);
    }
    int on = 1;
    if (sys::setsockopt(fd_.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) != 0) {
        fail("setsockopt", where);
    }
    if (where.family() == AF_INET6 &&
        sys::setsockopt(fd_.get(), IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on) != 0) {
        fail("setsockopt", where);
    }
    if (sys::bind(fd_.get(), where.data(), where.size()) != 0) {
        fail("bind", where);
    }
    if (sys::listen(fd_.get(), options_.backlog) != 0) {
        fail("listen", where);
    }
    sockaddr_storage bound{};
    socklen_t size = sizeof bound;
    if (sys::getsockname(fd_.get(), reinterpret_cast<sockaddr*>(&bound), &size) != 0) {
        fail("getsockname", where);
    }
    bound_ = tcp_endpoint(reinterpret_cast<const sockaddr*>(&bound), size);
    spare_ = open_spare();
    watcher_ = loop_.watch(fd_.get(), io_events::readable, [this](io_events) { on_readable(); });
    // The resume timer is made now and kept stopped: pausing happens when descriptors have
    // run out, and the loop's first timer on a clock needs one (its timer_fd).
    resume_ = loop_.after(options_.pause, [this](std::uint64_t) {
        if (fd_) {
            watcher_.set_interest(io_events::readable);
        }
    });
    resume_.stop();
}

tcp_listener::~tcp_listener() {
    if (alive_ != nullptr) {
        *alive_ = false;
    }
}

// on_accept and on_refused may destroy the listener (an async_listener's accept() resumes a
// coroutine there, whose frame may own it): `alive_` points at a flag on this stack frame
// that the destructor clears, and nothing is touched once it is.  Nested calls chain their
// flags, as in tcp_connection::guarded.
void tcp_listener::on_readable() {
    bool alive = true;
    struct restore {
        tcp_listener* self;
        bool& alive;
        bool* outer;
        ~restore() {
            if (alive) {
                self->alive_ = outer;
            } else if (outer != nullptr) {
                *outer = false;
            }
        }
    } guard{this, alive, std::exchange(alive_, &alive)};
    for (int i = 0; i < options_.accept_batch; ++i) {
        sockaddr_storage peer{};
        socklen_t size = sizeof peer;
        int fd = sys::accept4(fd_.get(), reinterpret_cast<sockaddr*>(&peer), &size,
                              SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            unique_fd connection(fd);
            tcp_endpoint from(reinterpret_cast<const sockaddr*>(&peer), size);
            if (watchable(connection, from)) {
                on_accept_(std::move(connection), from);
            }
            if (!alive || !fd_) {
                return;  // a callback destroyed or closed the listener
            }
            continue;
        }
        switch (errno) {
            case EAGAIN:
                return;
            case EINTR:
            case ECONNABORTED:
            case EPROTO:
            case EPERM:  // a firewall rule refused this one
                continue;
            case EMFILE:
            case ENFILE:
                if (shed_one()) {
                    continue;
                }
                pause_accepting();
                return;
            case ENOBUFS:
            case ENOMEM:
                pause_accepting();
                return;
            default:
                throw std::system_error(errno, std::system_category(),
                                        "tcp_listener::accept: fd=" + std::to_string(fd_.get()));
        }
    }
}

// Asks the loop for a watcher on the new connection, and gives it back at once: whoever takes
// the connection watches it next, and this finds out first whether that can work.  The
// select backend refuses descriptors >= FD_SETSIZE; a kernel short of memory for epoll's
// interest list refuses too.  On epoll the check costs two epoll_ctl calls per connection.
// Returns false, having closed the connection and reported it, when the loop refuses.
bool tcp_listener::watchable(unique_fd& connection, const tcp_endpoint& peer) {
    try {
        fd_watcher check = loop_.watch(connection.get(), io_events::none, [](io_events) {});
    } catch (const std::system_error& error) {
        connection.reset();
        ++rejected_;
        if (on_refused_) {
            on_refused_(peer, error);
        }
        return false;
    }
    return true;
}

// Frees the spare descriptor to accept and drop one waiting connection.  Returns false when
// there was no spare or the accept still failed.
bool tcp_listener::shed_one() noexcept {
    if (!spare_) {
        spare_ = open_spare();  // perhaps descriptors were freed since
        return false;
    }
    spare_.reset();
    int fd = sys::accept4(fd_.get(), nullptr, nullptr, SOCK_CLOEXEC);
    bool shed = fd >= 0;
    if (shed) {
        (void)sys::close(fd);
        ++rejected_;
    }
    spare_ = open_spare();
    return shed;
}

void tcp_listener::pause_accepting() {
    ++paused_;
    watcher_.set_interest(io_events::none);
    resume_.restart_after(options_.pause);
}

void tcp_listener::close() noexcept {
    resume_.reset();
    watcher_.stop();
    fd_.reset();
    spare_.reset();
}

}  // namespace tfd
