"""exercise13_transfer: realistic mistakes (edits of the reference, and the checks each must lose) and
correct alternatives in other styles (code appended to the reference; full marks)."""

FREEZE_LINE = "        param.requires_grad = False"
HEAD_LINE = "    model.fc = nn.Linear(model.fc.in_features, num_classes)"
OPT_LINE = "    return torch.optim.SGD(trainable, lr=lr, momentum=0.9)"
BN_LOOP = ("    for module in model.modules():\n"
           "        if isinstance(module, _BatchNorm) and not any(p.requires_grad for p in module.parameters()):\n")

MISTAKES = {
    "freeze_direct_parameters_only": (
        [("    for param in module.parameters():", "    for param in module.parameters(recurse=False):")],
        {"freeze": "every parameter of it still requires grad", "finetune_head": "backbone's parameters changed"}),
    "freeze_one_level_of_children": (
        [("    for param in module.parameters():\n" + FREEZE_LINE,
          "    for child in module.children():\n        for param in child.parameters(recurse=False):\n"
          "            param.requires_grad = False")],
        {"freeze": "nested blocks", "finetune_head": "backbone's parameters changed"}),
    "freeze_clears_grad": (
        [(FREEZE_LINE, "        param.grad = None")],
        {"freeze": ".grad = None", "finetune_head": "backbone's parameters changed"}),
    "freeze_with_eval": (
        [("    for param in module.parameters():\n" + FREEZE_LINE, "    module.eval()")],
        {"freeze": "module.eval() does not freeze", "finetune_head": "backbone's parameters changed"}),
    "freeze_switches_grad_off": (
        [("    for param in module.parameters():\n" + FREEZE_LINE, "    torch.set_grad_enabled(False)")],
        {"freeze": "switched autograd off", "finetune_head": "does not require grad"}),
    "head_in_features_hard_coded": (
        [(HEAD_LINE, "    model.fc = nn.Linear(16, num_classes)")],
        {"replace_head": "model.fc.in_features", "finetune_head": "shapes"}),
    "head_keeps_old_out_features": (
        [(HEAD_LINE, "    model.fc = nn.Linear(model.fc.in_features, model.fc.out_features)")],
        {"replace_head": "out_features=", "finetune_head": "out of bounds"}),
    "head_without_bias": (
        [(HEAD_LINE, "    model.fc = nn.Linear(model.fc.in_features, num_classes, bias=False)")],
        {"replace_head": "no bias"}),
    "head_not_returned": (
        [("    return model\n", "")],
        {"replace_head": "returned none"}),
    "head_copies_old_requires_grad": (
        [(HEAD_LINE, "    old = model.fc\n    model.fc = nn.Linear(old.in_features, num_classes)\n"
                     "    model.fc.requires_grad_(old.weight.requires_grad)")],
        {"replace_head_trainable": "do not require grad"}),
    "head_then_freezes_everything": (
        [(HEAD_LINE, HEAD_LINE + "\n    freeze(model)")],
        {"replace_head": "changed requires_grad of backbone", "replace_head_trainable": "do not require grad",
         "finetune_head": "empty parameter list"}),
    "optimizer_over_all_parameters": (
        [("    trainable = [p for p in model.parameters() if p.requires_grad]",
          "    trainable = list(model.parameters())")],
        {"make_optimizer_params": "also holds frozen parameters"}),
    "optimizer_over_head_only": (
        [("    trainable = [p for p in model.parameters() if p.requires_grad]",
          "    trainable = list(model.fc.parameters())")],
        {"make_optimizer_params": "only the head's parameters"}),
    "optimizer_without_momentum": (
        [(OPT_LINE, "    return torch.optim.SGD(trainable, lr=lr)")],
        {"make_optimizer_settings": "no momentum"}),
    "optimizer_adam": (
        [(OPT_LINE, "    return torch.optim.Adam(trainable, lr=lr)")],
        {"make_optimizer_settings": "returned adam"}),
    "optimizer_weight_decay": (
        [(OPT_LINE, "    return torch.optim.SGD(trainable, lr=lr, momentum=0.9, weight_decay=1e-4)")],
        {"make_optimizer_settings": "weight_decay=0.0001"}),
    "optimizer_nesterov": (
        [(OPT_LINE, "    return torch.optim.SGD(trainable, lr=lr, momentum=0.9, nesterov=True)")],
        {"make_optimizer_settings": "nesterov"}),
    "optimizer_fixed_lr": (
        [(OPT_LINE, "    return torch.optim.SGD(trainable, lr=0.01, momentum=0.9)")],
        {"make_optimizer_settings": "use the lr it is given", "finetune_head": "did not lower the loss"}),
    "optimizer_not_returned": (
        [(OPT_LINE, "    optimizer = torch.optim.SGD(trainable, lr=lr, momentum=0.9)")],
        {"api": "got nonetype", "make_optimizer_params": "got nonetype", "make_optimizer_settings": "got nonetype",
         "finetune_head": "zero_grad"}),
    "finetune_whole_model_eval": (
        [("    model.train()\n", "    model.eval()\n")],
        {"finetune_mode": "whole model in eval mode", "finetune_mode_without_affine": "whole model in eval mode"}),
    "finetune_train_only": (
        [(BN_LOOP + "            module.eval()\n", "")],
        {"finetune_mode": "running statistics would move", "finetune_mode_without_affine": "in train mode",
         "finetune_head": "running statistics of the frozen batchnorm"}),
    "finetune_train_after_eval": (
        [("    model.train()\n    for module", "    for module"),
         ("            module.eval()", "            module.eval()\n    model.train()")],
        {"finetune_mode": "model.train() afterwards switches them back",
         "finetune_mode_without_affine": "in train mode",
         "finetune_head": "running statistics of the frozen batchnorm"}),
    "finetune_top_level_only": (
        [("    for module in model.modules():", "    for module in model.features.children():")],
        {"finetune_mode": "inside a nested block", "finetune_mode_without_affine": "in train mode",
         "finetune_head": "running statistics of the frozen batchnorm"}),
    "finetune_every_batchnorm_eval": (
        [(" and not any(p.requires_grad for p in module.parameters()):", ":")],
        {"finetune_mode": "was put in eval mode"}),
    "finetune_by_name": (
        [(BN_LOOP, "    for name, module in model.named_modules():\n"
                   "        if isinstance(module, _BatchNorm) and name.startswith(\"features\"):\n")],
        {"finetune_mode": "not by its name"}),
    "finetune_checks_weight_only": (
        [("not any(p.requires_grad for p in module.parameters())", "not module.weight.requires_grad")],
        {"finetune_mode": "bias still trains", "finetune_mode_without_affine": "weight and bias are none"}),
    "finetune_skips_parameterless_batchnorm": (
        [("not any(p.requires_grad for p in module.parameters())",
          "module.affine and not any(p.requires_grad for p in module.parameters())")],
        {"finetune_mode_without_affine": "affine=false"}),
    "finetune_evals_every_frozen_module": (
        [("        if isinstance(module, _BatchNorm) and not any(", "        if not any(")],
        {"finetune_mode": "only frozen batchnorm layers stay in eval mode",
         "finetune_mode_without_affine": "only frozen batchnorm layers stay in eval mode"}),
    "finetune_momentum_zero_instead_of_eval": (
        [("            module.eval()", "            module.momentum = 0.0")],
        {"finetune_mode": "in train mode", "finetune_mode_without_affine": "in train mode",
         "finetune_head": "running statistics of the frozen batchnorm"}),
    "finetune_resets_statistics": (
        [("            module.eval()", "            module.reset_running_stats()\n            module.eval()")],
        {"finetune_head": "running statistics of the frozen batchnorm"}),
}

