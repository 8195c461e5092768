"""Hidden checks for exercise16_relational.

Expected values are computed here, in the trusted process, from the suite's own fixed
inputs: all_pairs by a float64 re-implementation, RelationNetwork with the suite's own g
and f (`known_g_f`) swapped into the submission's module, so the pairing, the sum over
pairs and the composition f(sum g) are checked exactly whatever MLPs the student chose.
"""

import torch

from grader.checks import FLOAT32, Mistake, Tolerance, check, close, expect, expect_close
from grader.suites.trusted_side import check_devices, tensor_of
from grader.suites.exercise16_relational.probes import (ANY_N, PAIR_CASES, RN_CONFIGS, known_g_f,
                                                          pair_inputs, rn_inputs)

# all_pairs's gradient in float64 is a plain sum of weights: float64 rounding only
GRAD_F64 = Tolerance(rtol=1e-9, atol=1e-9)
# "the output changed at all" when one object changes: any change beyond float32 noise
CHANGED = Tolerance(rtol=1e-6, atol=1e-6)

# ----------------------------------------------------------------- all_pairs


def _pairs(x, how="ok"):
    """all_pairs; `how` reproduces known mistakes."""
    B, N, D = x.shape
    i = torch.arange(N).repeat_interleave(N)  # index k = i·N + j
    j = torch.arange(N).repeat(N)
    if how == "swapped":
        i, j = j, i
    elif how == "first_twice":
        j = i
    elif how == "second_twice":
        i = j
    return torch.cat([x[:, i], x[:, j]], dim=-1)


PAIR_MISTAKES = [
    ("swapped", "pair (i, j) at index i·N + j holds concat(o_j, o_i) (or the pairs are in j-major order): "
                "the first half must be object i = index // N, the second object j = index % N"),
    ("first_twice", "both halves of each pair hold object i: the second half must be object j = index % N"),
    ("second_twice", "both halves of each pair hold object j: the first half must be object i = index // N"),
]


def _pairs_shape_problem(shape, B, N, D):
    if len(shape) == 4 and shape[:3] == [B, N, N]:
        return f"all_pairs returns shape {tuple(shape)}: flatten the pairs to (B, N·N, 2D) with index i·N + j"
    if len(shape) != 3 or shape[0] != B or shape[2] != 2 * D:
        return f"all_pairs returns shape {tuple(shape)} for objects of shape ({B}, {N}, {D}), expected ({B}, {N * N}, {2 * D})"
    P = shape[1]
    if P == N * N:
        return ""
    if P == N * (N - 1):
        return (f"all_pairs returns {P} pairs for N={N}, expected N·N = {N * N}: the pairs with i == j "
                "(an object with itself) must be included")
    if P == N * (N - 1) // 2 or P == N * (N + 1) // 2:
        return (f"all_pairs returns {P} pairs for N={N}, expected N·N = {N * N}: every ordered pair (i, j) "
                "is included, (i, j) and (j, i) both, and i == j too")
    return f"all_pairs returns {P} pairs for N={N}, expected N·N = {N * N}"


def _pairs_out(desc, B, N, D, dtype="torch.float32"):
    if not desc.is_tensor:
        raise Mistake(f"all_pairs should return a tensor, but it returns a {desc.type}")
    problem = _pairs_shape_problem(list(desc.shape), B, N, D)
    if problem:
        raise Mistake(problem)
    return tensor_of(desc, "all_pairs's result", dtype=dtype)


def _expect_pairs(student, case):
    B, N, D = PAIR_CASES[case]
    got = student.run("pairs_call", case=case)
    out = _pairs_out(got.out, B, N, D)
    x = pair_inputs(case)
    where = f" (objects of shape ({B}, {N}, {D}))"
    want = _pairs(x)
    if not close(out, want):
        for how, message in PAIR_MISTAKES:
            if close(out, _pairs(x, how)):
                raise Mistake(message + where)
        expect_close(out, want, "all_pairs's values are wrong: pair (i, j) at index i·N + j must hold "
                     "concat(o_i, o_j)" + where)
    expect(got.input_kept, "all_pairs changed its input in place")


