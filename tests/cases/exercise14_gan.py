"""exercise14_gan: realistic mistakes (edits of the reference, and the checks each must lose) and
correct alternatives in other styles (code appended to the reference; full marks)."""

D_ZERO = "    opt_D.zero_grad()\n"
G_ZERO = "    opt_G.zero_grad()\n"
FAKE = "    fake = G(z).detach()  # no graph back into G: this step trains D only\n"
D_LOSS = ("    loss = (loss_fn(real_logits, torch.ones_like(real_logits))\n"
          "            + loss_fn(fake_logits, torch.zeros_like(fake_logits)))\n")
D_STEP = "    loss.backward()\n    opt_D.step()\n"
G_LOSS = "    loss = loss_fn(logits, torch.ones_like(logits))\n"
G_LOGITS = "    logits = D(G(z))\n"
G_STEP = "    loss.backward()  # also fills D's .grad; only opt_G steps, so D does not change\n    opt_G.step()\n"
D_RETURN = "    opt_D.step()\n    return loss.item()"
G_RETURN = "    opt_G.step()\n    return loss.item()"


def _d_loss(text):
    return [(D_LOSS, text)]


MISTAKES = {
    # ---- discriminator_step ----
    "fake_not_detached": (
        [(FAKE, "    fake = G(z)\n")],
        {"discriminator_leaves_G": "not detached"}),
    "labels_swapped": (
        _d_loss("    loss = (loss_fn(real_logits, torch.zeros_like(real_logits))\n"
                "            + loss_fn(fake_logits, torch.ones_like(fake_logits)))\n"),
        {"discriminator_loss": "swapped the labels", "discriminator_gradients": "swapped the labels",
         "learns": "did not learn"}),
    "real_labelled_zero": (
        _d_loss("    loss = (loss_fn(real_logits, torch.zeros_like(real_logits))\n"
                "            + loss_fn(fake_logits, torch.zeros_like(fake_logits)))\n"),
        {"discriminator_loss": "labelled the real samples 0", "discriminator_gradients": "labelled the real samples 0",
         "learns": "did not learn"}),
    "ones_for_both": (
        _d_loss("    loss = (loss_fn(real_logits, torch.ones_like(real_logits))\n"
                "            + loss_fn(fake_logits, torch.ones_like(fake_logits)))\n"),
        {"discriminator_loss": "labelled the fake samples 1", "discriminator_gradients": "labelled the fake samples 1",
         "learns": "did not learn"}),
    "only_real_term": (
        _d_loss("    loss = loss_fn(real_logits, torch.ones_like(real_logits))\n"),
        {"discriminator_loss": "only the real term", "discriminator_gradients": "only the real term",
         "learns": "did not learn"}),
    "only_fake_term": (
        _d_loss("    loss = loss_fn(fake_logits, torch.zeros_like(fake_logits))\n"),
        {"discriminator_loss": "only the fake term", "discriminator_gradients": "only the fake term",
         "learns": "did not learn"}),
    "mean_of_the_terms": (
        _d_loss("    loss = (loss_fn(real_logits, torch.ones_like(real_logits))\n"
                "            + loss_fn(fake_logits, torch.zeros_like(fake_logits))) / 2\n"),
        {"discriminator_loss": "mean of the two terms", "discriminator_gradients": "mean of the two terms",
         "learns": "did not learn"}),
    "one_concatenated_batch": (
        [("    real_logits = D(real)\n    fake_logits = D(fake)\n" + D_LOSS,
          "    logits = D(torch.cat([real, fake]))\n"
          "    labels = torch.cat([torch.ones(len(real), 1), torch.zeros(len(fake), 1)])\n"
          "    loss = loss_fn(logits, labels)\n")],
        {"discriminator_loss": "mean of the two terms", "discriminator_gradients": "mean of the two terms",
         "labels_device": "never on a fixed device", "learns": "did not learn"}),
    "no_zero_grad_D": (
        [(D_ZERO, "")],
        {"discriminator_gradients": "not cleared before backward", "learns": "did not learn"}),
    "zero_grad_D_after_step": (
        [(D_ZERO, ""), (D_RETURN, "    opt_D.step()\n    opt_D.zero_grad()\n    return loss.item()")],
        {"discriminator_gradients": "not cleared before backward"}),
    "zero_grad_D_between_backward_and_step": (
        [(D_ZERO, ""), (D_STEP, "    loss.backward()\n    opt_D.zero_grad()\n    opt_D.step()\n")],
        {"discriminator_gradients": "cleared between loss.backward() and opt_D.step()", "learns": "did not learn"}),
    "step_D_before_backward": (
        [(D_STEP, "    opt_D.step()\n    loss.backward()\n")],
        {"discriminator_gradients": "ran before loss.backward()", "learns": "did not learn"}),
    "step_D_twice": (
        [(D_RETURN, "    opt_D.step()\n    opt_D.step()\n    return loss.item()")],
        {"discriminator_gradients": "2 times", "learns": "did not learn"}),
    "clears_G_grads_in_D_step": (
        [(D_ZERO, "    opt_D.zero_grad()\n    G.zero_grad()\n")],
        {"discriminator_leaves_G": "cleared G's gradients"}),
    "G_frozen_not_restored": (
        [(FAKE, "    G.requires_grad_(False)\n    fake = G(z)\n")],
        {"discriminator_restores_G": "requires_grad=False", "learns": "did not learn"}),
    "D_returns_tensor": (
        [(D_RETURN, "    opt_D.step()\n    return loss.detach()")],
        {"returns_floats": "discriminator_step returned the loss as a tensor, not"}),
    "D_returns_graph": (
        [(D_RETURN, "    opt_D.step()\n    return loss")],
        {"returns_floats": "graph"}),
    "D_loss_after_step": (
        [(D_RETURN, "    opt_D.step()\n    return (loss_fn(D(real), torch.ones_like(real_logits))\n"
                    "            + loss_fn(D(fake), torch.zeros_like(fake_logits))).item()")],
        {"discriminator_loss": "after the opt_D step"}),
    "D_forgot_return": (
        [(D_RETURN, "    opt_D.step()")],
        {"api": "discriminator_step returned None", "returns_floats": "not a NoneType",
         "discriminator_loss": "returned None"}),
    "zeros_shaped_like_real": (
        [("loss_fn(fake_logits, torch.zeros_like(fake_logits))",
          "loss_fn(fake_logits, torch.zeros_like(real_logits))")],
        {"label_shapes": "labels of shape (6, 1) for d's output of shape (4, 1)"}),
    "labels_hard_coded_on_cpu": (
        _d_loss("    n_real, n_fake = real.size(0), fake.size(0)\n"
                "    loss = (loss_fn(real_logits, torch.ones(n_real, 1))\n"
                "            + loss_fn(fake_logits, torch.zeros(n_fake, 1)))\n"),
        {"labels_device": "discriminator_step made the labels on cpu"}),
    "labels_float64": (
        _d_loss("    loss = (loss_fn(real_logits, torch.ones_like(real_logits, dtype=torch.float64))\n"
                "            + loss_fn(fake_logits, torch.zeros_like(fake_logits, dtype=torch.float64)))\n"),
        {"label_shapes": "dtype torch.float64"}),
    "labels_without_feature_dim": (
        _d_loss("    loss = (loss_fn(real_logits, torch.ones(len(real), device=real.device))\n"
                "            + loss_fn(fake_logits, torch.zeros(len(fake), device=real.device)))\n"),
        {"label_shapes": "labels of shape (6,)", "discriminator_loss": "must be the same as input size",
         "discriminator_gradients": "must be the same as input size",
         "discriminator_leaves_G": "must be the same as input size",
         "discriminator_restores_G": "must be the same as input size",
         "learns": "must be the same as input size",
         "api": "must be the same as input size", "returns_floats": "must be the same as input size"}),
    "discriminator_not_implemented": (
        [("    opt_D.zero_grad()\n    fake", "    raise NotImplementedError('TODO')\n    fake")],
        {"api": "not implemented", "returns_floats": "not implemented", "label_shapes": "not implemented",
         "discriminator_loss": "not implemented", "discriminator_gradients": "not implemented",
         "discriminator_leaves_G": "not implemented", "discriminator_restores_G": "not implemented",
         "labels_device": "not implemented", "learns": "not implemented"}),
    # ---- generator_step ----
    "saturating_loss": (
        [(G_LOSS, "    loss = -loss_fn(logits, torch.zeros_like(logits))\n")],
        {"generator_loss": "saturating loss", "generator_gradients": "saturating loss"}),
    "generator_labels_zeros": (
        [(G_LOSS, "    loss = loss_fn(logits, torch.zeros_like(logits))\n")],
        {"generator_loss": "labelled g's samples 0", "generator_gradients": "labelled g's samples 0",
         "learns": "did not learn"}),
    "generator_fake_detached": (
        [(G_LOGITS, "    logits = D(G(z).detach())\n")],
        {"generator_gradients": "no gradient reached g", "learns": "did not learn"}),
    "no_zero_grad_G": (
        [(G_ZERO, "")],
        {"generator_gradients": "never cleared", "learns": "did not learn"}),
    "zero_grad_G_between_backward_and_step": (
        [(G_ZERO, ""), (G_STEP, "    loss.backward()\n    opt_G.zero_grad()\n    opt_G.step()\n")],
        {"generator_gradients": "cleared between loss.backward() and opt_G.step()", "learns": "did not learn"}),
    "step_G_before_backward": (
        [(G_STEP, "    opt_G.step()\n    loss.backward()\n")],
        {"generator_gradients": "ran before loss.backward()", "learns": "did not learn"}),
    "D_frozen_not_restored": (
        [(G_ZERO, "    opt_G.zero_grad()\n    D.requires_grad_(False)\n")],
        {"generator_leaves_D": "left d's parameters with requires_grad=false", "learns": "does not require grad"}),
    "D_trained_by_generator_step": (
        [(G_RETURN, "    opt_G.step()\n    with torch.no_grad():\n        for p in D.parameters():\n"
                    "            p -= 0.1 * p.grad\n    return loss.item()")],
        {"generator_leaves_D": "changed d's parameters", "generator_loss": "but loss_fn(d(g(z)), ones) is",
         "generator_gradients": "not those of the non-saturating loss"}),
    "G_returns_tensor": (
        [(G_RETURN, "    opt_G.step()\n    return loss")],
        {"returns_floats": "generator_step returned the loss as a tensor"}),
    "G_loss_after_step": (
        [(G_RETURN, "    opt_G.step()\n    return loss_fn(D(G(z)), torch.ones_like(logits)).item()")],
        {"generator_loss": "after the opt_G step"}),
    "G_labels_hard_coded": (
        [(G_LOSS, "    loss = loss_fn(logits, torch.ones(z.shape[0], 1))\n")],
        {"labels_device": "generator_step made the labels on cpu"}),
    "generator_bypasses_loss_fn": (
        [(G_LOSS, "    loss = torch.nn.functional.binary_cross_entropy_with_logits(\n"
                  "        logits, torch.ones_like(logits))\n")],
        {"label_shapes": "generator_step never called loss_fn", "labels_device": "never called loss_fn"}),
}

