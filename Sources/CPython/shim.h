// What Swift cannot import from Python.h directly: macros, C globals that Swift 6 rejects
// as not concurrency-safe, and checks that are macros over type flags. Each becomes a
// `cpy_`-prefixed static inline function.
#ifndef LAUNCH_WORKER_CPYTHON_SHIM_H
#define LAUNCH_WORKER_CPYTHON_SHIM_H

// Must precede Python.h, or files that also import Glibc fail on a conflicting fd_set.
#include <sys/select.h>
#define PY_SSIZE_T_CLEAN
#include <Python.h>

static inline PyObject *cpy_none(void) { return Py_None; }
static inline PyObject *cpy_true(void) { return Py_True; }
static inline PyObject *cpy_false(void) { return Py_False; }

static inline int cpy_unicode_check(PyObject *o) { return PyUnicode_Check(o); }
static inline int cpy_bytes_check(PyObject *o) { return PyBytes_Check(o); }

static inline PyObject *cpy_exc_runtime_error(void) { return PyExc_RuntimeError; }

/// The config fields Swift sets, set here so Swift never takes two pointers into one struct.
static inline PyStatus cpy_config_set_executable(PyConfig *config, const char *path) {
    return PyConfig_SetBytesString(config, &config->executable, path);
}
static inline PyStatus cpy_config_set_program_name(PyConfig *config, const char *name) {
    return PyConfig_SetBytesString(config, &config->program_name, name);
}

#endif
