"""exercise03_training_loop: realistic mistakes (edits of the reference, and the checks each must lose) and
correct alternatives in other styles (code appended to the reference; full marks)."""

STEP_BODY = ("    optimizer.zero_grad()\n    loss = loss_fn(model(inputs), targets)\n"
             "    loss.backward()\n    optimizer.step()\n")
NO_GRADIENTS = "found no gradients"

MISTAKES = {
    "zero_grad_between_backward_and_step": (
        [(STEP_BODY, "    loss = loss_fn(model(inputs), targets)\n    loss.backward()\n"
                     "    optimizer.zero_grad()\n    optimizer.step()\n")],
        {"train_step_gradients": "cleared between loss.backward() and optimizer.step()",
         "train_epoch_values": NO_GRADIENTS, "loss_decrease": "little progress"}),
    "step_before_backward": (
        [(STEP_BODY, "    optimizer.zero_grad()\n    loss = loss_fn(model(inputs), targets)\n"
                     "    optimizer.step()\n    loss.backward()\n")],
        {"train_step_gradients": "step() ran before loss.backward()",
         "train_epoch_values": NO_GRADIENTS, "loss_decrease": "little progress"}),
    "step_before_backward_zero_grad_after_step": (
        [(STEP_BODY, "    loss = loss_fn(model(inputs), targets)\n    optimizer.step()\n"
                     "    optimizer.zero_grad()\n    loss.backward()\n")],
        {"train_step_gradients": "previous batch", "train_epoch_values": "previous batch"}),
    "no_zero_grad": (
        [("    optimizer.zero_grad()\n", "")],
        {"train_step_gradients": "never cleared", "train_epoch_values": "never cleared"}),
    "step_twice": (
        [("    optimizer.step()\n", "    optimizer.step()\n    optimizer.step()\n")],
        {"train_step_gradients": "2 times", "train_epoch_values": "2 times"}),
    "returns_tensor": (
        [("    return loss.item()", "    return loss.detach()")],
        {"returns_floats": "tensor, not a python float"}),
    "returns_loss_with_graph": (
        [("    return loss.item()", "    return loss")],
        {"returns_floats": "graph"}),
    "loss_after_step": (
        [("    return loss.item()", "    return loss_fn(model(inputs), targets).item()")],
        {"train_step_loss": "after the optimizer step", "train_epoch_values": "mean of the per-batch losses"}),
    "no_train_mode": (
        [("    model.train()\n", "")],
        {"train_epoch_train_mode": "model.train()"}),
    "inputs_not_moved": (
        [("        batch = (inputs.to(device), targets.to(device))", "        batch = (inputs, targets.to(device))")],
        {"train_epoch_device": "inputs to the model on cpu"}),
    "targets_not_moved": (
        [("        batch = (inputs.to(device), targets.to(device))", "        batch = (inputs.to(device), targets)")],
        {"train_epoch_device": "targets to loss_fn on cpu"}),
    "hard_coded_cpu": (
        [("        batch = (inputs.to(device), targets.to(device))",
          "        batch = (inputs.to(\"cpu\"), targets.to(\"cpu\"))")],
        {"train_epoch_device": "never hard-code"}),
    "epoch_returns_last_loss": (
        [("    return sum(losses) / len(losses)", "    return losses[-1]")],
        {"train_epoch_values": "last batch's loss"}),
    "epoch_returns_sum": (
        [("    return sum(losses) / len(losses)", "    return sum(losses)")],
        {"train_epoch_values": "sum of the per-batch losses"}),
    "epoch_weighted_by_size": (
        [("        losses.append(train_step(model, batch, loss_fn, optimizer))",
          "        losses.append(train_step(model, batch, loss_fn, optimizer) * len(targets))"),
         ("    return sum(losses) / len(losses)", "    return sum(losses) / len(loader.dataset)")],
        {"train_epoch_values": "weighted each batch's loss by its size"}),
    "evaluate_loss_per_batch": (
        [("            total_loss += loss_fn(outputs, targets).item() * len(targets)",
          "            total_loss += loss_fn(outputs, targets).item()"),
         ("    return total_loss / count, correct / count", "    return total_loss / len(loader), correct / count")],
        {"evaluate_loss": "per batch, not per sample"}),
    "evaluate_accuracy_per_batch": (
        [("            correct += (outputs.argmax(dim=1) == targets).sum().item()",
          "            correct += (outputs.argmax(dim=1) == targets).float().mean().item()"),
         ("    return total_loss / count, correct / count", "    return total_loss / count, correct / len(loader)")],
        {"evaluate_accuracy": "per batch, not per sample"}),
    "argmax_over_dim0": (
        [("outputs.argmax(dim=1)", "outputs.argmax(dim=0)")],
        {"evaluate_accuracy": "wrong dimension"}),
    "argmax_without_dim": (
        [("outputs.argmax(dim=1)", "outputs.argmax()")],
        {"evaluate_accuracy": "wrong dimension"}),
    "accuracy_in_percent": (
        [("    return total_loss / count, correct / count", "    return total_loss / count, 100 * correct / count")],
        {"evaluate_accuracy": "percentage"}),
    "evaluate_builds_graph": (
        [("    with torch.no_grad():\n        for inputs, targets in loader:\n            inputs, targets",
          "    if True:\n        for inputs, targets in loader:\n            inputs, targets")],
        {"evaluate_no_graph": "torch.no_grad()"}),
    "evaluate_not_in_eval_mode": (
        [("    model.eval()\n", "")],
        {"evaluate_eval_mode": "model.eval()"}),
    "evaluate_not_moved": (
        [("            inputs, targets = inputs.to(device), targets.to(device)\n", "")],
        {"evaluate_device": "inputs to the model on cpu"}),
    "evaluate_targets_not_moved": (
        [("            inputs, targets = inputs.to(device), targets.to(device)\n",
          "            inputs = inputs.to(device)\n")],
        {"evaluate_device": "targets to loss_fn on cpu"}),
    "evaluate_wrong_signature": (
        [('def evaluate(model, loader, loss_fn, device="cpu"):\n',
          'def evaluate(model, loader, loss_fn, dev="cpu"):\n    device = dev\n')],
        {"api": "does not match", "evaluate_device": "unexpected keyword"}),
    "train_step_not_implemented": (
        [("    inputs, targets = batch\n", "    raise NotImplementedError('TODO')\n")],
        {"api": "not implemented", "returns_floats": "not implemented", "train_step_gradients": "not implemented",
         "train_step_loss": "not implemented", "train_epoch_values": "not implemented",
         "train_epoch_train_mode": "not implemented", "train_epoch_device": "not implemented",
         "loss_decrease": "not implemented"}),
}

