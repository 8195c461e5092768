"""exercise10_accumulation: realistic mistakes (edits of the reference, and the checks each must lose) and
correct alternatives in other styles (code appended to the reference; full marks)."""

SCALED_LOSS = "        loss = loss_fn(model(inputs), targets) / group_size\n"
GROUP_END = "        if i + 1 == group_start + group_size:\n"
STEP_THEN_CLEAR = "            optimizer.step()\n            optimizer.zero_grad()\n"
TARGET = ("    if y.is_floating_point():\n        target = y.reshape(output.shape)  # regression: the target takes "
          "the output's shape (1, 1)\n    else:\n        target = y.unsqueeze(0)  # a class index: a batch of one "
          "target, shape (1,)\n")
ONLINE_STEP = "    loss.backward()\n    optimizer.step()\n    return loss.item()"
ACCUMULATION = ("accumulated_gradients", "trailing_group", "momentum_trajectory")

MISTAKES = {
    "step_every_micro_batch": (
        [(GROUP_END, "        if True:\n")],
        {"accumulated_gradients": "after every micro-batch", "trailing_group": "after every micro-batch",
         "momentum_trajectory": "after every micro-batch"}),
    "sum_of_means": (
        [(SCALED_LOSS, "        loss = loss_fn(model(inputs), targets)\n")],
        {c: "sum of the micro-batches' mean losses" for c in ACCUMULATION}),
    "trailing_divided_by_accum_steps": (
        [(SCALED_LOSS, "        loss = loss_fn(model(inputs), targets) / accum_steps\n")],
        {"trailing_group": "instead of by its own size 2", "momentum_trajectory": "instead of by its own size 1"}),
    "trailing_group_dropped": (
        [(SCALED_LOSS, "        loss = loss_fn(model(inputs), targets) / accum_steps\n"),
         (GROUP_END, "        if (i + 1) % accum_steps == 0:\n")],
        {"trailing_group": "dropped the trailing group", "momentum_trajectory": "dropped the trailing group"}),
    "micro_batches_counted_as_samples": (
        [("    n_batches = len(loader)\n", "    n_batches = len(loader.dataset)\n")],
        {"trailing_group": "dropped the trailing group", "momentum_trajectory": "dropped the trailing group"}),
    "step_after_first_micro_batch": (
        [(SCALED_LOSS, "        loss = loss_fn(model(inputs), targets) / accum_steps\n"),
         (GROUP_END, "        if i % accum_steps == 0:\n")],
        {"accumulated_gradients": "after the first micro-batch", "trailing_group": "after the first micro-batch",
         "momentum_trajectory": "after the first micro-batch"}),
    "never_zero_grad": (
        [(STEP_THEN_CLEAR, "            optimizer.step()\n")],
        {c: "never cleared" for c in ACCUMULATION}),
    "zero_grad_every_micro_batch": (
        [(SCALED_LOSS, "        optimizer.zero_grad()\n" + SCALED_LOSS)],
        {c: "only the last micro-batch" for c in ACCUMULATION}),
    "zero_grad_before_step": (
        [(STEP_THEN_CLEAR, "            optimizer.zero_grad()\n            optimizer.step()\n")],
        {c: "found no gradients" for c in ACCUMULATION}),
    "returns_number_of_micro_batches": (
        [("    return steps\n", "    return n_batches\n")],
        {"step_count": "number of micro-batches"}),
    "returns_floor_of_groups": (
        [("    return steps\n", "    return n_batches // accum_steps\n")],
        {"step_count": "trailing group counts too"}),
    "returns_float_count": (
        [("    return steps\n", "    return n_batches / accum_steps\n")],
        {"step_count": "as an int, not a float"}),
    "forgot_return_steps": (
        [("    return steps\n", "")],
        {"api": "returned None", "step_count": "not a NoneType"}),
    "no_batch_dimension": (
        [("    output = model(x.unsqueeze(0))", "    output = model(x)")],
        {"online_batch_dimension": "without a batch dimension", "online_classification_update": "batch of one"}),
    "mse_against_0dim_target": (
        [(TARGET, "    target = y\n")],
        {"online_mse_shapes": "shape (1, 1) and a target of shape ()",
         "online_classification_update": "a target of shape ()"}),
    "target_always_unsqueezed": (
        [(TARGET, "    target = y.unsqueeze(0)\n")],
        {"online_mse_shapes": "shape (1, 1) and a target of shape (1,)"}),
    "regression_target_not_reshaped": (
        [("        target = y.reshape(output.shape)", "        target = y")],
        {"online_mse_shapes": "broadcasting"}),
    "target_viewed_as_output": (
        [(TARGET, "    target = y.view_as(output)\n")],
        {"online_classification_update": "online_step raised RuntimeError"}),
    "output_squeezed_target_unsqueezed": (
        [("    output = model(x.unsqueeze(0))", "    output = model(x.unsqueeze(0)).squeeze(0)")],
        {"online_classification_update": "logits (3,) have no batch dimension"}),
    "online_no_zero_grad": (
        [("    optimizer.zero_grad()\n    output", "    output")],
        {"online_regression_update": "never cleared", "online_classification_update": "never cleared"}),
    "online_step_before_backward": (
        [(ONLINE_STEP, "    optimizer.step()\n    loss.backward()\n    return loss.item()")],
        {"online_regression_update": "step() ran before loss.backward()",
         "online_classification_update": "step() ran before loss.backward()"}),
    "online_zero_grad_between_backward_and_step": (
        [("    optimizer.zero_grad()\n    output", "    output"),
         (ONLINE_STEP, "    loss.backward()\n    optimizer.zero_grad()\n    optimizer.step()\n    return loss.item()")],
        {"online_regression_update": "cleared between loss.backward() and optimizer.step()",
         "online_classification_update": "cleared between"}),
    "online_returns_tensor": (
        [("    return loss.item()", "    return loss.detach()")],
        {"online_returns_float": "tensor, not a python float"}),
    "online_returns_loss_with_graph": (
        [("    return loss.item()", "    return loss")],
        {"online_returns_float": "graph"}),
    "online_loss_after_step": (
        [("    return loss.item()", "    return loss_fn(model(x.unsqueeze(0)), target).item()")],
        {"online_loss": "after the optimizer step"}),
    "train_accumulated_not_implemented": (
        [("    n_batches = len(loader)\n", "    raise NotImplementedError('TODO')\n")],
        {"api": "not implemented", "step_count": "not implemented",
         **{c: "not implemented" for c in ACCUMULATION}}),
    "online_step_not_implemented": (
        [("    optimizer.zero_grad()\n    output", "    raise NotImplementedError('TODO')\n    output")],
        {c: "not implemented" for c in ("api", "online_returns_float", "online_batch_dimension", "online_mse_shapes",
                                        "online_regression_update", "online_classification_update",
                                        "online_loss")}),
}

