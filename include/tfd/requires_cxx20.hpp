// Included first by every public tfd header, so that a translation unit compiled as an older
// C++ stops with one plain message instead of a page of errors about concepts, <span> and
// designated initializers from deep inside tfd.
#pragma once

#if __cplusplus < 202002L
#error "tfd needs C++20 or later: compile with -std=c++20 (or a newer standard)"
// A missing header is a fatal error, so the compiler stops here, before the unrelated errors
// the rest of tfd would cause.
#include <tfd_needs_cxx20_or_later>
#endif
