"""Hidden checks for exercise13_transfer."""

from grader.checks import Mistake, Tolerance, check, close, expect

MOMENTUM = 0.9
# a hyperparameter read back from the optimizer's param_groups: equal up to float rounding
READ_BACK = Tolerance(rtol=1e-6, atol=0.0)


# ---------------------------------------------------------------- helpers (trusted side)

def _some(names, n=3):
    names = list(names)
    shown = ", ".join(names[:n])
    return shown + (f" and {len(names) - n} more" if len(names) > n else "")


def _value(desc):
    """A described hyperparameter as a plain Python value (number or bool), or None."""
    if desc is None:
        return None
    if desc.is_tensor:
        values = desc.values
        return float(values.reshape(-1)[0]) if values is not None and values.numel() == 1 else None
    return desc.value


def _changed(before, after):
    """Names whose tensors differ (or appeared / disappeared) between two state snapshots."""
    names = set(before) | set(after)
    return sorted(n for n in names if n not in before or n not in after
                  or before[n].shape != after[n].shape or not before[n].equal(after[n]))


# ---------------------------------------------------------------- api

@check("api")
def test_api(student):
    """freeze, replace_head, make_optimizer and finetune_mode exist with the README's signatures"""
    student.expect_api()
    got = student.run("optimizer_call", model_name="flat", frozen="backbone", lr=0.1)
    expect(got.is_optimizer, f"make_optimizer should return a torch.optim optimizer "
           f"(torch.optim.SGD), got {got.type}")


# ---------------------------------------------------------------- freeze

FREEZE_CASES = [
    # (model, target, parameters already frozen before the call)
    ("nested", "model", ()),
    ("nested", "features", ()),
    ("nested", "block", ("fc.bias",)),
    ("flat", "fc", ()),
    ("flat", "features", ("fc.weight",)),
]


def _depth(name):
    return name.count(".")


@check("modes", points=2)
def test_freeze(student):
    """freeze sets requires_grad=False on every parameter of the module, at every depth, and nothing else"""
    for model_name, target, pre_frozen in FREEZE_CASES:
        got = student.run("freeze_call", model_name=model_name, target=target, pre_frozen=list(pre_frozen))
        where = f"freeze(model.{'features.block' if target == 'block' else target})" if target != "model" \
            else "freeze(model)"
        expect(got.grad_enabled, "freeze switched autograd off for the whole program "
               "(torch.set_grad_enabled(False)): freezing means requires_grad=False on the module's "
               "parameters, nothing global")
        inside = got.inside
        still = [n for n in inside if got.after.get(n)]
        if still and len(still) == len(inside):
            if got.modes_changed:
                raise Mistake(f"after {where} its parameters still require grad: module.eval() does "
                              "not freeze anything (it only changes how dropout and BatchNorm behave); "
                              "set requires_grad = False on every parameter")
            raise Mistake(f"after {where} every parameter of it still requires grad (e.g. {still[0]}): "
                          "set p.requires_grad = False for every p in module.parameters() (setting "
                          ".grad = None or using torch.no_grad() does not last)")
        if still:
            done = [n for n in inside if n not in still]
            if done and min(map(_depth, still)) > min(map(_depth, done)):
                raise Mistake(f"after {where} the parameters of nested blocks still require grad "
                              f"({_some(still)}): module.parameters() goes through every level, "
                              "module.children() only through the first")
            raise Mistake(f"after {where} some of its parameters still require grad: {_some(still)}")
        expect(got.param_names == list(got.before),
               f"{where} removed or renamed parameters of the model; it should only set requires_grad")
        outside = [n for n in got.before if n not in inside and got.before[n] != got.after[n]]
        expect(not outside, f"{where} changed requires_grad of parameters outside that module "
               f"({_some(outside)}): leave the other modules' parameters as they are")
        moved = _changed(got.state_before, got.state_after)
        expect(not moved, f"{where} changed the values of {_some(moved)} (parameters or buffers such as "
               "BatchNorm running statistics): freezing only sets requires_grad")


# ---------------------------------------------------------------- replace_head

HEAD_CASES = [("flat", 5, "none"), ("nested", 7, "backbone"), ("part", 2, "none")]


def _expect_new_head(got, call):
    expect(not got.fc_is_old, f"after {call} model.fc is still the old head: assign a new "
           "nn.Linear to model.fc")
    expect(got.fc_is_linear, f"after {call} model.fc should be an nn.Linear, but it is a {got.fc_type}")


