"""How an example call is made and its result read: the one calling convention of correctness
checks and efficiency timing.

An example gives literal arguments (parsed from the instruction by `evidence.examples`); this module
turns them into a call of a candidate and its result back into a plain value. A call is described
by a *spec*, plain data that travels into the sandbox as a literal or through the job codec:

    {"entry": "twoSum" | None,     # the function or method; None: the code's own (see `resolve`)
     "owner": "Solution" | None,   # its class (a fresh instance per call)
     "args": [...], "names": [...],  # literal arguments in the statement's order, and their names ("" unnamed)
     "kwargs": [[name, value], ...],
     "ops": [...],                 # a design problem: the class, then one method per call; "args" one list per op
     "in_place": bool,             # a None result means "the first mutable argument, as it is now"
     "order": 0 | 1 | 2,           # results accepted in any order: sort the outer list (1), inner lists too (2)
     "want": "list" | "scalar" | "",  # the expected value's shape: a node result read as its value, lazy results listed
     "json": bool}                 # the platform prints results as JSON: tuples are lists

Literal forms of objects, as programming sites write them: a linked list is the list of its values
(`head = [1,2,3]`, `pos` names the node the tail links back to), a binary tree its level order with
`null` for missing children (`root = [3,9,20,null,null,15,7]`), a graph the adjacency list of nodes
1..n (`adjList = [[2,4],[1,3],...]`), and a tree node given as a value is the node holding it in the
call's first tree. Which form an argument takes is read from the candidate's own annotation
(`head: Optional[ListNode]`), else from the parameter's usual name when the spec is platform-shaped.
Results convert back the same way (ListNode -> list, TreeNode -> level order, Node -> adjacency), as
do generators and other lazy results when a list is expected.

The entry, when the spec names none: the public method of `class Solution` that no other method
calls (parameter names matching the statement's first, then the count), else the candidate's
top-level function chosen the same way. Arguments go by parameter name when the statement's names
are the method's, else by position (statements and code name parameters differently).

`implicit_names()` is what the platform imports for every solution (typing, collections, heapq,
bisect, itertools, functools, math, ... and the node classes), so code using `List[int]` or
`deque` without importing them loads as it does there. `canonical(value, order)` is the
order-insensitive form the parent applies to an expected value and the child to a result.

Correctness checks evaluate `run(globals(), spec)` in the candidate's namespace; a timing harness
calls `prepare(ns, spec)` (the objects are built and the method bound before the timer starts)
and times only `fn(*args, **kwargs)`, then reads `finish(result)`. This file is shipped into the
sandbox as compiled code, so it must stay pure: the standard library only, nothing of the package,
no I/O.
"""

import inspect
import math
import types

MAX_ITEMS = 1 << 20  # a result list or tree read back is cut here (a cycle, a runaway generator)


class ListNode:
    """A singly linked list node, as programming sites define it."""

    def __init__(self, val=0, next=None):
        self.val = val
        self.next = next

    def __repr__(self):
        return f"ListNode({self.val!r})"


class TreeNode:
    """A binary tree node, as programming sites define it."""

    def __init__(self, val=0, left=None, right=None):
        self.val = val
        self.left = left
        self.right = right

    def __repr__(self):
        return f"TreeNode({self.val!r})"


class Node:
    """A graph node (value and neighbours) or an N-ary tree node (value and children), as programming
    sites define them: the second argument is both (`Node(val, children)`, `Node(val, neighbors)`)."""

    def __init__(self, val=0, neighbors=None, children=None):
        self.val = val
        self.neighbors = neighbors if neighbors is not None else children if children is not None else []
        self.children = self.neighbors

    def __repr__(self):
        return f"Node({self.val!r})"


_STAR_MODULES = ("typing", "collections", "itertools", "functools", "heapq", "bisect", "math", "string", "operator",
                 "random", "copy")  # fmt: skip
_MODULES = ("array", "bisect", "collections", "copy", "datetime", "functools", "heapq", "itertools", "math",
            "operator", "random", "re", "string", "sys", "typing")  # fmt: skip
_THIRD_PARTY = (("sortedcontainers", ("SortedList", "SortedDict", "SortedSet", "SortedKeyList")),)