ALTERNATIVES = {
    "no_grad_fake_and_full_like": '''
def discriminator_step(G, D, real, z, opt_D, loss_fn):
    D.zero_grad(set_to_none=False)
    with torch.no_grad():
        fake = G(z)
    out_real, out_fake = D(real), D(fake)
    loss_real = loss_fn(out_real, torch.full_like(out_real, 1.0))
    loss_fake = loss_fn(out_fake, torch.full_like(out_fake, 0.0))
    total = loss_real + loss_fake
    total.backward()
    opt_D.step()
    return float(total)


def generator_step(G, D, z, opt_G, loss_fn):
    out = D(G(z))
    loss = loss_fn(out, torch.full_like(out, 1.0))
    loss.backward()
    opt_G.step()
    opt_G.zero_grad(set_to_none=False)
    return loss.detach().item()
''',
    "freeze_the_other_network": '''
def _set_requires_grad(net, flag):
    for p in net.parameters():
        p.requires_grad_(flag)


def discriminator_step(G, D, real, z, opt_D, loss_fn):
    _set_requires_grad(G, False)
    try:
        fake = G(z)
    finally:
        _set_requires_grad(G, True)
    opt_D.zero_grad()
    d_real, d_fake = D(real), D(fake)
    loss = loss_fn(d_real, d_real.new_ones(d_real.shape)) + loss_fn(d_fake, d_fake.new_zeros(d_fake.shape))
    loss.backward()
    opt_D.step()
    return loss.item()


def generator_step(G, D, z, opt_G, loss_fn):
    opt_G.zero_grad()
    D.requires_grad_(False)
    pred = D(G(z))
    loss = loss_fn(pred, torch.ones(pred.shape, dtype=pred.dtype, device=pred.device))
    loss.backward()
    D.requires_grad_(True)
    opt_G.step()
    return loss.item()
''',
    "separate_backwards_and_labels_from_device": '''
def discriminator_step(G, D, real, z, opt_D, loss_fn):
    opt_D.zero_grad()
    pred_real = D(real)
    loss_real = loss_fn(pred_real, torch.ones(pred_real.shape, device=real.device))
    loss_real.backward()
    pred_fake = D(G(z).detach())
    loss_fake = loss_fn(pred_fake, torch.zeros(pred_fake.shape, device=real.device))
    loss_fake.backward()
    opt_D.step()
    return loss_real.item() + loss_fake.item()


def generator_step(G, D, z, opt_G, loss_fn):
    for p in G.parameters():
        p.grad = None
    fake = G(z)
    pred = D(fake).view(-1, 1)
    target = torch.ones_like(pred)
    err = loss_fn(pred, target)
    err.backward()
    D.zero_grad()
    opt_G.step()
    return err.item()
''',
    "stacked_terms": '''
def discriminator_step(G, D, real, z, opt_D, loss_fn):
    fake = G(z).detach().clone()
    opt_D.zero_grad(set_to_none=True)
    terms = []
    for batch, label in ((real, 1.0), (fake, 0.0)):
        logits = D(batch)
        terms.append(loss_fn(logits, torch.full_like(logits, label)))
    loss = torch.stack(terms).sum()
    loss.backward()
    opt_D.step()
    return loss.item()
''',
}