@check("values", points=2)
def test_replace_head(student):
    """replace_head puts a new nn.Linear(model.fc.in_features, num_classes) at model.fc and returns the model"""
    for model_name, num_classes, frozen in HEAD_CASES:
        got = student.run("replace_head_call", model_name=model_name, num_classes=num_classes, frozen=frozen)
        call = f"replace_head(model, {num_classes})"
        _expect_new_head(got, call)
        old = got.old_in_features
        expect(got.in_features == old, f"the new head has in_features={got.in_features}, but the "
               f"old head had in_features={old}: read model.fc.in_features instead of a fixed number")
        expect(got.out_features == num_classes, f"{call} made a head with out_features="
               f"{got.out_features}: it should have num_classes={num_classes} outputs")
        expect(got.has_bias, "the new head has no bias: nn.Linear(in_features, num_classes) has one "
               "by default (bias=True), like the head it replaces")
        expect(got.output_error is None, f"the model fails after {call}: {got.output_error}")
        expect(got.output_shape == [5, num_classes], f"after {call} the model's output has shape "
               f"{tuple(got.output_shape)} for 5 samples, expected (5, {num_classes})")
        if not got.returned_is_model:
            if got.returned_type == "NoneType":
                raise Mistake(f"{call} returned None: end with `return model`")
            raise Mistake(f"{call} returned a {got.returned_type}, not the model it was given: change "
                          "model.fc and return that same model object")
        moved = _changed(got.backbone_before, got.backbone_after)
        expect(not moved, f"{call} changed the backbone ({_some(moved)}): only model.fc should change")
        flipped = [n for n, rg in got.backbone_rg_before.items() if got.backbone_rg_after.get(n) != rg]
        if flipped:
            raise Mistake(f"{call} changed requires_grad of backbone parameters (features.{flipped[0]}): "
                          "replace_head only swaps the head; freezing is freeze's job")


@check("modes")
def test_replace_head_trainable(student):
    """the new head is trainable even when every parameter of the old model, old head included, was frozen"""
    got = student.run("replace_head_call", model_name="flat", num_classes=4, frozen="all")
    _expect_new_head(got, "replace_head(model, 4)")
    params = got.fc_params or {}
    expect(params, "the new head has no parameters")
    frozen = [n for n, p in params.items() if not p.requires_grad]
    expect(not frozen, f"the new head's {' and '.join(frozen)} do not require grad (the old head was "
           "frozen): the new nn.Linear must be trainable; a freshly made nn.Linear is, so do not copy "
           "the old head's requires_grad")
    expect(all(p.is_parameter for p in params.values()),
           "the new head's weights are plain tensors, not nn.Parameters")


# ---------------------------------------------------------------- make_optimizer

OPT_CASES = [("flat", "backbone", 0.1), ("part", "part", 0.1), ("flat", "none", 0.1)]


@check("modes", points=2)
def test_make_optimizer_params(student):
    """make_optimizer's optimizer holds exactly the trainable parameters (requires_grad=True), each once"""
    for model_name, frozen, lr in OPT_CASES:
        got = student.run("optimizer_call", model_name=model_name, frozen=frozen, lr=lr)
        expect(got.is_optimizer, f"make_optimizer should return a torch.optim optimizer, got {got.type}")
        names = [n for g in got.groups for n in g.params]
        trainable, frozen_names = got.trainable, got.frozen
        foreign = [n for n in names if n not in trainable and n not in frozen_names]
        expect(not foreign, "the optimizer holds tensors that are not parameters of the model: pass "
               "the model's own parameters (those with requires_grad=True)")
        included = [n for n in frozen_names if n in names]
        expect(not included, f"the optimizer also holds frozen parameters ({_some(included)}): pass only "
               "the parameters with requires_grad=True")
        missing = [n for n in trainable if n not in names]
        if missing:
            head_only = names and all(n.startswith("fc.") for n in names)
            if head_only and any(not n.startswith("fc.") for n in missing):
                raise Mistake(f"the optimizer holds only the head's parameters, but some backbone layers "
                              f"are trainable too ({_some(missing)}): choose the parameters by "
                              "requires_grad, not by module")
            raise Mistake(f"the optimizer is missing trainable parameters: {_some(missing)}")
        twice = sorted({n for n in names if names.count(n) > 1})
        expect(not twice, f"the optimizer holds some parameters twice ({_some(twice)})")