def implicit_names():
    """Names the platform gives every solution without an import: the star imports of typing,
    collections, itertools, functools, heapq, bisect, math, string and operator (never shadowing a
    builtin: `pow` keeps its three-argument form), those modules themselves, `sortedcontainers`'
    classes where it is installed, and ListNode/TreeNode/Node."""
    import builtins
    import importlib

    out = {}
    for name in _STAR_MODULES:
        mod = importlib.import_module(name)
        public = getattr(mod, "__all__", None) or [n for n in dir(mod) if not n.startswith("_")]
        for n in public:
            if not hasattr(builtins, n) and hasattr(mod, n):
                out[n] = getattr(mod, n)
    for name in _MODULES:
        out[name] = importlib.import_module(name)
    for name, classes in _THIRD_PARTY:
        try:
            mod = importlib.import_module(name)
        except ImportError:
            continue
        out.update({c: getattr(mod, c) for c in classes if hasattr(mod, c)})
    out.update({"ListNode": ListNode, "TreeNode": TreeNode, "Node": Node})
    return out


def install(ns, platform=False):
    """Prepare a namespace for a candidate: the platform's implicit names when `platform`."""
    if platform:
        for k, v in implicit_names().items():
            ns.setdefault(k, v)
    return ns


# --------------------------------------------------------------------------------------------
# Literal forms -> objects


def build_list(values, cls=ListNode, pos=-1):
    """A linked list of `values` (None when empty); `pos` >= 0 links the tail back to that node."""
    head = tail = None
    nodes = []
    for v in values:
        node = cls(v)
        nodes.append(node)
        if tail is None:
            head = tail = node
        else:
            tail.next = node
            tail = node
    if tail is not None and isinstance(pos, int) and 0 <= pos < len(nodes):
        tail.next = nodes[pos]
    return head


def build_tree(values, cls=TreeNode):
    """A binary tree from its level order (None for a missing child); None when empty."""
    values = list(values)
    while len(values) > 1 and values[0] is None:  # a grown input may start with a gap: the tree starts after it
        values.pop(0)
    if not values or values[0] is None:
        return None
    root = cls(values[0])
    queue = [root]
    head, i = 0, 1
    while head < len(queue) and i < len(values):
        node = queue[head]
        head += 1
        for side in ("left", "right"):
            if i >= len(values):
                break
            v = values[i]
            i += 1
            if v is not None:
                child = cls(v)
                setattr(node, side, child)
                queue.append(child)
    return root


def build_graph(adjacency, cls=Node):
    """The graph of an adjacency list (node i+1's neighbours are adjacency[i]); its node 1, or None."""
    if not adjacency:
        return None
    nodes = {i + 1: cls(i + 1) for i in range(len(adjacency))}
    for i, nbrs in enumerate(adjacency):
        nodes[i + 1].neighbors = [nodes[j] for j in nbrs if j in nodes]
    return nodes[1]


def build_nary(values, cls=Node):
    """An N-ary tree from its level order, each node's children ended by a None
    (`[1,null,3,2,4,null,5,6]`); None when empty."""
    values = list(values)
    if not values or values[0] is None:
        return None
    root = cls(values[0], [])
    queue, head, i = [root], 0, 2
    while head < len(queue) and i <= len(values):
        node = queue[head]
        head += 1
        kids = []
        while i < len(values) and values[i] is not None:
            kids.append(cls(values[i], []))
            i += 1
        i += 1
        node.children = node.neighbors = kids
        queue += kids
    return root


def _find(root, val):
    """The first node holding `val` in a binary tree (breadth first), else None."""
    queue = [root] if root is not None else []
    for node in queue:
        if node.val == val:
            return node
        queue += [c for c in (getattr(node, "left", None), getattr(node, "right", None)) if c is not None]
        if len(queue) > MAX_ITEMS:
            break
    return None


# --------------------------------------------------------------------------------------------
# Objects -> plain values


def _is_node(o, *attrs):
    return type(o).__module__ != "builtins" and hasattr(o, "val") and all(hasattr(o, a) for a in attrs)