ALTERNATIVES = {
    "zero_grad_after_step_and_float": '''
def train_step(model, batch, loss_fn, optimizer):
    x, y = batch
    out = model(x)
    loss = loss_fn(out, y)
    loss.backward()
    optimizer.step()
    optimizer.zero_grad(set_to_none=False)
    return float(loss)
''',
    "zero_grad_between_forward_and_backward": '''
def train_step(model, batch, loss_fn, optimizer):
    inputs, targets = batch
    loss = loss_fn(model(inputs), targets)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.detach().item()
''',
    "inline_epoch_with_model_zero_grad": '''
def train_epoch(model, loader, loss_fn, optimizer, device="cpu"):
    model.train(True)
    total, n = 0.0, 0
    for batch in loader:
        x, y = (t.to(device, non_blocking=True) for t in batch)
        model.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        total += loss.item()
        n += 1
    return total / n
''',
    "numpy_mean_and_torch_device": '''
import numpy as np

def train_epoch(model, loader, loss_fn, optimizer, device="cpu"):
    device = torch.device(device)
    model.train()
    losses = [train_step(model, (x.to(device), y.to(device)), loss_fn, optimizer) for x, y in loader]
    return np.mean(losses)
''',
    "evaluate_concatenated": '''
@torch.no_grad()
def evaluate(model, loader, loss_fn, device="cpu"):
    model.eval()
    outs, ys = [], []
    for x, y in loader:
        outs.append(model(x.to(device)))
        ys.append(y.to(device))
    out, y = torch.cat(outs), torch.cat(ys)
    return loss_fn(out, y).item(), (out.argmax(-1) == y).float().mean().item()
''',
    "evaluate_inference_mode_tensor_sums": '''
def evaluate(model, loader, loss_fn, device="cpu"):
    model.eval()
    loss_sum = torch.zeros((), device=device)
    hits, n = 0, 0
    with torch.inference_mode():
        for x, y in loader:
            x, y = x.to(device), y.to(device)
            logits = model(x)
            loss_sum += loss_fn(logits, y) * y.numel()
            hits += int((logits.argmax(dim=1) == y).sum())
            n += y.numel()
    return (loss_sum / n).item(), hits / n
''',
}