@check("values")
def test_make_optimizer_settings(student):
    """make_optimizer returns plain SGD with the given lr and momentum 0.9 (no weight decay, no Nesterov)"""
    for model_name, frozen, lr in (("flat", "backbone", 0.05), ("part", "part", 0.3)):
        got = student.run("optimizer_call", model_name=model_name, frozen=frozen, lr=lr)
        expect(got.is_optimizer, f"make_optimizer should return a torch.optim optimizer, got {got.type}")
        expect(got.is_sgd, f"make_optimizer returned {got.type}: the README asks for "
               "torch.optim.SGD with momentum 0.9")
        for group in got.groups:
            v = {k: _value(getattr(group, k)) for k in ("lr", "momentum", "weight_decay", "dampening", "nesterov", "maximize")}
            expect(v["lr"] is not None and close(float(v["lr"]), lr, tol=READ_BACK),
                   f"make_optimizer(model, {lr}) made an optimizer with lr={v['lr']}: use the lr it is given")
            momentum = v["momentum"]
            expect(momentum is not None and close(float(momentum), MOMENTUM, tol=READ_BACK),
                   "the optimizer has no momentum (momentum=0): pass momentum=0.9 to torch.optim.SGD"
                   if not momentum else f"the optimizer has momentum={momentum}, expected 0.9")
            expect(not v["weight_decay"], f"the optimizer has weight_decay={v['weight_decay']}: the README "
                   "asks for none")
            expect(not v["dampening"], f"the optimizer has dampening={v['dampening']}: leave it at 0")
            expect(not v["nesterov"], "the optimizer uses Nesterov momentum: the README asks for plain "
                   "momentum (nesterov=False)")
            expect(not v["maximize"], "the optimizer maximizes (maximize=True): it should minimize the loss")


# ---------------------------------------------------------------- finetune_mode

MODE_CASES = [
    ("nested", "backbone", False),  # BatchNorm two levels down, a Dropout, started in eval
    ("nested", "backbone", True),
    ("part", "part", False),        # block1 frozen, block2 trainable, block3's BatchNorm half frozen
    ("flat", "none", False),        # nothing frozen: everything trains
]


def _frozen_bn(layer):
    return layer.is_bn and not any(layer.params.values())


def _diagnose_modes(got, context):
    before = {layer.name: layer for layer in got.before}
    after = got.after
    expect([layer.name for layer in after] == list(before),
           f"finetune_mode changed the model's modules ({context})")
    flipped = [f"{layer.name}.{p}" if layer.name else p for layer in after
               for p, rg in layer.params.items() if rg != before[layer.name].params.get(p)]
    expect(not flipped, f"finetune_mode changed requires_grad ({_some(flipped)}): it should only set "
           "train/eval modes, not change which parameters train")
    layers = after
    frozen_bn = {layer.name: _frozen_bn(before[layer.name]) for layer in after}  # judged by the layer before
    root = layers[0]
    if not root.training:
        if not any(layer.training for layer in layers):
            raise Mistake(f"finetune_mode left the whole model in eval mode ({context}): call "
                          "model.train() first, then put the frozen BatchNorm layers in eval mode")
        raise Mistake(f"after finetune_mode the model itself is in eval mode (model.training is False, "
                      f"{context}): call model.train()")
    frozen_bns = [layer for layer in layers if frozen_bn[layer.name]]
    wrong_frozen = [layer.name for layer in frozen_bns if layer.training]
    if wrong_frozen:
        right = [layer.name for layer in frozen_bns if not layer.training]
        if right and min(map(_depth, wrong_frozen)) > min(map(_depth, right)):
            raise Mistake(f"the frozen BatchNorm layer {wrong_frozen[0]}, inside a nested block, stayed in "
                          f"train mode ({context}): go through every module (model.modules()), not "
                          "only the top-level ones")
        raise Mistake(f"the frozen BatchNorm layer {wrong_frozen[0]} is in train mode after finetune_mode "
                      f"({context}), so its running statistics would move: after model.train(), put every "
                      "BatchNorm layer whose parameters are all frozen in eval mode (in that order: "
                      "model.train() afterwards switches them back)")
    live_bns = [layer for layer in layers if layer.is_bn and not frozen_bn[layer.name]]
    wrong_live = [layer for layer in live_bns if not layer.training]
    if wrong_live:
        layer = wrong_live[0]
        still = [p for p, rg in layer.params.items() if rg]
        if len(still) < len(layer.params):
            raise Mistake(f"the BatchNorm layer {layer.name} is in eval mode, but its {still[0]} still "
                          f"trains ({context}): a BatchNorm layer stays in eval mode only when ALL its "
                          "parameters are frozen")
        if len(wrong_live) == len(live_bns) and not frozen_bns:
            raise Mistake(f"finetune_mode put BatchNorm layers in eval mode although nothing is frozen "
                          f"({context}, e.g. {layer.name}): only BatchNorm layers whose parameters "
                          "are all frozen stay in eval mode")
        raise Mistake(f"the BatchNorm layer {layer.name} still trains (its parameters require grad) but "
                      f"was put in eval mode ({context}): decide by the layer's own parameters, not by "
                      "its name or where it sits")
    wrong_other = [layer for layer in layers if not layer.is_bn and not layer.training]
    if wrong_other:
        layer = wrong_other[0]
        raise Mistake(f"{layer.name or 'the model'} ({layer.type}) is in eval mode after "
                      f"finetune_mode ({context}): only frozen BatchNorm layers stay in eval mode; every "
                      "other layer, dropout included, is in train mode")