ALTERNATIVES = {
    "requires_grad_and_device_aware_head": '''
def freeze(module):
    module.requires_grad_(False)


def replace_head(model, num_classes):
    old = model.fc
    setattr(model, "fc", nn.Linear(old.in_features, num_classes,
                                   device=old.weight.device, dtype=old.weight.dtype))
    return model
''',
    "named_parameters_loop_and_filter": '''
def freeze(module):
    for _, p in module.named_parameters():
        p.requires_grad_(False)


def make_optimizer(model, lr):
    return torch.optim.SGD(params=filter(lambda p: p.requires_grad, model.parameters()),
                           lr=lr, momentum=0.9, weight_decay=0.0)
''',
    "two_param_groups": '''
def make_optimizer(model, lr):
    head = [p for p in model.fc.parameters() if p.requires_grad]
    head_ids = {id(p) for p in head}
    rest = [p for p in model.parameters() if p.requires_grad and id(p) not in head_ids]
    groups = [{"params": rest}, {"params": head}] if rest else [{"params": head}]
    return torch.optim.SGD(groups, lr, 0.9)
''',
    "running_mean_buffers_and_train_false": '''
def finetune_mode(model):
    model.train(True)
    for m in model.modules():
        is_batchnorm = getattr(m, "running_mean", None) is not None and isinstance(m, nn.modules.batchnorm._NormBase)
        trainable = [p for p in m.parameters(recurse=False) if p.requires_grad]
        if is_batchnorm and not trainable:
            m.train(False)
''',
    "explicit_batchnorm_classes_and_named_modules": '''
def finetune_mode(model):
    for _, m in model.named_modules():
        frozen = all(not p.requires_grad for p in m.parameters())
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)) and frozen:
            m.eval()
        else:
            m.train()
''',
}
