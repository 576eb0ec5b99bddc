#include "tfd/backend_kind.hpp"

namespace tfd {

std::string_view to_string(backend_kind kind) noexcept {
    switch (kind) {
        case backend_kind::epoll:
            return "epoll";
        case backend_kind::poll:
            return "poll";
        case backend_kind::select:
            return "select";
    }
    return "backend(unknown)";
}

std::optional<backend_kind> parse_backend_kind(std::string_view name) noexcept {
    for (backend_kind kind : {backend_kind::epoll, backend_kind::poll, backend_kind::select}) {
        if (name == to_string(kind)) {
            return kind;
        }
    }
    return std::nullopt;
}

}  // namespace tfd