def list_values(head):
    """A linked list's values (a cycle ends the list where it closes)."""
    out, seen = [], set()
    while head is not None and id(head) not in seen and len(out) < MAX_ITEMS:
        seen.add(id(head))
        out.append(head.val)
        head = head.next
    return out


def tree_values(root):
    """A binary tree in level order, None for missing children, trailing Nones dropped."""
    out, queue, head = [], [root], 0
    while head < len(queue) and len(out) < MAX_ITEMS:  # a subtree may be shared (a DAG); a cycle hits the cap
        node = queue[head]
        head += 1
        if node is None:
            out.append(None)
            continue
        out.append(node.val)
        queue.append(getattr(node, "left", None))
        queue.append(getattr(node, "right", None))
    while out and out[-1] is None:
        out.pop()
    return out


def nary_values(root):
    """An N-ary tree in level order, each node's children ended by a None, trailing Nones dropped."""
    out, queue, seen = [root.val, None], [root], {id(root)}
    for node in queue:
        for c in getattr(node, "children", None) or ():
            if id(c) in seen or len(out) > MAX_ITEMS:
                continue
            seen.add(id(c))
            out.append(c.val)
            queue.append(c)
        out.append(None)
    while out and out[-1] is None:
        out.pop()
    return out


def graph_values(node):
    """A graph as the adjacency list of its nodes' values, ordered by value."""
    if node is None:
        return []
    seen, queue = {id(node): node}, [node]
    for n in queue:
        for m in getattr(n, "neighbors", None) or ():
            if id(m) not in seen and len(seen) < MAX_ITEMS:
                seen[id(m)] = m
                queue.append(m)
    nodes = sorted(seen.values(), key=lambda n: _key(n.val))
    return [[m.val for m in getattr(n, "neighbors", None) or ()] for n in nodes]


_LAZY = (types.GeneratorType, map, filter, zip, reversed, enumerate, range, type(iter([])), type(iter(())),
         type(iter(set())), type(iter("")), type({}.keys()), type({}.values()), type({}.items()))  # fmt: skip


def to_plain(value, want="", json=False, lazy=False, depth=0, nary=False):
    """A result as a plain value: nodes as their literal forms (or, when a scalar is expected, a
    node as its value; `nary`: a Node is an N-ary tree's, not a graph's), lazy results (generators,
    map, ...) listed when `lazy` and a list is expected, tuples as lists when `json`."""
    if depth > 60:
        return value
    if _is_node(value, "next") and not hasattr(value, "left"):
        return value.val if want == "scalar" else list_values(value)
    if _is_node(value, "left", "right"):
        return value.val if want == "scalar" else tree_values(value)
    if _is_node(value, "children") and (nary or not hasattr(value, "neighbors")):
        return value.val if want == "scalar" else nary_values(value)
    if _is_node(value, "neighbors"):
        return value.val if want == "scalar" else graph_values(value)
    if lazy and want == "list" and depth == 0 and isinstance(value, _LAZY):
        value = list(value)[:MAX_ITEMS]
    if json and type(value) is tuple:
        value = list(value)
    if type(value) is list and (json or any(_is_node(x) for x in value[:64])):
        return [to_plain(x, "", json, False, depth + 1, nary) for x in value]
    return value


def _key(x):
    """A total order over plain values of mixed types (for answers accepted in any order)."""
    if x is None:
        return (0, 0)
    if isinstance(x, bool):
        return (1, int(x))
    if isinstance(x, (int, float)):
        return (2, x if x == x else math.inf)
    if isinstance(x, str):
        return (3, x)
    if isinstance(x, (list, tuple)):
        return (4, tuple(_key(i) for i in x))
    return (5, repr(x))


def canonical(value, order=0):
    """`value` in the form order does not change: its list sorted (order 1), its inner lists as well
    (order 2). Anything but a list is returned as it is."""
    if not order or type(value) is not list:
        return value
    if order >= 2:
        value = [sorted(x, key=_key) if type(x) is list else x for x in value]
    return sorted(value, key=_key)


# --------------------------------------------------------------------------------------------
# Which callable, with which arguments