@check("api")
def test_api(student):
    """The names exist with the README's signatures; all_pairs, g, f and the network give the right shapes"""
    student.expect_api()
    B, N, D = PAIR_CASES["small"]
    _pairs_out(student.run("pairs_call", case="small").out, B, N, D)
    got = student.run("rn_api")
    expect(not got.structure, got.structure)
    for name, shape, fan_in in (("g", [2, 9, 6], "2 * obj_dim = 6"), ("f", [2, 2], "hidden_dim = 6")):
        part = getattr(got, name)
        if part.error is not None:
            raise Mistake(f"self.{name} fails on an input with {fan_in} features in the last dim: {part.error}")
        tensor_of(part.out, f"self.{name}'s output (obj_dim=3, hidden_dim=6, out_dim=2)", shape=shape)
    for desc, (B, N) in zip(got.outputs, ((2, 3), (1, 4), (4, 1))):
        tensor_of(desc, f"RelationNetwork(3, 6, 2)'s output for objects of shape ({B}, {N}, 3)", shape=[B, 2])


@check("values", points=2)
def test_pairs_values(student):
    """all_pairs puts concat(o_i, o_j) at index i·N + j, for several (B, N, D), also N = 1 and B = 1"""
    for case in PAIR_CASES:
        _expect_pairs(student, case)


@check("api")
def test_pairs_dtype(student):
    """all_pairs keeps the dtype of the objects (float64 in, float64 out)"""
    B, N, D = PAIR_CASES["wide"]
    got = student.run("pairs_call", case="wide", dtype="float64")
    desc = got.out
    if desc.is_tensor and desc.dtype != "torch.float64":
        raise Mistake(f"all_pairs turns float64 objects into {desc.dtype}: build the result from the "
                      "objects themselves (or pass dtype=objects.dtype to any new tensor)")
    _pairs_out(desc, B, N, D, dtype="torch.float64")


def _selection_gradient(x, out, weights):
    """The gradient of (out * weights).sum() w.r.t. x if `out` copies elements of x (found by value;
    x holds distinct values), else None. So a wrong pairing is not also counted as a wrong gradient."""
    match = out.reshape(-1, 1) == x.reshape(1, -1)
    if not bool((match.sum(dim=1) == 1).all()):
        return None
    return (match.double().T @ weights.reshape(-1).double()).reshape(x.shape)


@check("gradients")
def test_pairs_gradients(student):
    """Gradients flow back to the objects through all_pairs (a weighted sum's gradient; gradcheck in float64)"""
    B, N, D = PAIR_CASES["small"]
    got = student.run("pairs_gradients")
    _pairs_out(got.out, B, N, D, dtype="torch.float64")
    expect(got.out.has_graph and got.grad is not None,
           "no gradient reaches the objects: all_pairs's result must be built from them with tensor "
           "operations (no .detach(), torch.tensor(...) copies or .tolist())")
    x = pair_inputs("small", torch.float64)
    want = _selection_gradient(x, tensor_of(got.out, "all_pairs's result", dtype="torch.float64"), got.weights)
    if want is None:  # not a plain copy of the objects' values: the true all_pairs's gradient
        x.requires_grad_(True)
        (_pairs(x) * got.weights).sum().backward()
        want = x.grad
    expect_close(got.grad, want, "the gradient w.r.t. the objects is wrong", tol=GRAD_F64)
    expect(got.gradcheck, "torch.autograd.gradcheck fails on all_pairs (float64)")


# ----------------------------------------------------------------- RelationNetwork


