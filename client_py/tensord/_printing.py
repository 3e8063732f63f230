"""repr/str of tensors, a port of torch/_tensor_str.py working on a numpy copy."""
import math

import numpy as _np


class _PrinterOptions:
    precision = 4
    threshold = 1000
    edgeitems = 3
    linewidth = 80
    sci_mode = None


PRINT_OPTS = _PrinterOptions()


def set_printoptions(precision=None, threshold=None, edgeitems=None, linewidth=None, profile=None, sci_mode=None):
    if profile is not None:
        if profile == "default":
            PRINT_OPTS.precision, PRINT_OPTS.threshold, PRINT_OPTS.edgeitems, PRINT_OPTS.linewidth = 4, 1000, 3, 80
        elif profile == "short":
            PRINT_OPTS.precision, PRINT_OPTS.threshold, PRINT_OPTS.edgeitems, PRINT_OPTS.linewidth = 2, 1000, 2, 80
        elif profile == "full":
            PRINT_OPTS.precision, PRINT_OPTS.threshold, PRINT_OPTS.edgeitems, PRINT_OPTS.linewidth = \
                4, math.inf, 3, 80
    if precision is not None:
        PRINT_OPTS.precision = precision
    if threshold is not None:
        PRINT_OPTS.threshold = threshold
    if edgeitems is not None:
        PRINT_OPTS.edgeitems = edgeitems
    if linewidth is not None:
        PRINT_OPTS.linewidth = linewidth
    PRINT_OPTS.sci_mode = sci_mode


class _Formatter:
    def __init__(self, arr, floating):
        self.floating_dtype = floating
        self.int_mode = True
        self.sci_mode = False
        self.max_width = 1
        flat = arr.reshape(-1)
        if not floating:
            for value in flat.tolist():
                self.max_width = max(self.max_width, len("{}".format(value)))
        else:
            f64 = flat.astype(_np.float64)
            nz = f64[_np.isfinite(f64) & (f64 != 0)]
            if nz.size == 0:
                return
            nz_abs = _np.abs(nz)
            nmin, nmax = float(nz_abs.min()), float(nz_abs.max())
            vals = nz.tolist()
            for value in vals:
                if value != math.ceil(value):
                    self.int_mode = False
                    break
            p = PRINT_OPTS.precision
            if self.int_mode:
                if nmax / nmin > 1000.0 or nmax > 1.0e8:
                    self.sci_mode = True
                    for value in vals:
                        self.max_width = max(self.max_width, len(("{:.%de}" % p).format(value)))
                else:
                    for value in vals:
                        self.max_width = max(self.max_width, len("{:.0f}".format(value)) + 1)
            else:
                if nmax / nmin > 1000.0 or nmax > 1.0e8 or nmin < 1.0e-4:
                    self.sci_mode = True
                    for value in vals:
                        self.max_width = max(self.max_width, len(("{:.%de}" % p).format(value)))
                else:
                    for value in vals:
                        self.max_width = max(self.max_width, len(("{:.%df}" % p).format(value)))
        if PRINT_OPTS.sci_mode is not None:
            self.sci_mode = PRINT_OPTS.sci_mode

    def width(self):
        return self.max_width

    def format(self, value):
        if self.floating_dtype:
            if self.sci_mode:
                ret = ("{:%d.%de}" % (self.max_width, PRINT_OPTS.precision)).format(value)
            elif self.int_mode:
                ret = "{:.0f}".format(value)
                if not (math.isinf(value) or math.isnan(value)):
                    ret += "."
            else:
                ret = ("{:.%df}" % PRINT_OPTS.precision).format(value)
        else:
            ret = "{}".format(value)
        return (self.max_width - len(ret)) * " " + ret


class _ComplexFormatter:
    """Complex elements: one formatter for the real parts, one for the imaginary parts,
    printed as "<re>+<im>j" / "<re>-<im>j" (torch 1.13's _val_formatter)."""

    def __init__(self, arr):
        self.re = _Formatter(arr.real, True)
        self.im = _Formatter(arr.imag, True)

    def width(self):
        # the real width plus the imaginary width and its "j"
        return self.re.width() + self.im.width() + 1

    def format(self, value):
        value = complex(value)
        real_str = self.re.format(value.real)
        imag_str = (self.im.format(value.imag) + "j").lstrip()
        if imag_str[0] == "+" or imag_str[0] == "-":
            return real_str + imag_str
        return real_str + "+" + imag_str