def _code_names(code, out, depth=0):
    """Every name a code object reads, its nested functions' included (`self.dfs(...)` reads 'dfs')."""
    if depth > 20:
        return out
    out.update(code.co_names)
    for c in code.co_consts:
        if isinstance(c, types.CodeType):
            _code_names(c, out, depth + 1)
    return out


_CO_VARARGS = 0x04


def _params(fn):
    """(names of the positional parameters, how many are required) of a function or bound method.
    A plain function is read from its code object: `inspect.signature` costs ~8 us a call, which a
    timed call of a microsecond would otherwise inherit as noise (it runs before the timer, once per
    input); anything else (a wrapper, a builtin, a class) goes through `inspect`."""
    plain = fn.__func__ if type(fn) is types.MethodType else fn
    if type(plain) is types.FunctionType and not {"__wrapped__", "__signature__"} & plain.__dict__.keys():
        code = plain.__code__
        names = list(code.co_varnames[: code.co_argcount])
        required = len(names) - len(plain.__defaults__ or ())
        if plain is not fn:  # bound: its first parameter is given (none to give: inspect says why not)
            if not names:
                return _signature_params(fn)
            names, required = names[1:], max(0, required - 1)
        return (None if code.co_flags & _CO_VARARGS else names), required
    return _signature_params(fn)


def _signature_params(fn):
    """`_params` as `inspect.signature` reads it (any callable)."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return None, 0
    names, required = [], 0
    for p in sig.parameters.values():
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            names.append(p.name)
            required += p.default is p.empty
        elif p.kind == p.VAR_POSITIONAL:
            return None, required
    return names, required


def _pick(funcs, names, n_args):
    """The entry among candidate functions {name: function}: one whose parameters are the
    statement's names (one no other calls first), else one that takes `n_args` arguments (again
    uncalled ones first), else the first uncalled one."""
    called = set()
    for name, f in funcs.items():
        code = getattr(f, "__code__", None)
        if code is not None:
            called |= {n for n in _code_names(code, set()) if n != name}
    roots = [n for n in funcs if n not in called]
    ordered = roots + [n for n in funcs if n in called]
    wanted = {n for n in names if n}

    def params(n):
        ps, req = _params(funcs[n])
        if ps and ps[0] in ("self", "cls"):
            return ps[1:], max(0, req - 1)
        return ps, req

    if wanted:
        for n in ordered:
            ps, _ = params(n)
            if ps is not None and wanted - {"pos"} == set(ps) or ps is not None and wanted == set(ps):
                return n
    for n in ordered:
        ps, req = params(n)
        if ps is None or req <= n_args <= len(ps):
            return n
    return ordered[0] if ordered else None


def _unwrap(f):
    """The function a decorator (`@cache`, `@staticmethod`) wraps, which keeps its parameters and
    annotations; `f` itself when it wraps none (or its `__wrapped__` chain is a cycle)."""
    try:
        return inspect.unwrap(f)
    except ValueError:
        return f


def _methods(cls):
    """A class's public methods, as functions: decorated ones unwrapped."""
    out = {}
    for n, f in vars(cls).items():
        f = _unwrap(f)
        if not n.startswith("_") and isinstance(f, types.FunctionType):
            out[n] = f
    return out


def _own_functions(ns):
    return {
        n: f
        for n, f in ns.items()
        if isinstance(f, types.FunctionType)
        and type(n) is str
        and not n.startswith("_")
        and f.__code__.co_filename == "<candidate>"
    }


def resolve(ns, spec):
    """The callable a spec names in namespace `ns` (a fresh instance's method for a class), and the
    function whose parameters and annotations describe it. Raises LookupError when there is none."""
    entry, owner = spec.get("entry"), spec.get("owner")
    names, n_args = spec.get("names") or [], len(spec.get("args") or ())
    if owner is None and entry is not None and callable(ns.get(entry)) and not isinstance(ns.get(entry), type):
        fn = ns[entry]
        return fn, fn
    if owner is None and "Solution" in ns and isinstance(ns["Solution"], type):
        owner = "Solution"
    if owner is not None:
        cls = ns.get(owner)
        if not isinstance(cls, type):
            raise LookupError(f"the code defines no class {owner}")
        if entry is None or not hasattr(cls, entry):
            entry = _pick(_methods(cls), names, n_args)
        if entry is None:
            raise LookupError(f"class {owner} has no public method")
        inst = cls()
        return getattr(inst, entry), _unwrap(getattr(cls, entry))
    if entry is None:
        entry = _pick(_own_functions(ns), names, n_args)
    fn = ns.get(entry) if entry else None
    if not callable(fn):
        raise LookupError(f"the code defines no function {entry or 'to call'}")
    return fn, fn


