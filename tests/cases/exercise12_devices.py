"""exercise12_devices: realistic mistakes (edits of the reference, and the checks each must lose) and
correct alternatives in other styles (code appended to the reference; full marks)."""

import torch

DEFAULT_ORDER = ('        if torch.cuda.is_available():\n            return torch.device("cuda")\n'
                 '        if torch.backends.mps.is_available():\n            return torch.device("mps")\n')
INDEX_CHECK = ("        count = torch.cuda.device_count() if torch.cuda.is_available() else 0\n"
               "        index = 0 if device.index is None else device.index\n"
               "        if index >= count:\n")
TUPLE_BRANCH = ("        items = [move_to(item, device) for item in obj]\n"
                '        if hasattr(obj, "_fields"):  # a namedtuple takes its fields as separate arguments\n'
                "            return type(obj)(*items)\n"
                "        return tuple(items)\n")
DICT_LINE = "        return {key: move_to(value, device) for key, value in obj.items()}\n"
LIST_LINE = "        return [move_to(item, device) for item in obj]\n"
MOVE_BATCH = "    inputs, targets = move_to(batch, device)\n"
STEP_BODY = ("    optimizer.zero_grad()\n    loss = loss_fn(model(inputs), targets)\n"
             "    loss.backward()\n    optimizer.step()\n")

