"""Ground truth for the learner-style engines in this folder (written by hand, not generated).

Each key is a file stem in this folder; the engine is `<folder>/<stem>.py:<class>`.

    class      name of the engine class in the file
    options    extra adcheck CLI options the engine needs (adapters)
    correct    True for controls: adcheck must exit 0 and blame no op
    exit       expected exit status of `adcheck run --engine ...` (0 ok, 1 bug found, 3 nothing could be checked)
    bug_ops    registry op names the one planted bug lives in ([] for graph-walk bugs and controls)
    bug_kind   "rule" | "graph" | "forward" | "raises" | "api" (None for controls)
    alt_kinds  other diagnosis kinds that would also describe the bug fairly (optional)
    lacks      registry ops the engine does not implement at all (pow = Value ** Value; no engine has it)
    shows      when the bug shows up (the circumstances a probe needs), or the convention for controls
    what       one line

Op names: add sub mul div neg powc pow exp log tanh sigmoid relu sin cos sqrt abs.
"""
import os

HERE = os.path.dirname(os.path.abspath(__file__))


def path(stem):
    return os.path.join(HERE, stem + ".py")


ENGINES = {
    # ---------------------------------------------------------------- controls
    "correct_lecture": {
        "class": "Value", "options": [], "correct": True, "exit": 0,
        "bug_ops": [], "bug_kind": None,
        "lacks": ["pow"],
        "shows": "relu'(0) = 0, abs'(0) = 0; tanh via exp(2x) raises OverflowError for |x| > ~355",
        "what": "lecture engine, all ops, correct",
    },
    "correct_relu_one": {
        "class": "Value", "options": [], "correct": True, "exit": 0,
        "bug_ops": [], "bug_kind": None,
        "lacks": ["pow", "sin", "cos", "sqrt", "abs"],
        "shows": "relu'(0) = 1 (valid subgradient); children in a list `_children`; iterative topo",
        "what": "correct, relu'(0) = 1",
    },
    "correct_abs_minus_one": {
        "class": "Node", "options": [], "correct": True, "exit": 0,
        "bug_ops": [], "bug_kind": None,
        "lacks": ["pow"],
        "shows": "abs'(0) = -1 (valid subgradient); relu'(0) = 0; Node(data, children, op); children in `prev`",
        "what": "correct, abs'(0) = -1",
    },
    "correct_float32": {
        "class": "Tensor0", "options": [], "correct": True, "exit": 0,
        "bug_ops": [], "bug_kind": None,
        "lacks": ["pow", "abs"],
        "shows": "data and grad are numpy.float32 (float32 precision); domain edges give inf/nan with numpy warnings, never raise",
        "what": "correct, numpy float32 data",
    },
    "correct_log_asserts": {
        "class": "Value", "options": [], "correct": True, "exit": 0,
        "bug_ops": [], "bug_kind": None,
        "lacks": ["pow", "sin", "cos", "abs"],
        "shows": "log asserts x > 0, sqrt asserts x >= 0 (AssertionError at domain edges); 1/0 -> ZeroDivisionError via 0.0**-1",
        "what": "correct, log/sqrt assert their domain",
    },
    "correct_no_reflected": {
        "class": "Value", "options": [], "correct": True, "exit": 0,
        "bug_ops": [], "bug_kind": None,
        "lacks": ["pow", "sigmoid", "sin", "cos", "sqrt", "abs"],
        "shows": "no __radd__/__rsub__/__rmul__/__rtruediv__: c op V raises TypeError, V op c and V op V work",
        "what": "correct, no reflected operators",
    },
    "correct_free_functions": {
        "class": "Value", "options": ["--functions", path("correct_free_functions")], "correct": True, "exit": 0,
        "bug_ops": [], "bug_kind": None,
        "lacks": ["pow"],
        "shows": "exp/ln/tanh/sigmoid/relu/sin/cos/sqrt are module functions (ln = natural log); abs via __abs__",
        "what": "correct, math functions as module-level free functions",
    },
    "correct_renamed": {
        "class": "Scalar",
        "options": ["--grad-attr", "grade", "--backward-method", "backwardpropagation"],
        "correct": True, "exit": 0,
        "bug_ops": [], "bug_kind": None,
        "lacks": ["pow", "sin", "cos", "sqrt", "abs"],
        "shows": "Scalar(data, label) with label 2nd positional; children in `_parents`; prints one line per node during backward",
        "what": "correct, grad attr `grade`, backward method `backwardpropagation`",
    },
    # ---------------------------------------------------------------- one bug each
    "bug_tanh_input": {
        "class": "Value", "options": [], "correct": False, "exit": 1,
        "bug_ops": ["tanh"], "bug_kind": "rule",
        "lacks": ["pow", "sqrt", "abs"],
        "shows": "everywhere except x = 0 (and where 1 - x**2 happens to equal 1 - tanh(x)**2)",
        "what": "tanh backward uses 1 - x**2 (the input) instead of 1 - t**2",
    },
    "bug_exp_input": {
        "class": "Node", "options": [], "correct": False, "exit": 1,
        "bug_ops": ["exp"], "bug_kind": "rule",
        "lacks": ["pow", "sin", "cos", "abs"],
        "shows": "everywhere (x != exp(x) for all real x)",
        "what": "exp backward uses the input x instead of the output exp(x)",
    },
    "bug_missing_upstream": {
        "class": "Value", "options": [], "correct": False, "exit": 1,
        "bug_ops": ["mul"], "bug_kind": "rule",
        "lacks": ["pow", "sigmoid", "sqrt", "abs"],
        "shows": "only when the mul's out.grad != 1: a lone a*b at the root is right; any mul below another op is wrong",
        "what": "mul backward forgets to multiply by out.grad (self.grad += other.data)",
    },
    "bug_overwrite": {
        "class": "Value", "options": [], "correct": False, "exit": 1,
        "bug_ops": ["mul"], "bug_kind": "rule", "alt_kinds": ["graph"],
        "lacks": ["pow", "sin", "cos", "sqrt", "abs"],
        "shows": "only when the LEFT operand of a * already holds gradient from another use when mul's backward runs "
                 "(e.g. a*b + a, or a*b feeding a non-leaf reused elsewhere); a*b, a*a and w*x MLPs are right",
        "what": "mul backward does self.grad = other.data * out.grad (= instead of +=) on the left operand",
    },
    "bug_sub_sign": {
        "class": "Value", "options": [], "correct": False, "exit": 1,
        "bug_ops": ["sub"], "bug_kind": "rule",
        "lacks": ["pow", "sin", "cos", "sqrt", "abs"],
        "shows": "d/dy of x - y is +1 at every point, all three forms (V-V, V-c, c-V via __rsub__ -> Value(c) - self)",
        "what": "sub backward gives +1 to the right operand",
    },
    "bug_div_sign": {
        "class": "Node", "options": [], "correct": False, "exit": 1,
        "bug_ops": ["div"], "bug_kind": "rule",
        "lacks": ["pow", "sigmoid", "relu", "abs"],
        "shows": "d/dy of x / y is +x/y**2 wherever x != 0 (c / V too, via __rtruediv__)",
        "what": "division d/dy sign slip: +x/y**2",
    },
    "bug_cos_sign": {
        "class": "Value", "options": [], "correct": False, "exit": 1,
        "bug_ops": ["cos"], "bug_kind": "rule",
        "lacks": ["pow", "sigmoid", "abs"],
        "shows": "wherever sin(x) != 0",
        "what": "cos backward uses +sin(x)",
    },
    "bug_rsub": {
        "class": "Value", "options": [], "correct": False, "exit": 1,
        "bug_ops": ["sub"], "bug_kind": "rule", "alt_kinds": ["forward"],
        "lacks": ["pow", "sin", "cos", "sqrt", "abs"],
        "shows": "only the c - V form (value and gradient both negated); V - V and V - c are right",
        "what": "__rsub__ returns self - other, so 2 - v computes v - 2",
    },
    "bug_pow_precedence": {
        "class": "Value", "options": [], "correct": False, "exit": 1,
        "bug_ops": ["powc"], "bug_kind": "rule",
        "lacks": ["pow", "sin", "cos", "sqrt", "abs"],
        "shows": "almost everywhere: local derivative n*x**n - 1 instead of n*x**(n-1); div is written out so it is unaffected",
        "what": "power rule written n * self.data**n-1 (precedence slip)",
    },
    "bug_closure_on_input": {
        "class": "Value", "options": [], "correct": False, "exit": 1,
        "bug_ops": ["tanh"], "bug_kind": "rule", "alt_kinds": ["graph"],
        "lacks": ["pow", "sqrt", "abs"],
        "shows": "only when tanh's input is a non-leaf: tanh(leaf) is right (the leaf's no-op _backward is replaced "
                 "by tanh's rule); tanh(a*b) loses everything below a*b",
        "what": "tanh assigns its _backward closure to the input (self._backward) instead of out._backward",
    },
    "bug_order_not_reversed": {
        "class": "Value", "options": [], "correct": False, "exit": 1,
        "bug_ops": [], "bug_kind": "graph",
        "lacks": ["pow", "sin", "cos", "sqrt", "abs"],
        "shows": "any graph of depth >= 2; every op alone on leaves is right; prints one line per node during backward",
        "what": "backward walks the topological order forwards instead of reversed",
    },
    "bug_no_visited": {
        "class": "Value", "options": [], "correct": False, "exit": 1,
        "bug_ops": [], "bug_kind": "graph",
        "lacks": ["pow", "sqrt", "abs"],
        "shows": "only when a NON-LEAF node is used twice (diamond, MLP hidden units); a+a, a*a on leaves are right; "
                 "topo list grows with the number of paths (exponential in depth for deep nets)",
        "what": "topological sort has no visited set, so shared nodes run their _backward once per path",
    },
    "bug_merge_by_value": {
        "class": "Value", "options": [], "correct": False, "exit": 1,
        "bug_ops": [], "bug_kind": "graph",
        "lacks": ["pow", "sin", "cos", "sqrt", "abs"],
        "shows": "only when two distinct nodes (at least one non-leaf) have equal data, e.g. a*2 and b*1 with a=1, b=2, "
                 "or relu(u) with u > 0 non-leaf (relu output equals its input); random-valued graphs are right",
        "what": "__eq__/__hash__ by data, so equal-valued nodes are merged in the visited set and in set(children)",
    },
    "bug_missing_import": {
        "class": "Value", "options": [], "correct": False, "exit": 1,
        "bug_ops": ["tanh"], "bug_kind": "raises",
        "lacks": ["pow", "abs"],
        "shows": "tanh raises NameError: name 'math' is not defined at every point (module does `from math import ...`)",
        "what": "forgot `import math`; tanh uses math.tanh",
    },
    "bug_init_raises": {
        "class": "Value", "options": [], "correct": False, "exit": 3,
        "bug_ops": [], "bug_kind": "api",
        "lacks": None,
        "shows": "every construction raises NameError: name '_childern' is not defined; nothing can be checked",
        "what": "constructor cannot be called (typo _childern in __init__)",
    },
    # ---------------------------------------------------------------- extra slips
    "bug_sigmoid_input": {
        "class": "Scalar", "options": [], "correct": False, "exit": 1,
        "bug_ops": ["sigmoid"], "bug_kind": "rule",
        "lacks": ["pow", "sin", "cos", "sqrt", "abs"],
        "shows": "almost everywhere: x*(1-x) instead of s*(1-s)",
        "what": "sigmoid backward uses the input x instead of the output s",
    },
    "bug_relu_leak": {
        "class": "Value", "options": ["--functions", path("bug_relu_leak")], "correct": False, "exit": 1,
        "bug_ops": ["relu"], "bug_kind": "rule",
        "lacks": ["pow", "sin", "cos", "sqrt", "abs"],
        "shows": "only for negative inputs (out.data >= 0 is always true, so relu passes the gradient for x < 0); "
                 "relu'(0) = 1 is a valid subgradient; functions relu/tanh/exp/ln/sigmoid are module-level",
        "what": "relu backward tests out.data >= 0 instead of x > 0, letting gradient through for x < 0",
    },
    "bug_sqrt_missing_half": {
        "class": "Value", "options": [], "correct": False, "exit": 1,
        "bug_ops": ["sqrt"], "bug_kind": "rule",
        "lacks": ["pow", "sigmoid", "relu"],
        "shows": "everywhere x > 0: gradient is 1/sqrt(x), twice the true 1/(2 sqrt(x)); Value(data, label) label 2nd positional",
        "what": "sqrt backward misses the factor 1/2",
    },
    "bug_log10_forward": {
        "class": "Node", "options": [], "correct": False, "exit": 1,
        "bug_ops": ["log"], "bug_kind": "forward",
        "lacks": ["pow", "sqrt", "abs"],
        "shows": "log's value is log10(x) (off by 1/ln 10) everywhere x != 1; its local derivative 1/x is the natural-log one",
        "what": "log forward uses math.log10 instead of math.log",
    },
    # ---------------------------------------------------------------- issue 21: one engine per class of hole
    "bug_returns_none": {
        "class": "Value", "options": [], "correct": False, "exit": 1,
        "bug_ops": ["exp"], "bug_kind": "api",
        "lacks": ["pow", "sin", "cos", "sqrt", "abs"],
        "shows": "every call of exp: the method builds the node and returns None (no `return out`), so x.exp() + 1 "
                 "or 2 * x.exp() raises TypeError; exp is defined, so it is a bug, not a lacking op",
        "what": "exp forgets `return out` (returns None)",
    },
    "bug_rpow_wrong": {
        "class": "Value", "options": [], "correct": False, "exit": 1,
        "bug_ops": ["pow"], "bug_kind": "forward", "alt_kinds": ["rule"],
        "lacks": ["sin", "cos", "abs"],
        "shows": "only the c ** V form of pow (value and gradient of x**c, e.g. 2 ** 1.5 gives 2.25); V ** V refuses "
                 "with an assert (lacking form), V ** c is right; children in a list `_prev`, id-based visited set",
        "what": "__rpow__ returns self ** other, so 2 ** x computes x ** 2",
    },
    "bug_rsub_no_neg": {
        "class": "Scalar", "options": [], "correct": False, "exit": 1,
        "bug_ops": ["sub"], "bug_kind": "raises", "alt_kinds": ["forward", "rule"],
        "lacks": ["pow", "neg", "sin", "cos", "sqrt", "abs"],
        "shows": "V - V raises TypeError: bad operand type for unary -: 'Scalar' (`self + (-other)` with no __neg__); "
                 "V - c is right (-c is a number); c - V computes V - c (value and gradient negated); -V lacking",
        "what": "__rsub__ returns self - other, and __sub__ negates a Scalar although the class has no __neg__",
    },
    "bug_exp_clamp": {
        "class": "Value", "options": [], "correct": False, "exit": 1,
        "bug_ops": ["exp"], "bug_kind": "forward",
        "lacks": ["pow", "sqrt", "abs"],
        "shows": "only for |x| > 700: exp(709.7) gives e^700 = 1.0142e304, exp(-745) gives 9.86e-305, exp(710) e^700 "
                 "instead of inf; the gradient (out.data) is off the same way; right for |x| <= 700; iterative topo",
        "what": "exp clips its input to [-700, 700] before math.exp",
    },
    "bug_log_eps": {
        "class": "Node", "options": [], "correct": False, "exit": 1,
        "bug_ops": ["log"], "bug_kind": "forward",
        "lacks": ["pow", "sin", "cos"],
        "shows": "only for x < 1e-15: log(1e-300) gives log(1e-15) = -34.54 instead of -690.8, log(-1) -34.54 "
                 "instead of nan; the gradient 1/x is right (log(0)'s backward raises ZeroDivisionError); "
                 "children in a list `parents`",
        "what": "log computes math.log(max(x, 1e-15))",
    },
    "bug_add_assign_sub_built": {
        "class": "Value", "options": [], "correct": False, "exit": 1,
        "bug_ops": ["add"], "bug_kind": "rule", "alt_kinds": ["graph"],
        "lacks": ["pow", "sin", "cos", "sqrt", "abs"],
        "shows": "when an operand of + already holds gradient when add's backward runs (x + x, or an add below "
                 "another use of its operand); a lone x + y is right; sub (self + (-other)) and neg (self * -1) are "
                 "right themselves and wrong only through add: blame add only",
        "what": "add backward does self.grad = out.grad and other.grad = out.grad (= instead of +=)",
    },
    "correct_tensor_np32": {
        "class": "Tensor", "options": [], "correct": True, "exit": 0,
        "bug_ops": [], "bug_kind": None,
        "lacks": ["pow", "sin", "cos", "sqrt", "abs"],
        "shows": "data and grad are 0-d numpy float32 arrays (np.array(x, dtype=np.float32)): float32 precision and "
                 "range (exp(709.7) = inf, log(1e-300) = -inf since 1e-300 rounds to 0); numpy warnings, never raises",
        "what": "correct, class Tensor over 0-d float32 arrays",
    },
    "bug_tensor_np64_log": {
        "class": "Tensor", "options": [], "correct": False, "exit": 1,
        "bug_ops": ["log"], "bug_kind": "rule",
        "lacks": ["pow", "sin", "cos", "sqrt", "abs"],
        "shows": "everywhere (1/log(x) != 1/x for every x > 0; at x = 1 it gives inf); data and grad are 0-d float64 "
                 "arrays; children in a list `children`",
        "what": "log backward divides by out.data (log x) instead of the input x",
    },
    "bug_free_functions_rule": {
        "class": "Var", "options": ["--functions", path("bug_free_functions_rule")], "correct": False, "exit": 1,
        "bug_ops": ["sigmoid"], "bug_kind": "rule",
        "lacks": ["pow", "sqrt", "abs"],
        "shows": "everywhere (s*(1+s) > s*(1-s) for s in (0, 1)); exp/log/tanh/sigmoid/relu/sin/cos are module "
                 "functions; V ** V raises TypeError written in __pow__; children in `prev`",
        "what": "sigmoid backward uses s * (1 + s) instead of s * (1 - s)",
    },
}
