#include "expirations.hpp"

#include <cerrno>

#include "sys/sys.hpp"

namespace tfd::python {

bool read_expiration_count(int fd, std::uint64_t& count, int& error) {
    for (;;) {
        count = 0;
        PyThreadState* saved = PyEval_SaveThread();
        ssize_t got = sys::read(fd, &count, sizeof count);
        error = errno;
        PyEval_RestoreThread(saved);
        if (got == static_cast<ssize_t>(sizeof count)) {
            return true;
        }
        if (got >= 0 || error == EAGAIN) {
            count = 0;
            return true;
        }
        if (error != EINTR) {
            return false;
        }
        if (PyErr_CheckSignals() < 0) {
            error = 0;
            return false;
        }
    }
}

PyObject* raise_read_error(int error, PyObject* clock_changed) {
    if (error == 0) {
        return nullptr;  // the exception is already set
    }
    errno = error;
    return PyErr_SetFromErrno(error == ECANCELED ? clock_changed : PyExc_OSError);
}

}  // namespace tfd::python