def _rn(x, known, pairs="all", reduce="sum"):
    """The expected output (float64) for the suite's g and f; the keyword arguments reproduce mistakes."""
    g, f = known
    x = x.double()
    B, N, _ = x.shape
    rel = g(_pairs(x)).view(B, N, N, -1)
    i, j = torch.meshgrid(torch.arange(N), torch.arange(N), indexing="ij")
    keep = {"all": torch.ones(N, N, dtype=torch.bool), "off_diagonal": i != j, "upper": i < j}[pairs]
    rel = rel[:, keep]
    if reduce == "sum":
        s = rel.sum(dim=1)
    elif reduce == "mean":
        s = rel.mean(dim=1) if rel.shape[1] else rel.sum(dim=1)
    elif reduce == "after_f":
        return f(rel).sum(dim=1)
    else:
        s = rel[:, -1]
    return f(s)


RN_MISTAKES = [
    ({"reduce": "mean"}, "the relations are averaged over the pairs: sum g over all N·N pairs (a sum, not a mean)"),
    ({"pairs": "off_diagonal"}, "the pairs (i, i) of an object with itself are left out: sum g over all N·N "
                                "pairs"),
    ({"pairs": "upper"}, "only the pairs with i < j are used: sum g over all N·N ordered pairs, i == j included"),
    ({"pairs": "off_diagonal", "reduce": "mean"}, "the relations are averaged over the pairs with i != j: sum g "
                                                  "over all N·N pairs"),
    ({"reduce": "after_f"}, "f is applied to every pair before the sum: sum g over the pairs first, then "
                            "apply f once to the sum"),
    ({"reduce": "last"}, "only the last pair's relation is used: sum g over all N·N pairs"),
]


def _known(config):
    obj_dim, hidden_dim, out_dim = config[:3]
    return [m.double() for m in known_g_f(obj_dim, hidden_dim, out_dim)]


def _expect_rn(out, config, x, where):
    known = _known(config)
    with torch.no_grad():
        want = _rn(x, known).float()
        if close(out, want):
            return
        expect(not out.isnan().any(), "the output contains NaN" + where)
        for kwargs, message in RN_MISTAKES:
            if close(out, _rn(x, known, **kwargs).float()):
                raise Mistake(message + where)
    expect_close(out, want, "the output is not f(sum over all pairs (i, j) of g(concat(o_i, o_j))) with the "
                 "suite's own g and f put in self.g and self.f: apply self.g to every pair, sum over the "
                 "pairs, then self.f, and nothing else (and get all_pairs right first)" + where)


@check("values", points=3)
def test_rn_values(student):
    """With known modules put in self.g and self.f, the output is f(sum over all N·N pairs of g(pair))"""
    for config in RN_CONFIGS:
        obj_dim, hidden_dim, out_dim, B, N = config
        got = student.run("rn_known", config=list(config))
        expect(not got.structure, got.structure)
        out = tensor_of(got.out, "RelationNetwork's output", shape=[B, out_dim])
        _expect_rn(out, config, rn_inputs(obj_dim, B, N, 0),
                   f" (obj_dim={obj_dim}, hidden_dim={hidden_dim}, out_dim={out_dim}, {N} objects)")


@check("values")
def test_rn_any_number_of_objects(student):
    """One network handles any number of objects: calls with N = 4, 2, 5, 1 in turn are all right"""
    got = student.run("rn_any_n")
    expect(not got.structure, got.structure)
    config = (3, 6, 2)
    for k, (N, result) in enumerate(zip(ANY_N, got.results)):
        after = f" (call {k + 1}, N={N}, after a first call with N={ANY_N[0]})" if k else f" (first call, N={N})"
        if result.error:
            raise Mistake(f"the network raised {result.error}{after}: it must not be tied to the number "
                          "of objects of an earlier call (build the pairs from each input)")
        out = tensor_of(result.out, "RelationNetwork's output" + after, shape=[2, 2])
        x = rn_inputs(3, 2, N, 1)
        want = _rn(x, _known(config)).float()
        if k and not close(out, want):
            raise Mistake("a second call with another number of objects gives a wrong output" + after +
                          ": do not keep pair indices or sizes from an earlier call")
        _expect_rn(out, (*config, 2, N), x, after)


