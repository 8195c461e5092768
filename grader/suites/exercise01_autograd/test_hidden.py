"""Hidden checks for exercise01_autograd."""

import torch

from grader.checks import FLOAT32, LOSS, REPLAYED, Mistake, check, close, expect, expect_close, near
from grader.suites.trusted_side import descent_without_zero_grad, graph_mistake, tensor_of

CASES = [("cubic", False, False), ("wavy", False, False), ("wavy", True, True)]


@check("api")
def test_api(student):
    """gradient and predict_no_grad exist with the README's signatures and return tensors of the right shape"""
    student.expect_api()
    got = student.run("gradient_call", fn="cubic", requires_grad=False, with_grad=False)
    tensor_of(got.result, "the gradient", shape=[3, 4])
    tensor_of(student.run("predict_call").out, "the prediction", shape=[4, 2])


@check("gradients", points=2)
def test_gradient_values(student, reference):
    """gradient(f, x) returns df/dx"""
    for fn, rg, wg in CASES:
        got = student.run("gradient_call", fn=fn, requires_grad=rg, with_grad=wg)
        want = reference.run("gradient_call", fn=fn, requires_grad=rg, with_grad=wg)
        values = tensor_of(got.result, "the gradient", shape=want.result.shape)
        if wg and close(values, want.result.values + 7.0):
            raise Mistake(f"gradient of the `{fn}` test function came out as the caller's old x.grad (7s) plus "
                          "df/dx: backward accumulated into x.grad. Differentiate a detached copy of x, or use "
                          "torch.autograd.grad, and leave x.grad alone")
        expect_close(values, want.result.values, f"gradient of the `{fn}` test function is wrong")


@check("gradients")
def test_gradient_result_detached(student):
    """The returned gradient does not require grad"""
    got = student.run("gradient_call", fn="cubic", requires_grad=False, with_grad=False)
    tensor_of(got.result, "the gradient")
    expect(not got.result.requires_grad,
           "the gradient you return still requires grad: return `.detach()`ed values "
           "(or use torch.autograd.grad without create_graph)")


@check("modes")
def test_gradient_leaves_x_alone(student):
    """gradient leaves x untouched (values, requires_grad, .grad)"""
    got = student.run("gradient_call", fn="wavy", requires_grad=False, with_grad=False)
    expect(got.x_values_kept, "gradient changed the values of x; work on a copy")
    expect(not got.x_requires_grad,
           "gradient switched on x.requires_grad; use a detached copy of x instead of x itself")
    expect(got.x_grad is None, "gradient left a .grad on x; differentiate a copy of x")
    got = student.run("gradient_call", fn="wavy", requires_grad=True, with_grad=True)
    expect(got.x_grad is not None and close(got.x_grad, torch.full((3, 4), 7.0)),
           "gradient changed x.grad of an x that already had one (gradients accumulated into "
           "it?); differentiate a detached copy, or use torch.autograd.grad")
    expect(got.grad_enabled_after, "gradient left autograd switched off after returning")


@check("api")
def test_fit_line_returns(student):
    """fit_line returns (w, b, losses): 0-dim detached tensors and `steps` floats"""
    got = student.run("fit_line_call", lr=0.1, steps=30)
    for name in ("w", "b"):
        tensor_of(getattr(got, name), name, shape=[])
        expect(not getattr(got, name).requires_grad, f"{name} still requires grad: return {name}.detach()")
    expect(got.losses_type in ("list", "tuple"),
           f"losses should be a list of floats, not a {got.losses_type}")
    expect(len(got.losses) == 30, f"with steps=30 there should be 30 losses, got {len(got.losses)}")
    expect(got.loss_item_types == ["float"],
           f"losses should hold Python floats (use loss.item()), found {got.loss_item_types}")


@check("values", points=2)
def test_fit_line_values(student, reference):
    """fit_line follows gradient descent exactly (w, b and every recorded loss)"""
    for lr, steps in ((0.1, 30), (0.05, 7)):
        got = student.run("fit_line_call", lr=lr, steps=steps)
        want = reference.run("fit_line_call", lr=lr, steps=steps)
        w = tensor_of(got.w, "w", shape=[])
        b = tensor_of(got.b, "b", shape=[])
        losses = got.losses
        ref = want.losses
        if close((w, b), (want.w.values, want.b.values)) and close(losses, ref):
            continue
        x, y = got.x.double(), got.y.double()
        acc_w, acc_b = descent_without_zero_grad([torch.zeros(()), torch.zeros(())],
                                                 lambda w, b: ((w * x + b - y) ** 2).mean(), lr, steps)
        if close((w, b), (acc_w, acc_b), tol=REPLAYED):
            raise Mistake("w and b moved as if gradients were never cleared: set w.grad and b.grad "
                          "to None (or zero them) after every update")
        if len(losses) == len(ref) and close(losses[:-1], ref[1:], tol=FLOAT32):
            raise Mistake("losses[i] should be the loss before the i-th update; yours are recorded "
                          "after it")
        if losses and losses[0] is not None and not near(losses[0], ref[0], tol=LOSS):
            raise Mistake(f"the first loss should be the MSE at w = b = 0 ({ref[0]:.4f}), "
                          f"got {losses[0]:.4f}: start from zeros and use the mean squared error")
        expect_close((w, b), (want.w.values, want.b.values),
                     f"w and b differ from plain gradient descent with lr={lr}, steps={steps}")
        expect_close(losses, ref, "the recorded losses differ from plain gradient descent")


@check("api")
def test_fit_line_defaults(student, reference):
    """fit_line's defaults are lr=0.1 and steps=100"""
    got = student.run("fit_line_defaults")
    want = reference.run("fit_line_defaults")
    expect(got.n_losses == 100, f"fit_line(x, y) should run 100 steps by default, ran {got.n_losses}")
    expect_close(tensor_of(got.w, "w", shape=[]), want.w.values,
                 "fit_line(x, y) should use lr=0.1 by default")


@check("loss-decrease")
def test_fit_line_learns(student):
    """fit_line's loss falls steadily and the line fits the data"""
    got = student.run("fit_line_call", lr=0.1, steps=30)
    losses = got.losses
    expect(len(losses) == 30 and None not in losses, "fit_line did not return 30 losses")
    expect(all(b <= a + 1e-6 for a, b in zip(losses, losses[1:])),
           "the loss went up during training: check the sign of the update (p -= lr * p.grad)")
    expect(losses[-1] < 0.2 * losses[0], f"the loss fell only from {losses[0]:.3f} to {losses[-1]:.3f}")


@check("modes", points=2)
def test_predict_no_grad(student, reference):
    """predict_no_grad returns model(x) without recording a graph"""
    got = student.run("predict_call")
    want = reference.run("predict_call")
    values = tensor_of(got.out, "the prediction", shape=[4, 2])
    expect_close(values, want.out.values, "predict_no_grad should return exactly model(x)")
    expect(got.facts, "predict_no_grad never called the model")
    returned_graph = got.out.has_graph or got.out.requires_grad
    message = graph_mistake(got.facts, "predict_no_grad", returned_graph)
    expect(message is None and not returned_graph,
           message or "the prediction still carries a graph (grad_fn); compute it inside torch.no_grad()")
    expect(got.grad_enabled_after,
           "autograd is still switched off after predict_no_grad; use `with torch.no_grad():` "
           "so it is restored")
    expect(got.params_require_grad, "predict_no_grad switched off requires_grad on the model's "
           "parameters; use torch.no_grad() instead")