MISTAKES = {
    # ---- pick_device ----
    "mps_before_cuda": (
        [(DEFAULT_ORDER, '        if torch.backends.mps.is_available():\n            return torch.device("mps")\n'
                         '        if torch.cuda.is_available():\n            return torch.device("cuda")\n')],
        {"pick_device_default": "cuda comes before mps"}),
    "forgot_mps": (
        [(DEFAULT_ORDER, '        if torch.cuda.is_available():\n            return torch.device("cuda")\n')],
        {"pick_device_default": "torch.backends.mps.is_available() next"}),
    "returns_strings": (
        [(DEFAULT_ORDER, '        if torch.cuda.is_available():\n            return "cuda"\n'
                         '        if torch.backends.mps.is_available():\n            return "mps"\n'),
         ('        return torch.device("cpu")\n', '        return "cpu"\n'),
         ("    return device\n", "    return str(device)\n")],
        {"api": "not a torch.device"}),
    "cuda_always_wins": (
        [("    if prefer is None:\n",
          '    if torch.cuda.is_available():\n        return torch.device("cuda")\n    if prefer is None:\n')],
        {"pick_device_prefer": "the preferred device comes first", "pick_device_unavailable": "there is no mps",
         "pick_device_cuda_index": "keep the index"}),
    "prefer_ignored": (
        [("    if prefer is None:\n", "    if True:\n")],
        {"pick_device_prefer": "it should return cpu", "pick_device_unavailable": "never fall back silently",
         "pick_device_cuda_index": "keep the index"}),
    "runtime_error": (
        [('            raise ValueError(f"{prefer!r} is not available',
          '            raise RuntimeError(f"{prefer!r} is not available'),
         ('            raise ValueError("mps is not available',
          '            raise RuntimeError("mps is not available')],
        {"pick_device_unavailable": "raised RuntimeError, not ValueError",
         "pick_device_cuda_index": "raised RuntimeError, not ValueError"}),
    "assert_mps": (
        [('        if not torch.backends.mps.is_available():\n'
          '            raise ValueError("mps is not available on this machine")\n',
          '        assert torch.backends.mps.is_available(), "mps is not available"\n')],
        {"pick_device_unavailable": "raised AssertionError, not ValueError"}),
    "no_index_check": (
        [(INDEX_CHECK + '            raise ValueError(f"{prefer!r} is not available '
                        '(this machine has {count} cuda devices)")\n',
          "        if not torch.cuda.is_available():\n"
          '            raise ValueError(f"{prefer!r}: this machine has no cuda")\n')],
        {"pick_device_cuda_index": "cuda:2 does not exist"}),
    "index_off_by_one": (
        [("        if index >= count:\n", "        if index > count:\n")],
        {"pick_device_unavailable": "there is no cuda", "pick_device_cuda_index": "cuda:2 does not exist"}),
    "index_dropped": (
        [("    return device\n", "    return torch.device(device.type)\n")],
        {"pick_device_cuda_index": "keep the index"}),
    "pick_device_wrong_signature": (
        [("def pick_device(prefer=None):\n", "def pick_device(name=None):\n    prefer = name\n")],
        {"api": "does not match"}),
    # ---- move_to ----
    "dict_values_not_recursed": (
        [(DICT_LINE, "        return {key: value.to(device) if isinstance(value, torch.Tensor) else value\n"
                     "                for key, value in obj.items()}\n")],
        {"move_to_tensors": "did not recurse into dicts"}),
    "tuples_not_recursed": (
        [(TUPLE_BRANCH, "        return obj\n")],
        {"move_to_tensors": "did not recurse into tuples", "train_step_moves_batch": "reached the model on cpu"}),
    "dict_keeps_only_tensors": (
        [(DICT_LINE, "        return {key: move_to(value, device) for key, value in obj.items()\n"
                     "                if isinstance(value, (torch.Tensor, dict, list, tuple))}\n")],
        {"move_to_other_values": "dropped"}),
    "no_final_return": (
        [("        return tuple(items)\n    return obj\n", "        return tuple(items)\n")],
        {"move_to_other_values": "came back as None"}),
    "namedtuple_as_tuple": (
        [('        if hasattr(obj, "_fields"):  # a namedtuple takes its fields as separate arguments\n'
          "            return type(obj)(*items)\n", "")],
        {"move_to_types": "came back as a tuple"}),
    "namedtuple_from_generator": (
        [(TUPLE_BRANCH, "        return type(obj)(move_to(item, device) for item in obj)\n")],
        {"move_to_types": "one argument per field"}),
    "tuples_become_lists": (
        [("    if isinstance(obj, list):\n", "    if isinstance(obj, (list, tuple)):\n")],
        {"move_to_types": "came back as a list"}),
    "list_mutated_in_place": (
        [(LIST_LINE, "        for i, item in enumerate(obj):\n            obj[i] = move_to(item, device)\n"
                     "        return obj\n")],
        {"move_to_input_unchanged": "changed the object it was given"}),
    "dict_mutated_in_place": (
        [(DICT_LINE, "        for key in obj:\n            obj[key] = move_to(obj[key], device)\n"
                     "        return obj\n")],
        {"move_to_input_unchanged": "changed the object it was given"}),
    # ---- train_step ----
    "batch_not_moved": (
        [(MOVE_BATCH, "    inputs, targets = batch\n")],
        {"train_step_moves_batch": "reached the model on cpu"}),
    "targets_not_moved": (
        [(MOVE_BATCH, "    inputs, targets = batch\n    inputs = move_to(inputs, device)\n")],
        {"train_step_moves_batch": "move the targets too"}),
    "only_top_level_tensors_moved": (
        [(MOVE_BATCH, "    inputs, targets = (t.to(device) if isinstance(t, torch.Tensor) else t for t in batch)\n")],
        {"train_step_moves_batch": "reached the model on cpu"}),
    "first_input_only": (
        [(MOVE_BATCH, "    inputs, targets = move_to(batch, device)\n"
                      "    if isinstance(inputs, tuple):\n"
                      "        inputs = (inputs[0], batch[0][1])\n")],
        {"train_step_moves_batch": "while the rest of the inputs were on meta"}),
    "tensor_to_on_nested_batch": (
        [(MOVE_BATCH, "    inputs, targets = batch\n    inputs, targets = inputs.to(device), targets.to(device)\n")],
        {"train_step_moves_batch": "before calling the model", "train_step_creates_on_device": "before it ran",
         "train_step_returns_detached": "has no attribute 'to'", "train_step_loss_on_device": "has no attribute",
         "train_step_gradients": "has no attribute 'to'", "train_step_loss_value": "has no attribute 'to'"}),
    "hard_coded_cpu": (
        [(MOVE_BATCH, '    inputs, targets = move_to(batch, "cpu")\n')],
        {"train_step_moves_batch": "never hard-code"}),
    "loss_starts_as_cpu_tensor": (
        [("    loss = loss_fn(model(inputs), targets)\n",
          "    loss = torch.tensor(0.0)\n    loss = loss + loss_fn(model(inputs), targets)\n")],
        {"train_step_creates_on_device": "torch.tensor(..., device=device)"}),
    "weight_on_cpu": (
        [("    loss = loss_fn(model(inputs), targets)\n",
          "    loss = (loss_fn(model(inputs), targets) * torch.ones(1)).sum()\n")],
        {"train_step_creates_on_device": "torch.ones(...)", "train_step_loss_on_device": "mixed into the computation"}),
    "returns_item": (
        [("    return loss.detach()\n", "    return loss.item()\n")],
        {"train_step_returns_detached": "python float", "train_step_loss_on_device": "reads the loss's value"}),
    "returns_loss_with_graph": (
        [("    return loss.detach()\n", "    return loss\n")],
        {"train_step_returns_detached": "autograd graph"}),
    "returns_loss_on_cpu": (
        [("    return loss.detach()\n", "    return loss.detach().cpu()\n")],
        {"train_step_loss_on_device": "copies it to the cpu"}),
    "prints_the_loss": (
        [("    return loss.detach()\n", '    print(f"loss {loss.item():.4f}")\n    return loss.detach()\n')],
        {"train_step_loss_on_device": "reads the loss's value"}),
    "no_zero_grad": (
        [("    optimizer.zero_grad()\n", "")],
        {"train_step_gradients": "never cleared"}),
    "zero_grad_between_backward_and_step": (
        [(STEP_BODY, "    loss = loss_fn(model(inputs), targets)\n    loss.backward()\n"
                     "    optimizer.zero_grad()\n    optimizer.step()\n")],
        {"train_step_gradients": "cleared between loss.backward() and optimizer.step()"}),
    "step_before_backward": (
        [(STEP_BODY, "    optimizer.zero_grad()\n    loss = loss_fn(model(inputs), targets)\n"
                     "    optimizer.step()\n    loss.backward()\n")],
        {"train_step_gradients": "step() ran before loss.backward()"}),
    "step_twice": (
        [("    optimizer.step()\n", "    optimizer.step()\n    optimizer.step()\n")],
        {"train_step_gradients": "2 times"}),
    "loss_after_step": (
        [("    return loss.detach()\n", "    return loss_fn(model(inputs), targets).detach()\n")],
        {"train_step_loss_value": "after the optimizer step"}),
}