@check("values", points=2)
def test_rn_order_invariance(student):
    """The output does not change when the objects are permuted, yet changes when any one object changes"""
    got = student.run("rn_invariance")
    expect(not got.structure, got.structure)
    base = tensor_of(got.base, "RelationNetwork(3, 16, 4)'s output", shape=[2, 4])
    for perm, desc in zip(got.perms, got.permuted):
        out = tensor_of(desc, "the output for permuted objects", shape=[2, 4])
        expect(close(out, base, tol=FLOAT32),
               f"permuting the objects (order {perm}) changed the output: sum g over ALL pairs so that the "
               "order of the objects cannot matter")
    for k, desc in enumerate(got.changed):
        out = tensor_of(desc, "the output", shape=[2, 4])
        expect(not close(out, base, tol=CHANGED),
               f"changing object {k} leaves the output unchanged: the output must depend on every object "
               "(is a result of g thrown away?)")


@check("gradients")
def test_rn_gradients(student):
    """A backward pass reaches every parameter and the objects, with the right gradient w.r.t. the objects"""
    got = student.run("rn_gradients")
    expect(not got.structure, got.structure)
    expect(got.out.has_graph, "the output carries no graph: nothing can be trained")
    missing = [name for name, p in got.params.items() if p.none]
    expect(not missing, f"no gradient reaches {', '.join(missing[:3])}: is a result detached or computed "
           "under torch.no_grad()?")
    bad = [name for name, p in got.params.items() if not p.finite]
    expect(not bad, f"non-finite gradients in {', '.join(bad[:3])}")
    expect(got.objects_grad is not None, "no gradient reaches the objects: are the pairs detached?")
    expect(got.known_grad is not None, "with the suite's g and f in place no gradient reaches the objects")
    x = rn_inputs(3, 2, 4, 2).double().requires_grad_(True)
    out = _rn(x, _known((3, 6, 2)))
    (out * torch.randn(out.shape, generator=torch.Generator().manual_seed(9)).double()).sum().backward()
    expect_close(got.known_grad, x.grad.float(), "the gradient w.r.t. the objects is wrong (with the suite's "
                 "g and f in place)")


@check("loss-decrease", points=2)
def test_rn_learns(student):
    """150 Adam steps learn the mean squared distance between the objects' pairs"""
    got = student.run("rn_training")
    losses = got.losses
    expect(all(l == l for l in losses), "the loss became NaN during training")
    # A network that cannot learn a pairwise relation stays near the variance (a linear one: 0.97 of
    # it); correct ones end below 0.5 of it on every salt tried, most near 0.002 (tanh: up to 0.46).
    expect(losses[-1] < 0.75 * got.baseline,
           f"after 150 Adam steps the loss is {losses[-1]:.3g}, not below three quarters of the target's variance "
           f"({got.baseline:.3g}): the network cannot learn a pairwise relation (do g and f have nonlinear "
           "activations between their linear layers, and is g summed over every pair?)")


# ----------------------------------------------------------------- device


@check("device")
def test_device(student):
    """all_pairs and RelationNetwork follow the device of their input (meta, and cuda when present)"""
    for device in check_devices(student):
        got = student.run("device_call", device=device)
        for key, what in (("pairs", "all_pairs"), ("rn", "RelationNetwork (moved with .to(device))")):
            placed = getattr(got, key)
            error = placed.error
            if error and error.startswith("NotImplementedError: TODO"):
                raise Mistake(f"{what} is not implemented yet ({error})")
            if error:
                raise Mistake(f"{what} fails on objects on {device}: {placed.error}: create any new "
                              "tensor on objects.device (never a hard-coded device)")
            seen = placed.device.split(":")[0]
            expect(seen == device, f"{what} returns a result on {seen} for objects on {device}: never hard-code "
                   "a device; build the result from the input (or use device=objects.device)")