def _annotation(fn, name):
    ann = getattr(fn, "__annotations__", None) or {}
    a = ann.get(name)
    return a if isinstance(a, str) else repr(a) if a is not None else ""


_LIST_NAMES = {"head", "l1", "l2", "list1", "list2", "heada", "headb", "node"}
_TREE_NAMES = {"root", "root1", "root2", "t1", "t2", "original", "cloned", "subroot", "tree"}


def _kind(annotation, name, value, json):
    """Which object a literal argument stands for: "list", "tree", "tree-ref", "graph", "lists",
    "trees" (a list of them), "float"/"floats" (a platform's doubles written as integers), or ""
    (the value itself)."""
    if json and annotation in ("float", "<class 'float'>") and type(value) is int:
        return "float"  # the platform passes a double: `hour = 6` is 6.0 (`hour.is_integer()`)
    if json and annotation.replace("typing.", "") in ("List[float]", "list[float]") and type(value) is list:
        return "floats" if all(type(x) is int for x in value) else ""
    if "ListNode" in annotation:
        kind = "list"
    elif "TreeNode" in annotation:
        kind = "tree"
    elif "Node" in annotation.replace("ListNode", "").replace("TreeNode", ""):
        kind = "graph"
    elif json and not annotation and name.lower() in _LIST_NAMES:
        kind = "list"
    elif json and not annotation and name.lower() in _TREE_NAMES:
        kind = "tree"
    else:
        return ""
    if type(value) is not list:
        return "tree-ref" if kind == "tree" and value is not None else ""
    if kind == "tree" and value and "List" in annotation and not any(type(x) is list for x in value):
        return "tree-refs"  # nodes = [4, 7]: the nodes holding these values
    if kind == "graph" and not all(type(x) is list for x in value):
        return "nary" if len(value) > 1 and value[1] is None or len(value) == 1 else ""
    head = annotation.replace("typing.", "").lstrip()
    if head.lower().startswith(("list[", "sequence[")) and all(type(x) is list for x in value):
        return kind + "s"
    return kind


def _classes(ns):
    def cls(name, default):
        c = ns.get(name)
        return c if isinstance(c, type) else default

    return cls("ListNode", ListNode), cls("TreeNode", TreeNode), cls("Node", Node)


def _build(kind, value, classes, pos=-1):
    list_cls, tree_cls, node_cls = classes
    if kind == "list":
        return build_list(value, list_cls, pos)
    if kind == "tree":
        return build_tree(value, tree_cls)
    if kind == "graph":
        return build_graph(value, node_cls)
    if kind == "nary":
        return build_nary(value, node_cls)
    if kind == "lists":
        return [build_list(v, list_cls) for v in value]
    if kind == "trees":
        return [build_tree(v, tree_cls) for v in value]
    if kind == "float":
        return float(value)
    if kind == "floats":
        return [float(x) for x in value]
    return value