if not torch.cuda.is_available():
    # Without CUDA a hard-coded "cuda" raises in every train_step probe; with CUDA only the meta runs
    # notice it (the batch reaches the model on cuda, not on meta), so the case holds on cpu-only machines.
    NO_CUDA = "not compiled with cuda"
    MISTAKES["hard_coded_cuda"] = (
        [(MOVE_BATCH, '    inputs, targets = move_to(batch, "cuda")\n')],
        {"train_step_moves_batch": "hard-codes cuda", "train_step_creates_on_device": NO_CUDA,
         "train_step_returns_detached": NO_CUDA, "train_step_loss_on_device": NO_CUDA,
         "train_step_gradients": NO_CUDA, "train_step_loss_value": NO_CUDA})

ALTERNATIVES = {
    "singledispatch_move_to_and_device_table": '''
from functools import singledispatch


def pick_device(prefer=None):
    n_cuda = torch.cuda.device_count() if torch.cuda.is_available() else 0
    available = ["cpu"] + [f"cuda:{i}" for i in range(n_cuda)]
    if torch.backends.mps.is_available():
        available.append("mps")
    if prefer is None:
        prefer = "cuda:0" if n_cuda else ("mps" if "mps" in available else "cpu")
    name = {"cuda": "cuda:0", "mps:0": "mps", "cpu:0": "cpu"}.get(prefer, prefer)
    if name not in available:
        raise ValueError(f"{prefer} is not available here; available: {available}")
    return torch.device(name)


@singledispatch
def _move(obj, device):
    return obj


@_move.register
def _(obj: torch.Tensor, device):
    return obj.to(device, non_blocking=True)


@_move.register
def _(obj: dict, device):
    return {k: _move(v, device) for k, v in obj.items()}


@_move.register
def _(obj: list, device):
    return [_move(v, device) for v in obj]


@_move.register
def _(obj: tuple, device):
    items = [_move(v, device) for v in obj]
    return obj._make(items) if hasattr(obj, "_make") else tuple(items)


def move_to(obj, device):
    return _move(obj, device)
''',
    "pytree_move_to_and_accelerator_api": '''
from torch.utils._pytree import tree_map


def pick_device(prefer=None):
    if prefer is None:
        if torch.accelerator.is_available():
            acc = torch.accelerator.current_accelerator()
            if acc.type in ("cuda", "mps"):
                return torch.device(acc.type)
        return torch.device("mps") if torch.mps.is_available() else torch.device("cpu")
    dev = torch.device(prefer)
    ok = {
        "cpu": True,
        "cuda": torch.cuda.is_available() and (dev.index or 0) < torch.cuda.device_count(),
        "mps": torch.backends.mps.is_available(),
    }.get(dev.type, False)
    if not ok:
        raise ValueError(f"device {prefer!r} is not available")
    return dev


def move_to(obj, device):
    return tree_map(lambda leaf: leaf.to(device) if torch.is_tensor(leaf) else leaf, obj)
''',
    "match_statement_and_replace": '''
def move_to(obj, device):
    match obj:
        case torch.Tensor():
            return obj.to(device=device)
        case dict():
            return type(obj)((k, move_to(v, device)) for k, v in obj.items())
        case tuple() if hasattr(obj, "_fields"):
            return obj._replace(**{f: move_to(getattr(obj, f), device) for f in obj._fields})
        case tuple():
            return tuple(move_to(v, device) for v in obj)
        case list():
            return list(map(lambda v: move_to(v, device), obj))
        case _:
            return obj
''',
    "train_step_zero_grad_after_step_and_tensor_made_on_device": '''
def train_step(model, batch, loss_fn, optimizer, device):
    inputs, targets = batch
    inputs = move_to(inputs, device)
    targets = move_to(targets, device)
    scale = torch.ones((), device=device)
    out = model(inputs)
    loss = loss_fn(out, targets) * scale
    loss.backward()
    optimizer.step()
    optimizer.zero_grad(set_to_none=False)
    with torch.no_grad():
        return loss.clone()
''',
    "train_step_model_zero_grad_new_zeros": '''
def train_step(model, batch, loss_fn, optimizer, device):
    batch = move_to(batch, device)
    model.zero_grad()
    loss = loss_fn(model(batch[0]), batch[1])
    total = loss.new_zeros(()) + loss
    total.backward()
    optimizer.step()
    return total.detach()
''',
}
