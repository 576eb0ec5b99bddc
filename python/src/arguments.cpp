#include "arguments.hpp"

#include <climits>

#include "suggestion.hpp"

namespace tfd::python {
namespace {

// The 3.13 interpreter warns (DeprecationWarning) when __index__ or __float__ returns an
// instance of a strict subclass of int or float, and raises when the warning is an error.
bool warn_subclass_result(const char* text, PyObject* owner, PyObject* result) {
    return PyErr_WarnFormat(PyExc_DeprecationWarning, 1, text, Py_TYPE(owner)->tp_name,
                            Py_TYPE(result)->tp_name) == 0;
}

// complex lost __float__ in 3.10 (it only raised); before that, its slot must be ignored
// to get 3.13's "must be real number, not complex".
bool is_complex_float_slot([[maybe_unused]] PyObject* obj) {
#if PY_VERSION_HEX < 0x030A0000
    return PyComplex_Check(obj) &&
           Py_TYPE(obj)->tp_as_number->nb_float == PyComplex_Type.tp_as_number->nb_float;
#else
    return false;
#endif
}

// An int (or bool, or int subclass) as a C int, taken as is: __index__ is not consulted.
bool int_to_c_int(PyObject* number, int& out) {
    int overflow = 0;
    long value = PyLong_AsLongAndOverflow(number, &overflow);
    if (value == -1 && PyErr_Occurred()) {
        return false;
    }
    if (overflow != 0 || value < INT_MIN || value > INT_MAX) {
        PyErr_SetString(PyExc_OverflowError, "Python int too large to convert to C int");
        return false;
    }
    out = static_cast<int>(value);
    return true;
}

bool has_index_slot(PyObject* obj) {
    PyNumberMethods* number = Py_TYPE(obj)->tp_as_number;
    return number != nullptr && number->nb_index != nullptr;
}

// Looks up obj.fileno; a missing attribute is not an error (nullptr, failed == false), any
// other exception raised by the lookup is (nullptr, failed == true).
PyObject* optional_fileno_method(PyObject* obj, bool& failed) {
    failed = false;
    PyObject* method = PyObject_GetAttrString(obj, "fileno");
    if (method == nullptr) {
        if (PyErr_ExceptionMatches(PyExc_AttributeError)) {
            PyErr_Clear();
        } else {
            failed = true;
        }
    }
    return method;
}

}  // namespace

PyObject* to_index(PyObject* obj) {
    if (PyLong_Check(obj)) {
        Py_INCREF(obj);
        return obj;
    }
    if (!has_index_slot(obj)) {
        PyErr_Format(PyExc_TypeError, "'%.200s' object cannot be interpreted as an integer",
                     Py_TYPE(obj)->tp_name);
        return nullptr;
    }
    PyObject* result = Py_TYPE(obj)->tp_as_number->nb_index(obj);
    if (result == nullptr || PyLong_CheckExact(result)) {
        return result;
    }
    if (!PyLong_Check(result)) {
        PyErr_Format(PyExc_TypeError, "__index__ returned non-int (type %.200s)",
                     Py_TYPE(result)->tp_name);
        Py_DECREF(result);
        return nullptr;
    }
    if (PyErr_WarnFormat(PyExc_DeprecationWarning, 1,
                         "__index__ returned non-int (type %.200s).  The ability to return an "
                         "instance of a strict subclass of int is deprecated, and may be "
                         "removed in a future version of Python.",
                         Py_TYPE(result)->tp_name) != 0) {
        Py_DECREF(result);
        return nullptr;
    }
    return result;
}

bool to_c_int(PyObject* obj, int& out) {
    if (PyLong_CheckExact(obj)) {
        return int_to_c_int(obj, out);
    }
    PyObject* index = to_index(obj);
    if (index == nullptr) {
        return false;
    }
    bool converted = int_to_c_int(index, out);
    Py_DECREF(index);
    return converted;
}

bool to_long_long(PyObject* obj, long long& out) {
    long long value = 0;
    int overflow = 0;
    if (PyLong_CheckExact(obj)) {
        value = PyLong_AsLongLongAndOverflow(obj, &overflow);
    } else {
        PyObject* index = to_index(obj);
        if (index == nullptr) {
            return false;
        }
        value = PyLong_AsLongLongAndOverflow(index, &overflow);
        Py_DECREF(index);
    }
    if (value == -1 && PyErr_Occurred()) {
        return false;
    }
    if (overflow != 0) {
        // 3.13's PyLong_AsLongLong reports overflow through _PyLong_AsByteArray's message.
        PyErr_SetString(PyExc_OverflowError, "int too big to convert");
        return false;
    }
    out = value;
    return true;
}

bool to_double(PyObject* obj, double& out) {
    if (PyFloat_Check(obj)) {
        out = PyFloat_AS_DOUBLE(obj);
        return true;
    }
    if (PyLong_CheckExact(obj)) {
        // int.__float__ is PyLong_AsDouble: same value, same OverflowError, one call fewer.
        out = PyLong_AsDouble(obj);
        return !(out == -1.0 && PyErr_Occurred());
    }
    PyNumberMethods* number = Py_TYPE(obj)->tp_as_number;
    if (number == nullptr || number->nb_float == nullptr || is_complex_float_slot(obj)) {
        if (number != nullptr && number->nb_index != nullptr) {
            PyObject* index = to_index(obj);
            if (index == nullptr) {
                return false;
            }
            out = PyLong_AsDouble(index);
            Py_DECREF(index);
            return !(out == -1.0 && PyErr_Occurred());
        }
        PyErr_Format(PyExc_TypeError, "must be real number, not %.50s", Py_TYPE(obj)->tp_name);
        return false;
    }
    PyObject* result = number->nb_float(obj);
    if (result == nullptr) {
        return false;
    }
    if (!PyFloat_CheckExact(result)) {
        if (!PyFloat_Check(result)) {
            PyErr_Format(PyExc_TypeError, "%.50s.__float__ returned non-float (type %.50s)",
                         Py_TYPE(obj)->tp_name, Py_TYPE(result)->tp_name);
            Py_DECREF(result);
            return false;
        }
        if (!warn_subclass_result(
                "%.50s.__float__ returned non-float (type %.50s).  The ability to return an "
                "instance of a strict subclass of float is deprecated, and may be removed in "
                "a future version of Python.",
                obj, result)) {
            Py_DECREF(result);
            return false;
        }
    }
    out = PyFloat_AS_DOUBLE(result);
    Py_DECREF(result);
    return true;
}

namespace {

bool fd_from_fileno(PyObject* obj, int& fd) {
    bool failed = false;
    PyObject* method = optional_fileno_method(obj, failed);
    if (failed) {
        return false;
    }
    if (method == nullptr) {
        PyErr_SetString(PyExc_TypeError, "argument must be an int, or have a fileno() method.");
        return false;
    }
    PyObject* number = PyObject_CallObject(method, nullptr);
    Py_DECREF(method);
    if (number == nullptr) {
        return false;
    }
    bool converted = false;
    if (PyLong_Check(number)) {
        converted = int_to_c_int(number, fd);
    } else {
        PyErr_SetString(PyExc_TypeError, "fileno() returned a non-integer");
    }
    Py_DECREF(number);
    return converted;
}

}  // namespace

bool to_fd(PyObject* obj, int& out) {
    int fd = -1;
    if (PyLong_CheckExact(obj)) {
        if (!int_to_c_int(obj, fd)) {
            return false;
        }
    } else if (PyLong_Check(obj)) {
        // 3.12 started warning about bools here (gh-82626); fileno() results are not checked.
        if (PyBool_Check(obj) &&
            PyErr_WarnEx(PyExc_RuntimeWarning, "bool is used as a file descriptor", 1) < 0) {
            return false;
        }
        if (!int_to_c_int(obj, fd)) {
            return false;
        }
    } else if (!fd_from_fileno(obj, fd)) {
        return false;
    }
    if (fd < 0) {
        PyErr_Format(PyExc_ValueError, "file descriptor cannot be a negative integer (%i)", fd);
        return false;
    }
    out = fd;
    return true;
}

namespace {

// Finds the value passed for `keyword`: by identity first (names in a call are interned, so
// this is the common case), then by string equality.
PyObject* find_keyword(PyObject* kwnames, PyObject* const* values, PyObject* keyword) {
    Py_ssize_t count = PyTuple_GET_SIZE(kwnames);
    for (Py_ssize_t i = 0; i < count; ++i) {
        if (PyTuple_GET_ITEM(kwnames, i) == keyword) {
            return values[i];
        }
    }
    // The length test first: it rejects most non-matching names without a compare.
    Py_ssize_t length = PyUnicode_GET_LENGTH(keyword);
    for (Py_ssize_t i = 0; i < count; ++i) {
        PyObject* name = PyTuple_GET_ITEM(kwnames, i);
        if (PyUnicode_Check(name) && PyUnicode_GET_LENGTH(name) == length &&
            PyUnicode_Compare(name, keyword) == 0) {
            return values[i];
        }
    }
    return nullptr;
}

// "got an unexpected keyword argument 'inital'", with ". Did you mean 'initial'?" when a
// parameter's name is close, as 3.13's os functions say on every version.
void unexpected_keyword(const char* fname, PyObject* name, PyObject* const* keywords,
                        Py_ssize_t nkeywords) {
    PyObject* suggestion = nullptr;
    if (PyObject* candidates = PyTuple_New(nkeywords)) {
        for (Py_ssize_t k = 0; k < nkeywords; ++k) {
            Py_INCREF(keywords[k]);
            PyTuple_SET_ITEM(candidates, k, keywords[k]);
        }
        suggestion = suggest_name(candidates, name);
        Py_DECREF(candidates);
    } else {
        PyErr_Clear();
    }
    if (suggestion != nullptr) {
        PyErr_Format(PyExc_TypeError,
                     "%.200s() got an unexpected keyword argument '%S'. Did you mean '%S'?", fname,
                     name, suggestion);
        Py_DECREF(suggestion);
        return;
    }
    PyErr_Format(PyExc_TypeError, "%.200s() got an unexpected keyword argument '%S'", fname, name);
}

// Reports the first passed keyword that is not a parameter name.
void report_unexpected_keyword(const char* fname, PyObject* kwnames, PyObject* const* keywords,
                               Py_ssize_t nkeywords) {
    Py_ssize_t count = PyTuple_GET_SIZE(kwnames);
    for (Py_ssize_t i = 0; i < count; ++i) {
        PyObject* name = PyTuple_GET_ITEM(kwnames, i);
        if (!PyUnicode_Check(name)) {
            PyErr_SetString(PyExc_TypeError, "keywords must be strings");
            return;
        }
        bool known = false;
        for (Py_ssize_t k = 0; k < nkeywords && !known; ++k) {
            known = PyUnicode_Compare(name, keywords[k]) == 0;
        }
        if (!known) {
            unexpected_keyword(fname, name, keywords, nkeywords);
            return;
        }
    }
}

}  // namespace

bool bind_one_positional(const char* fname, PyObject* const* args, Py_ssize_t nargs,
                         PyObject* kwnames, PyObject* const* keywords, Py_ssize_t nkeywords,
                         PyObject** bound) {
    for (Py_ssize_t k = 0; k < nkeywords; ++k) {
        bound[k] = nullptr;
    }
    Py_ssize_t nkwargs = kwnames == nullptr ? 0 : PyTuple_GET_SIZE(kwnames);
    if (nkwargs == 0 && nargs == 1) {
        return true;
    }
    // The checks come in 3.13's order: total count, then the positional count.
    Py_ssize_t maxargs = 1 + nkeywords;
    if (nargs + nkwargs > maxargs) {
        PyErr_Format(PyExc_TypeError, "%.200s() takes at most %zd %sargument%s (%zd given)", fname,
                     maxargs, nargs == 0 ? "keyword " : "", maxargs == 1 ? "" : "s",
                     nargs + nkwargs);
        return false;
    }
    if (nargs != 1) {
        PyErr_Format(PyExc_TypeError, "%.200s() takes exactly 1 positional argument (%zd given)",
                     fname, nargs);
        return false;
    }
    // Stops once every passed keyword is bound; the rest stay nullptr (not passed).
    Py_ssize_t found = 0;
    for (Py_ssize_t k = 0; k < nkeywords && found < nkwargs; ++k) {
        bound[k] = find_keyword(kwnames, args + nargs, keywords[k]);
        found += bound[k] != nullptr ? 1 : 0;
    }
    if (found < nkwargs) {
        report_unexpected_keyword(fname, kwnames, keywords, nkeywords);
        return false;
    }
    return true;
}

bool check_single_argument(const char* qualified, Py_ssize_t nargs, PyObject* kwnames) {
    if (kwnames != nullptr && PyTuple_GET_SIZE(kwnames) != 0) {
        PyErr_Format(PyExc_TypeError, "%s() takes no keyword arguments", qualified);
        return false;
    }
    if (nargs != 1) {
        PyErr_Format(PyExc_TypeError, "%s() takes exactly one argument (%zd given)", qualified,
                     nargs);
        return false;
    }
    return true;
}

}  // namespace tfd::python