def _arguments(described, args, names, kwargs, json, classes):
    """The call's arguments: by parameter name when the statement's names are the function's
    (a linked list's `pos` builds its cycle), else by position; literal forms built into objects."""
    params, _ = _params(described)
    if params and params[0] in ("self", "cls"):
        params = params[1:]
    args, names = list(args), list(names or [])
    names += [""] * (len(args) - len(names))
    pos = -1
    if params is not None and names and all(names):
        given = dict(zip(names, args, strict=False))
        if "pos" in given and "pos" not in params:
            pos = given.pop("pos")
        if set(given) == set(params[: len(given)]):
            args = [given[p] for p in params[: len(given)]]
        else:  # the statement names them differently: by position
            args = list(given.values())
        names = [params[i] if i < len(params) else n for i, n in enumerate(given)]
    elif params is not None:
        names = [params[i] if i < len(params) else n for i, n in enumerate(names)]
    kinds = [_kind(_annotation(described, n), n, v, json) for n, v in zip(names, args, strict=False)]
    first_tree = next((i for i, k in enumerate(kinds) if k == "tree"), None)
    built = [_build(k, v, classes, pos if k == "list" else -1) for k, v in zip(kinds, args, strict=False)]
    for i, k in enumerate(kinds):
        root = built[first_tree] if first_tree is not None else None
        if k == "tree-ref":
            built[i] = _find(root, args[i])
        elif k == "tree-refs":
            built[i] = [_find(root, v) for v in args[i]]
    kw = {k: _build(_kind(_annotation(described, k), k, v, json), v, classes) for k, v in kwargs or ()}
    return built, kw, "nary" in kinds


def _returns(described):
    """The text of a function's return annotation ("" without one)."""
    ann = getattr(described, "__annotations__", None) or {}
    if "return" not in ann:
        return ""
    a = ann["return"]
    return "None" if a is None or a is type(None) else a if isinstance(a, str) else repr(a)


def prepare(ns, spec):
    """(fn, args, kwargs, finish) for one call: `fn(*args, **kwargs)` is the call itself (objects
    built, a fresh instance bound), `finish(result)` the plain, canonical value to compare."""
    json, want, order = bool(spec.get("json")), spec.get("want", ""), int(spec.get("order") or 0)
    classes = _classes(ns)
    if spec.get("ops"):
        return _prepare_design(ns, spec, classes)
    fn, described = resolve(ns, spec)
    args, kwargs, nary = _arguments(described, spec.get("args") or (), spec.get("names"), spec.get("kwargs"), json,
                                    classes)  # fmt: skip
    returns = _returns(described)
    in_place = spec.get("in_place") or returns == "None"
    node_result = "Node" in returns  # ListNode, TreeNode, Node: None is the empty one, printed []
    # The platform prints what a method annotated `-> List[...]` returns as a list: None as [], a
    # generator listed (accepted solutions rely on both).
    list_result = json and returns.replace("typing.", "").lower().startswith("list[")
    lazy = bool(spec.get("lazy")) or list_result

    def finish(result):
        if result is None and in_place and want == "list":
            mutable = [a for a in args if not isinstance(a, (int, float, str, bool, bytes, tuple))]
            if mutable and mutable[0] is None:  # an empty linked list or tree, changed in place: still empty
                return []
            result = mutable[0] if mutable else None
        if node_result and want == "list":
            if result is None:
                return []
            if type(result) is list:  # a list of linked lists or trees: None is an empty one
                result = [[] if x is None else x for x in result]
        if result is None and list_result and want == "list":
            return []
        return canonical(to_plain(result, want, json, lazy, nary=nary), order)

    return fn, args, kwargs, finish


def _prepare_design(ns, spec, classes):
    """A design problem: construct the class with the first op's arguments, then call each method
    in turn; the result is the list of what each op returned (None for the constructor)."""
    ops, op_args, json = list(spec["ops"]), list(spec.get("args") or ()), bool(spec.get("json"))
    cls = ns.get(ops[0])
    if not isinstance(cls, type):
        raise LookupError(f"the code defines no class {ops[0]}")
    if len(op_args) != len(ops):
        raise ValueError("the operations and their arguments differ in number")

    def run_ops():
        obj = cls(*_arguments(cls.__init__, op_args[0], None, None, json, classes)[0])
        out = [None]
        for name, a in zip(ops[1:], op_args[1:], strict=True):
            method = getattr(obj, name)
            built = _arguments(method, a, None, None, json, classes)[0]
            out.append(to_plain(method(*built), "", json))
        return out

    return run_ops, [], {}, lambda result: result


def run(ns, spec):
    """Make the call a spec describes in namespace `ns` and return its plain, canonical result
    (what a correctness check evaluates: `run(globals(), spec)`)."""
    fn, args, kwargs, finish = prepare(ns, spec)
    return finish(fn(*args, **kwargs))
