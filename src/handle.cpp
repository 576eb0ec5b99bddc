#include "tfd/handle.hpp"

#include <string>
#include <system_error>

namespace tfd::detail {

void usage_error(std::string_view operation, std::string_view why) {
    throw std::system_error(std::make_error_code(std::errc::invalid_argument),
                            std::string(operation) + ": " + std::string(why));
}

}  // namespace tfd::detail