def _context(model_name, frozen, start):
    what = {"backbone": "backbone frozen", "part": "part of the backbone frozen",
            "none": "nothing frozen", "all": "everything frozen"}[frozen]
    return f"{what}, model in {'train' if start else 'eval'} mode before"


@check("modes", points=2)
def test_finetune_mode(student):
    """finetune_mode puts the model in train mode except the BatchNorm layers whose parameters are all frozen"""
    for model_name, frozen, start in MODE_CASES:
        got = student.run("finetune_modes", model_name=model_name, frozen=frozen, start_training=start)
        _diagnose_modes(got, _context(model_name, frozen, start))


@check("modes")
def test_finetune_mode_without_affine(student):
    """a frozen backbone's BatchNorm layer without parameters (affine=False) stays in eval mode too"""
    for frozen, start in (("backbone", False), ("all", True)):
        got = student.run("finetune_modes", model_name="noaffine", frozen=frozen, start_training=start,
                          catch=True)
        if got.error:
            raise Mistake(f"finetune_mode raised {got.error} on a BatchNorm layer without parameters "
                          "(affine=False: its weight and bias are None): decide from the layer's "
                          "parameters(), which are then none, so all of them are frozen")
        layers = {layer.name: layer for layer in got.after}
        bn, other = layers.get("features.block1.bn"), layers.get("features.block2.bn")
        if bn and other and bn.training and not other.training and layers[""].training:
            raise Mistake("the BatchNorm layer features.block1.bn has no parameters (affine=False), so all "
                          "of its parameters are frozen (there are none): it should stay in eval mode like "
                          "the other frozen BatchNorm layers")
        _diagnose_modes(got, _context("noaffine", frozen, start))


# ---------------------------------------------------------------- the whole workflow

@check("loss-decrease", points=2)
def test_finetune_head(student):
    """fine-tuning the new head lowers the loss; the frozen backbone and its BatchNorm statistics do not move"""
    got = student.run("finetune_run")
    before, after = got.backbone_before, got.backbone_after
    moved = _changed(before, after)
    params = [n for n in moved if n in got.param_names]
    expect(not params, f"the frozen backbone's parameters changed during fine-tuning (features."
           f"{params[0] if params else ''}): after freeze(model.features) they must not train")
    stats = [n for n in moved if n.rsplit(".", 1)[-1] in ("running_mean", "running_var", "num_batches_tracked")]
    if stats:
        layer = stats[0].rsplit(".", 1)[0]
        raise Mistake(f"the running statistics of the frozen BatchNorm layer features.{layer} moved during "
                      "fine-tuning: finetune_mode must leave frozen BatchNorm layers in eval mode, and "
                      "nothing else should reset or change their statistics")
    expect(not moved, f"the frozen backbone changed during fine-tuning (features.{moved[0] if moved else ''})")
    losses = got.losses
    expect(len(losses) > 5 and all(loss == loss for loss in losses), "the fine-tuning loss is not a number (NaN)")
    first, last = losses[0], sum(losses[-5:]) / 5
    expect(last < 0.9 * first, f"fine-tuning the new head did not lower the loss ({first:.3f} at the start, "
           f"{last:.3f} over the last 5 of {len(losses)} steps): the optimizer must train the head "
           "(its trainable parameters) with the lr it is given")
