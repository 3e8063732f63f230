#!/usr/bin/env python3
"""gen_derivatives.py — compiles proto/derivatives.def into autograd/formulas.h: each
formula becomes a few instructions of a stack machine that autograd/formula.c runs,
recording ordinary ops.  Also derives what each op's node must save (the inputs and
outputs its formulas read) and the node names torch shows (AddBackward0).

  gen_derivatives.py           write autograd/formulas.h
  gen_derivatives.py --check   exit 1 when it is stale
"""
import os
import re
import sys

import gen_ops as G

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
TARGET = "autograd/formulas.h"

# helper name -> (arity, positions read for their shape/dtype only: no saved handle needed)
HELPERS = {
    "reduce_back": (2, {1}),
    "reduce_count": (2, {0, 1}),
    "zeros_like": (1, {0}),
    "mm_input": (3, {1}),
    "mm_other": (3, {2}),
    "conj": (1, set()),
    "sgn": (1, set()),
    "as_complex": (1, set()),
    "fft_c2c_back": (1, set()),
    "fft_r2c_back": (2, {1}),
    "fft_c2r_back": (1, set()),
    "mh": (1, set()),
    "view_back": (2, {1}),
    "same_view": (1, set()),
    "permute_back": (1, set()),
    "into_view": (2, {1}),
    "sum_dim": (1, set()),
    "clamp_mask": (1, set()),
    "sum_dims": (1, set()),
    "mean_dims": (1, set()),
    "cat_back": (1, set()),
    "index_back": (3, {1}),
    "index_put_back": (3, {1}),
    "index_values": (2, set()),
    "gather_back": (3, {1}),
    "scatter_back": (3, {2}),
    "gather_grad": (2, set()),
    "select_back": (3, {1}),
    "cumsum_back": (1, set()),
    "rev_logcumsumexp": (1, set()),
    "trigamma": (1, set()),
    "logit_mask": (1, set()),
    "norm_back": (3, set()),
    "channel_sum": (1, set()),
    "strided_back": (2, {1}),
    "mt": (1, set()),
    "as_matrices": (1, set()),
    "pool_gather": (2, set()),
    "extreme_back": (3, set()),
    "unfold_back": (2, {1}),
    # the factorizations' formulas (autograd/formula_linalg.c)
    "cholesky_back": (2, set()),
    "matrix_exp_back": (2, set()),
    "triangular_solve_back": (3, set()),
    "lu_solve_back": (4, set()),
    "lu_factor_back": (3, set()),
    "eigh_back": (4, set()),
    "svd_back": (6, set()),
    "qr_back": (4, set()),
    "lstsq_back": (3, set()),
    "householder_back": (4, set()),
}
# ops a formula calls by name: the pointwise families, and any op without attributes;
# with_attrs(op, ...) calls an op whose attribute layout is the node's own, with its words
CALLABLE = {"UNARY", "BINARY", "MATH_UNARY", "MATH_BINARY", "WHERE"}
TOKEN = re.compile(r"\s*(?:(-?\d+(?:\.\d*)?(?:e[-+]?\d+)?)|(\w+)(\?(-?[\d.]+))?|([(),]))")


def parse_expr(text):
    """'mul(grad, alpha?1)' -> ('call', 'mul', [('id', 'grad', None), ('id', 'alpha', '1')])."""
    toks, pos = [], 0
    while pos < len(text.rstrip()):
        m = TOKEN.match(text, pos)
        if not m:
            raise SystemExit("derivatives.def: cannot parse %r at %d" % (text, pos))
        toks.append(m.groups())
        pos = m.end()

    def expr(i):
        num, name, _, dflt, punct = toks[i]
        if num is not None:
            return ("const", float(num)), i + 1
        if name is None:
            raise SystemExit("derivatives.def: unexpected %r in %r" % (punct, text))
        if i + 1 < len(toks) and toks[i + 1][4] == "(":
            args, i = [], i + 2
            while toks[i][4] != ")":
                a, i = expr(i)
                args.append(a)
                if toks[i][4] == ",":
                    i += 1
            return ("call", name, args), i + 1
        return ("id", name, dflt), i + 1

    tree, end = expr(0)
    if end != len(toks):
        raise SystemExit("derivatives.def: trailing text in %r" % text)
    return tree


def read_rows():
    """[(OP, [(slot, formula text)])] in file order."""
    out = []
    for line in G.read("proto/derivatives.def").splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if not line[0].isspace():
            op, _, rest = line.partition(" ")
            out.append((op, []))
            line = rest
        slot, _, formula = line.strip().partition(":")
        out[-1][1].append((slot.strip(), formula.strip()))
    return out


