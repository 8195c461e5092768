"""exercise01_autograd: realistic mistakes (edits of the reference, and the checks each must lose) and
correct alternatives in other styles (code appended to the reference; full marks)."""

MISTAKES = {
    "gradient_on_x_itself": (
        [("    x = x.detach().clone().requires_grad_(True)\n    (grad,) = torch.autograd.grad(f(x), x)\n    return grad.detach()",
          "    x.requires_grad_(True)\n    f(x).backward()\n    return x.grad")],
        {"gradient_leaves_x_alone": "switched on x.requires_grad",
         "gradient_values": "gradient of the"}),
    "gradient_with_graph": (
        [("    (grad,) = torch.autograd.grad(f(x), x)\n    return grad.detach()",
          "    (grad,) = torch.autograd.grad(f(x), x, create_graph=True)\n    return grad")],
        {"gradient_result_detached": "still requires grad"}),
    "gradient_not_implemented": (
        [("    x = x.detach().clone().requires_grad_(True)\n", "    raise NotImplementedError\n")],
        {"api": "not implemented", "gradient_values": "not implemented",
         "gradient_result_detached": "not implemented", "gradient_leaves_x_alone": "not implemented"}),
    "no_zero_grad": (
        [("        w.grad = None\n        b.grad = None\n", "")],
        {"fit_line_values": "never cleared", "fit_line_learns": "", "fit_line_defaults": ""}),
    "loss_after_update": (
        [("        losses.append(loss.item())\n", ""),
         ("        w.grad = None\n", "        losses.append(((w * x + b - y) ** 2).mean().item())\n        w.grad = None\n")],
        {"fit_line_values": "before the i-th update"}),
    "wrong_defaults": (
        [("def fit_line(x, y, lr=0.1, steps=100):", "def fit_line(x, y, lr=0.01, steps=10):")],
        {"fit_line_defaults": "100 steps"}),
    "returns_tensor_losses": (
        [("        losses.append(loss.item())", "        losses.append(loss.detach())")],
        {"fit_line_returns": "python floats"}),
    "sign_error": (
        [("            w -= lr * w.grad\n            b -= lr * b.grad", "            w += lr * w.grad\n            b += lr * b.grad")],
        {"fit_line_values": "differ", "fit_line_learns": "went up", "fit_line_defaults": ""}),
    "w_not_detached": (
        [("    return w.detach(), b.detach(), losses", "    return w, b, losses")],
        {"fit_line_returns": "still requires grad"}),
    "predict_with_graph": (
        [("    with torch.no_grad():\n        return model(x)", "    return model(x)")],
        {"predict_no_grad": "graph"}),
    "predict_switches_grad_off": (
        [("    with torch.no_grad():\n        return model(x)", "    torch.set_grad_enabled(False)\n    return model(x)")],
        {"predict_no_grad": "still switched off"}),
    "wrong_signature": (
        [("def predict_no_grad(model, x):", "def predict_no_grad(x):")],
        {"api": "does not match", "predict_no_grad": "predict_no_grad"}),
}

ALTERNATIVES = {
    "backward_on_a_copy": '''
def gradient(f, x):
    x2 = x.detach().requires_grad_()
    f(x2).backward()
    return x2.grad
''',
    "zero_grad_in_place_and_tensor_ops": '''
def fit_line(x, y, lr=0.1, steps=100):
    w = torch.tensor(0.0, requires_grad=True)
    b = torch.tensor(0.0, requires_grad=True)
    losses = []
    for step in range(steps):
        loss = torch.nn.functional.mse_loss(x * w + b, y)
        loss.backward()
        losses.append(float(loss))
        with torch.no_grad():
            for p in (w, b):
                p.sub_(lr * p.grad)
                p.grad.zero_()
    return w.detach().clone(), b.detach().clone(), losses
''',
    "inference_mode": '''
def predict_no_grad(model, x):
    with torch.inference_mode():
        out = model(x)
    return out.clone()
''',
}