ALTERNATIVES = {
    "scale_gradients_not_loss_without_len": '''
def train_accumulated(model, loader, loss_fn, optimizer, accum_steps):
    def flush(k):
        for group in optimizer.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    p.grad.div_(k)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    steps, pending = 0, 0
    for inputs, targets in loader:
        loss_fn(model(inputs), targets).backward()
        pending += 1
        if pending == accum_steps:
            flush(pending)
            steps, pending = steps + 1, 0
    if pending:
        flush(pending)
        steps += 1
    return steps
''',
    "collect_group_then_concatenate": '''
def train_accumulated(model, loader, loss_fn, optimizer, accum_steps):
    def step_on(group):
        inputs = torch.cat([x for x, _ in group])
        targets = torch.cat([t for _, t in group])
        optimizer.zero_grad()
        loss_fn(model(inputs), targets).backward()
        optimizer.step()

    group, steps = [], 0
    for batch in loader:
        group.append(batch)
        if len(group) == accum_steps:
            step_on(group)
            group, steps = [], steps + 1
    if group:
        step_on(group)
        steps += 1
    return steps
''',
    "explicit_groups_zero_grad_first": '''
def train_accumulated(model, loader, loss_fn, optimizer, accum_steps):
    batches = list(loader)
    groups = [batches[start:start + accum_steps] for start in range(0, len(batches), accum_steps)]
    for group in groups:
        model.zero_grad(set_to_none=False)
        for x, y in group:
            (loss_fn(model(x), y) * (1.0 / len(group))).backward()
        optimizer.step()
    return len(groups)
''',
    "counter_with_remainder": '''
def train_accumulated(model, loader, loss_fn, optimizer, accum_steps):
    model.train()
    total = len(loader)
    full_end = total - total % accum_steps
    n_steps = 0
    counter = 0
    for index, (x, y) in enumerate(loader):
        divisor = accum_steps if index < full_end else total - full_end
        (loss_fn(model(x), y) / divisor).backward()
        counter += 1
        if counter == divisor:
            optimizer.step()
            optimizer.zero_grad()
            n_steps += 1
            counter = 0
    return n_steps
''',
    "online_squeeze_everything": '''
def online_step(model, x, y, loss_fn, optimizer):
    model.zero_grad()
    loss = loss_fn(model(x[None]).squeeze(), y)
    loss.backward()
    optimizer.step()
    return float(loss)
''',
    "online_branch_on_loss_type": '''
from torch import nn

def online_step(model, x, y, loss_fn, optimizer):
    batch = x.view(1, -1)
    out = model(batch)
    if isinstance(loss_fn, nn.CrossEntropyLoss):
        loss = loss_fn(out, y.view(1))
    else:
        loss = loss_fn(out.reshape(()), y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    optimizer.zero_grad()
    return loss.detach().item()
''',
    "online_expand_target": '''
def online_step(model, x, y, loss_fn, optimizer):
    out = model(torch.unsqueeze(x, 0))
    target = y.expand_as(out) if y.dtype.is_floating_point else y.expand(1)
    loss = loss_fn(out, target)
    loss.backward()
    optimizer.step()
    optimizer.zero_grad()
    return loss.item()
''',
}