class Compiler:
    """Compiles one op's formulas to (code, saves) against its schema."""

    def __init__(self, row, ins, attrs, rows_by_name, consts, schemas):
        self.row, self.ins, self.rows_by_name, self.consts = row, ins, rows_by_name, consts
        self.schemas, self.attr_list = schemas, attrs
        self.slots = [a.name for a in ins]
        self.attrs = {a.name: (self.offset_of(attrs, a), a) for a in attrs}
        self.save_in, self.save_out = set(), set()

    @staticmethod
    def offset_of(attrs, target):
        off = 0
        for a in attrs:
            if a is target:
                return off
            if a.kind == "ints":
                return None
            off += 2 if a.kind in ("slot", "scalar") else 1
        return None

    def const(self, v):
        if v not in self.consts:
            self.consts.append(v)
        return self.consts.index(v)

    def ident(self, name, dflt, meta_only):
        if name == "grad" or re.match(r"^grad\d$", name):
            return [("TD_AG_GRAD", int(name[4:] or 0), 0)]
        if name == "result" or re.match(r"^result\d$", name):
            k = int(name[6:] or 0)
            if not meta_only:
                self.save_out.add(k)
            return [("TD_AG_RESULT_META" if meta_only else "TD_AG_RESULT", k, 0)]
        if name in self.slots:
            i = self.slots.index(name)
            if not meta_only:
                self.save_in.add(i)
            return [("TD_AG_INPUT_META" if meta_only else "TD_AG_INPUT", i, 0)]
        if name in self.attrs:
            off, a = self.attrs[name]
            if off is None:
                raise SystemExit("derivatives.def: %s: %s has no fixed offset" % (self.row["NAME"], name))
            if a.kind == "scalar":
                d = self.const(float(dflt)) if dflt is not None else -1
                return [("TD_AG_ATTR_SCALAR", off, d)]
            return [("TD_AG_ATTR_INT", off, 0)]
        raise SystemExit("derivatives.def: %s: unknown name %r" % (self.row["NAME"], name))

    def compile(self, tree, meta_only=False):
        kind = tree[0]
        if kind == "const":
            return [("TD_AG_CONST", self.const(tree[1]), 0)]
        if kind == "id":
            return self.ident(tree[1], tree[2], meta_only)
        _, name, args = tree
        if name in HELPERS:
            arity, metas = HELPERS[name]
            if len(args) != arity:
                raise SystemExit("derivatives.def: %s takes %d arguments" % (name, arity))
            code = [ins for i, a in enumerate(args) for ins in self.compile(a, i in metas)]
            return code + [("TD_AGH_" + name.upper(), len(args), 0)]
        if name == "with_attrs":
            return self.with_attrs(args)
        target = self.rows_by_name.get(name)
        if target is None or (target["family"] not in CALLABLE and self.schemas[target["NAME"]][1]):
            raise SystemExit("derivatives.def: %s: %r is neither a pointwise op nor a helper"
                             % (self.row["NAME"], name))
        code = [ins for a in args for ins in self.compile(a)]
        return code + [("TD_AG_CALL", "TD_OP_" + target["NAME"], len(args))]


    def with_attrs(self, args):
        """with_attrs(op, x, ...): op recorded on x, ... with the node's own attribute words,
        which must be laid out as op's are."""
        if not args or args[0][0] != "id" or args[0][1] not in self.rows_by_name:
            raise SystemExit("derivatives.def: %s: with_attrs needs an op name first" % self.row["NAME"])
        target = self.rows_by_name[args[0][1]]
        layout = lambda attrs: [(a.name, a.kind, a.of) for a in attrs]
        if layout(self.schemas[target["NAME"]][1]) != layout(self.attr_list):
            raise SystemExit("derivatives.def: %s: with_attrs(%s): its attributes are not laid out as %s's"
                             % (self.row["NAME"], target["name"], self.row["NAME"]))
        code = [ins for a in args[1:] for ins in self.compile(a)]
        return code + [("TD_AG_CALL_ATTRS", "TD_OP_" + target["NAME"], len(args) - 1)]


# torch's node names where they are not the op's own (one name for every conv dimension)
NODE_NAMES = {"conv": "ConvolutionBackward0", "conv_backward_input": "ConvolutionBackwardBackward0",
              "conv_backward_weight": "ConvolutionBackwardBackward0",
              "linalg_cholesky": "LinalgCholeskyExBackward0", "matrix_exp": "LinalgMatrixExpBackward0",
              "lu_factor": "LinalgLuFactorExBackward0", "lu_solve": "LinalgLuSolveBackward0",
              "triangular_solve": "LinalgSolveTriangularBackward0", "orgqr": "LinalgHouseholderProductBackward0",
              "fft_c2c": "FftC2CBackward0", "fft_r2c": "FftR2CBackward0", "fft_c2r": "FftC2RBackward0",
              # torch's overloads: Tensor.to/double/... (_to_copy), max/min(dim), clamp with
              # number bounds, torch.norm
              "cast": "ToCopyBackward0", "max_dim": "MaxBackward0", "min_dim": "MinBackward0",
              "clamp": "ClampBackward1", "norm": "NormBackward1",
              "copy_": "torch::autograd::CopyBackwards"}  # 1.13: a C++ node of its own