def _vector_str(a, indent, summarize, formatter):
    element_length = formatter.width() + 2
    elements_per_line = max(1, int(math.floor((PRINT_OPTS.linewidth - indent) / element_length)))
    e = PRINT_OPTS.edgeitems
    if summarize and a.shape[0] > 2 * e:
        data = ([formatter.format(v) for v in a[:e].tolist()] + [" ..."] +
                [formatter.format(v) for v in a[-e:].tolist()])
    else:
        data = [formatter.format(v) for v in a.tolist()]
    lines = [", ".join(data[i:i + elements_per_line]) for i in range(0, len(data), elements_per_line)]
    return "[" + ("," + "\n" + " " * (indent + 1)).join(lines) + "]"


def _tensor_str_with_formatter(a, indent, summarize, formatter):
    dim = a.ndim
    if dim == 0:
        return formatter.format(a.item())
    if dim == 1:
        return _vector_str(a, indent, summarize, formatter)
    e = PRINT_OPTS.edgeitems
    n = a.shape[0]
    if summarize and n > 2 * e:
        slices = ([_tensor_str_with_formatter(a[i], indent + 1, summarize, formatter) for i in range(e)] + ["..."] +
                  [_tensor_str_with_formatter(a[i], indent + 1, summarize, formatter) for i in range(n - e, n)])
    else:
        slices = [_tensor_str_with_formatter(a[i], indent + 1, summarize, formatter) for i in range(n)]
    return "[" + ("," + "\n" * (dim - 1) + " " * (indent + 1)).join(slices) + "]"


def _summarized(a):
    dim = a.ndim
    e = PRINT_OPTS.edgeitems
    if dim == 0:
        return a
    if dim == 1:
        return _np.concatenate((a[:e], a[-e:])) if a.shape[0] > 2 * e else a
    if a.shape[0] > 2 * e:
        rows = [a[i] for i in range(e)] + [a[i] for i in range(a.shape[0] - e, a.shape[0])]
    else:
        rows = [a[i] for i in range(a.shape[0])]
    return _np.stack([_summarized(x) for x in rows])


def _array_str(a, floating, indent):
    if a.size == 0:
        return "[]"
    summarize = a.size > PRINT_OPTS.threshold
    if _np.iscomplexobj(a):
        formatter = _ComplexFormatter(_summarized(a) if summarize else a)
        return _tensor_str_with_formatter(a, indent, summarize, formatter)
    formatter = _Formatter(_summarized(a) if summarize else a, floating)
    return _tensor_str_with_formatter(a, indent, summarize, formatter)


def _add_suffixes(tensor_str, suffixes, indent, force_newline):
    tensor_strs = [tensor_str]
    last_line_len = len(tensor_str) - tensor_str.rfind("\n") + 1
    for suffix in suffixes:
        suffix_len = len(suffix)
        if force_newline or last_line_len + suffix_len + 2 > PRINT_OPTS.linewidth:
            tensor_strs.append(",\n" + " " * indent + suffix)
            last_line_len = indent + suffix_len
            force_newline = False
        else:
            tensor_strs.append(", " + suffix)
            last_line_len += suffix_len + 2
    tensor_strs.append(")")
    return "".join(tensor_strs)


def tensor_repr(t, host_array, default_dtype, prefix="tensor("):
    """t: the tensor; host_array(t): its elements as numpy (f16/bf16 as float32)."""
    from ._dtype import int64, bool_, default_complex
    indent = len(prefix)
    suffixes = []
    dt = t.dtype
    has_default_dtype = dt in (default_dtype, default_complex(), int64, bool_)
    if t._device_index:
        suffixes.append("device='%s'" % t.device)
    if t.numel() == 0:
        if t.ndim != 1:
            suffixes.append("size=" + str(tuple(t.shape)))
        if dt is not default_dtype:
            suffixes.append("dtype=" + str(dt))
        tensor_str = "[]"
    else:
        if not has_default_dtype:
            suffixes.append("dtype=" + str(dt))
        tensor_str = _array_str(host_array(t), dt.is_floating_point, indent)
    if t.grad_fn is not None:
        # torch shows the class name: name()'s C++ namespace left out (CopySlices)
        suffixes.append("grad_fn=<%s>" % t.grad_fn.name().rsplit("::", 1)[-1])
    elif t.requires_grad:
        suffixes.append("requires_grad=True")
    return _add_suffixes(prefix + tensor_str, suffixes, indent, force_newline=False)
