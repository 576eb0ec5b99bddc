// The interpreter's "Did you mean ...?" for a misspelt keyword argument, computed here so that
// the backported functions word their errors as CPython 3.13's os functions do on every
// version, and the asyncio loop as the stock loop does on 3.13+.
//
// The rule is the interpreter's: among at most 750 candidate names, the one at the least
// edit distance from the name (a case change costs 1, any other insertion, deletion or
// substitution 2; common prefix and suffix ignored; names over 40 characters never match),
// provided that distance is at most (len(name) + len(candidate) + 3) * 2 / 6; ties go to the
// earlier candidate; an exact match is skipped.
#pragma once

#include <Python.h>

#include <string_view>

namespace tfd::python {

// The edit distance above, or max_cost + 1 once it is known to exceed max_cost.
[[nodiscard]] Py_ssize_t suggestion_distance(std::string_view a, std::string_view b,
                                             Py_ssize_t max_cost);

// The candidate (an item of the list or tuple `candidates`, all str) the interpreter would
// suggest for `name`: a new reference, or nullptr with no error set when there is none.  On
// a Python error (not str, no memory) it returns nullptr with the error cleared: a hint is
// never worth an exception of its own.
[[nodiscard]] PyObject* suggest_name(PyObject* candidates, PyObject* name);

}  // namespace tfd::python