def camel(name):
    if name in NODE_NAMES:
        return NODE_NAMES[name]
    return "".join(p.capitalize() for p in name.split("_")) + "Backward0"


def build():
    rows = G.read_rows()
    fams, ops = G.read_schemas()
    schemas = {r["NAME"]: G.schema_of(r, fams, ops) for r in rows}
    by_lower = {r["name"]: r for r in rows}
    by_upper = {r["NAME"]: r for r in rows}
    consts, code, formulas, per_op = [], [], [], []
    for op, slots in read_rows():
        row = by_upper.get(op)
        if row is None or "TD_F_DIFF" not in row["flags"]:
            raise SystemExit("derivatives.def: %s is not a differentiable row of ops.def" % op)
        ins, attrs = schemas[op]
        comp = Compiler(row, ins, attrs, by_lower, consts, schemas)
        first = len(formulas)
        for slot, text in slots:
            if slot not in comp.slots:
                raise SystemExit("derivatives.def: %s has no input %r" % (op, slot))
            body = comp.compile(parse_expr(text))
            formulas.append((slot, comp.slots.index(slot), len(code), len(body), text))
            code.extend(body)
        mask = lambda s: sum(1 << i for i in s)
        per_op.append((op, row["name"], first, len(slots), mask(comp.save_in), mask(comp.save_out)))
    return consts, code, formulas, per_op


def header():
    consts, code, formulas, per_op = build()
    out = ["/*",
           " * formulas.h — the backward formulas of proto/derivatives.def as stack-machine code",
           " * (autograd/formula.c runs it), and per op what its node saves.  Generated by",
           " * proto/gen_derivatives.py, do not edit.",
           " */",
           "#ifndef TD_AG_FORMULAS_H", "#define TD_AG_FORMULAS_H", "",
           "#include <stdint.h>", "", '#include "../kernels/op.h"', "",
           "enum td_ag_instr {",
           "    TD_AG_GRAD,         /* push the gradient of output a */",
           "    TD_AG_INPUT,        /* push input slot a (a saved tensor or the scalar operand) */",
           "    TD_AG_INPUT_META,   /* push input slot a's shape and dtype only */",
           "    TD_AG_RESULT,       /* push saved output a */",
           "    TD_AG_RESULT_META,  /* push output a's shape and dtype only */",
           "    TD_AG_ATTR_SCALAR,  /* push the scalar attribute at word a (absent: constant b, or an error when b < 0) */",
           "    TD_AG_ATTR_INT,     /* push the integer attribute at word a */",
           "    TD_AG_CONST,        /* push td_ag_consts[a] */",
           "    TD_AG_CALL,         /* pop b values, push op a applied to them */",
           "    TD_AG_CALL_ATTRS,   /* pop b tensors, push op a applied to them with the node's attribute words */",
           "};", "",
           "/* the helpers of autograd/formula.c: pop a values, push one */",
           "enum td_ag_helper {"]
    out += ["    TD_AGH_%s = %d," % (h.upper(), 100 + i) for i, h in enumerate(HELPERS)]
    out += ["};", "#define TD_AGH_FIRST 100", "#define TD_AGH_COUNT %d" % len(HELPERS), ""]
    out += ["static const double td_ag_consts[] = {%s};" % ", ".join(repr(c) for c in consts), ""]
    out += ["/* (instruction, a, b) triples */", "static const int32_t td_ag_code[][3] = {"]
    at = 0
    for slot, idx, start, n, text in formulas:
        out.append("    /* %s: %s */" % (slot, text))
        for ins in code[start:start + n]:
            out.append("    {%s, %s, %s}," % ins)
        at += n
    out += ["};", "",
            "struct td_ag_formula {",
            "    uint8_t slot;        /* the input whose gradient it gives */",
            "    uint16_t start, len; /* its instructions in td_ag_code */",
            "};", "static const struct td_ag_formula td_ag_formulas[] = {"]
    out += ["    {%d, %d, %d}," % (idx, start, n) for slot, idx, start, n, text in formulas]
    out += ["};", "",
            "struct td_ag_op {",
            "    const char *name;        /* the node's name, as torch's grad_fn shows it */",
            "    uint16_t first, n;       /* its formulas in td_ag_formulas (n = 0: not implemented) */",
            "    uint8_t save_in, save_out; /* masks of the inputs and outputs its formulas read */",
            "};", "static const struct td_ag_op td_ag_ops[TD_OP_COUNT] = {"]
    out += ['    [TD_OP_%s] = {"%s", %d, %d, 0x%x, 0x%x},' % (op, camel(name), first, n, si, so)
            for op, name, first, n, si, so in per_op]
    out += ["};", "", "#endif", ""]
    return "\n".join(out)


def main():
    text = header()
    path = os.path.join(ROOT, TARGET)
    old = open(path).read() if os.path.exists(path) else None
    if old == text:
        return 0
    if "--check" in sys.argv:
        print("stale generated file (run make gen):", TARGET)
        return 1
    with open(path, "w") as f:
        f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
