/*
 * location.c — where the user's code records each op, so that an error the daemon finds
 * later is raised naming the user's file:line (libtensord's td_location_set).
 *
 * Per op: the innermost Python frame outside the tensord package, as a 64-bit value
 * (file id << 32 | line).  Kept cheap with two direct-mapped caches: code object ->
 * (file id, inside the package?) and (code object, instruction offset) -> line, so the
 * line table is walked once per call site, not once per op.  Code objects seen are
 * kept alive by `codes`, so a cached pointer never names a different object.
 *
 * The file table is plain C (append-only, published with release stores): libtensord
 * formats a location while holding its lock, possibly on a thread without the GIL.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "ext.h"

#define MAX_FILES 4096
#define CODE_CACHE 1024 /* powers of two */
#define LINE_CACHE 4096
#define MAX_DEPTH 32    /* frames searched for the user's code */

static PyObject *codes;      /* dict: code object -> file id (0: tensord's own code) */
static PyObject *pkg_prefix; /* str: the package directory + "/" */
static char *files[MAX_FILES];
static atomic_uint n_files;

struct code_slot {
    PyCodeObject *code;
    uint32_t file; /* 0: inside tensord */
};
struct line_slot {
    PyCodeObject *code;
    int lasti, line;
};
static struct code_slot code_cache[CODE_CACHE];
static struct line_slot line_cache[LINE_CACHE];

/* A short form of a path: the last two components when it is long. */
static char *short_path(const char *path)
{
    size_t n = strlen(path);
    if (n > 60) {
        const char *p = path + n, *cut = NULL;
        int slashes = 0;
        while (p > path && slashes < 2)
            if (*--p == '/')
                slashes++, cut = p;
        if (cut && slashes == 2) {
            char *s = PyMem_RawMalloc(strlen(cut) + 4);
            if (s) {
                strcpy(s, "...");
                strcat(s, cut);
            }
            return s;
        }
    }
    char *s = PyMem_RawMalloc(n + 1);
    if (s)
        memcpy(s, path, n + 1);
    return s;
}

/* The file id of code (0 for tensord's own modules or when the table is full). */
static uint32_t file_of(PyCodeObject *code)
{
    size_t slot = ((uintptr_t)code >> 4) & (CODE_CACHE - 1);
    if (code_cache[slot].code == code)
        return code_cache[slot].file;
    PyObject *known = PyDict_GetItemWithError(codes, (PyObject *)code);
    uint32_t id = 0;
    if (known) {
        id = (uint32_t)PyLong_AsUnsignedLong(known);
    } else if (!PyErr_Occurred()) {
        PyObject *fname = code->co_filename;
        bool ours = pkg_prefix && PyUnicode_Check(fname) &&
                    PyUnicode_Tailmatch(fname, pkg_prefix, 0, PY_SSIZE_T_MAX, -1) == 1;
        unsigned n = atomic_load(&n_files);
        const char *utf8 = PyUnicode_Check(fname) ? PyUnicode_AsUTF8(fname) : NULL;
        if (!ours && utf8 && n < MAX_FILES && (files[n] = short_path(utf8)) != NULL) {
            atomic_store_explicit(&n_files, n + 1, memory_order_release);
            id = n + 1;
        }
        PyObject *v = PyLong_FromUnsignedLong(id);
        if (!v || PyDict_SetItem(codes, (PyObject *)code, v) < 0)
            id = 0;
        Py_XDECREF(v);
    }
    PyErr_Clear();
    code_cache[slot] = (struct code_slot){code, id};
    return id;
}

static int line_of(PyCodeObject *code, int lasti)
{
    size_t slot = (((uintptr_t)code >> 4) ^ (size_t)lasti * 2654435761u) & (LINE_CACHE - 1);
    struct line_slot *s = &line_cache[slot];
    if (s->code != code || s->lasti != lasti)
        *s = (struct line_slot){code, lasti, PyCode_Addr2Line(code, lasti)};
    return s->line;
}

void td_ext_note_location(void)
{
    if (!codes)
        return;
    PyFrameObject *f = PyEval_GetFrame(); /* borrowed */
    Py_XINCREF(f);
    uint64_t where = 0;
    for (int depth = 0; f && depth < MAX_DEPTH; depth++) {
        PyCodeObject *code = PyFrame_GetCode(f);
        uint32_t file = file_of(code); /* `codes` keeps code alive */
        Py_DECREF(code);
        if (file) {
            int line = line_of(code, PyFrame_GetLasti(f));
            where = (uint64_t)file << 32 | (uint32_t)(line > 0 ? line : 0);
            break;
        }
        PyFrameObject *back = PyFrame_GetBack(f);
        Py_DECREF(f);
        f = back;
    }
    Py_XDECREF(f);
    td_location_set(where);
}

static void format_location(uint64_t where, char *buf, size_t len)
{
    uint32_t file = (uint32_t)(where >> 32);
    unsigned n = atomic_load_explicit(&n_files, memory_order_acquire);
    if (file == 0 || file > n || !files[file - 1]) {
        buf[0] = 0;
        return;
    }
    snprintf(buf, len, "%s:%u", files[file - 1], (unsigned)(uint32_t)where);
}

int td_ext_location_init(PyObject *package_dir)
{
    codes = PyDict_New();
    if (!codes)
        return -1;
    if (package_dir && PyUnicode_Check(package_dir))
        pkg_prefix = PyUnicode_FromFormat("%U/", package_dir);
    td_location_set_format(format_location);
    return 0;
}
