"""exercise05_losses: realistic mistakes (edits of the reference, and the checks each must lose) and
correct alternatives in other styles (code appended to the reference; full marks)."""

WHERE = "        return torch.where(err <= self.delta, quadratic, linear).mean()"
LOG_P = "        log_p = F.log_softmax(logits, dim=1)"
FOCAL = "        return (-((1 - p_t) ** self.gamma) * log_p_t).mean()"
SQUARED = "    squared = torch.where(mask, (pred - target) ** 2, torch.zeros_like(pred))"
RESULT = "    return squared.sum() / count"

MISTAKES = {
    "huber_masks_skip_delta": (
        [(WHERE, "        return (quadratic * (err < self.delta) + linear * (err > self.delta)).mean()")],
        {"huber_values": "exactly at |error| = delta", "huber_gradients": "exactly at |error| = delta"}),
    "huber_masks_count_delta_twice": (
        [(WHERE, "        return (quadratic * (err <= self.delta) + linear * (err >= self.delta)).mean()")],
        {"huber_values": "exactly at |error| = delta", "huber_gradients": "exactly at |error| = delta"}),
    "huber_as_smooth_l1": (
        [("        quadratic = 0.5 * err ** 2\n        linear = self.delta * (err - 0.5 * self.delta)",
          "        quadratic = 0.5 * err ** 2 / self.delta\n        linear = err - 0.5 * self.delta")],
        {"huber_values": "smooth l1", "huber_gradients": "differs from f.huber_loss"}),
    "huber_linear_part_offset": (
        [("        linear = self.delta * (err - 0.5 * self.delta)", "        linear = self.delta * (err - self.delta)")],
        {"huber_values": "linear part"}),
    "huber_quadratic_without_half": (
        [("        quadratic = 0.5 * err ** 2", "        quadratic = err ** 2")],
        {"huber_values": "", "huber_gradients": "differs"}),
    "huber_sum": (
        [(WHERE, WHERE.replace(".mean()", ".sum()"))],
        {"huber_values": "sum", "huber_gradients": "numel times too large"}),
    "huber_sqrt_of_square": (
        [("        err = (pred - target).abs()", "        err = ((pred - target) ** 2).sqrt()")],
        {"huber_gradients": "nan where pred == target"}),
    "huber_detached": (
        [(WHERE, WHERE + ".detach()")],
        {"huber_gradients": "does not carry a graph"}),
    "huber_wrong_default": (
        [("    def __init__(self, delta=1.0):", "    def __init__(self, delta=0.5):")],
        {"defaults": "delta=1.0"}),
    "focal_log_of_softmax": (
        [(LOG_P, "        log_p = torch.log(F.softmax(logits, dim=1))")],
        {"focal_stable": "inf"}),
    "focal_exp_by_hand": (
        [(LOG_P, "        log_p = logits - torch.log(torch.exp(logits).sum(dim=1, keepdim=True))")],
        {"focal_stable": "exp(x) overflows"}),
    "focal_clamped_probability": (
        [(LOG_P, "        log_p = torch.log(F.softmax(logits, dim=1).clamp_min(1e-12))")],
        {"focal_stable": "clamped probability"}),
    "focal_gamma_on_p_t": (
        [(FOCAL, "        return (-(p_t ** self.gamma) * log_p_t).mean()")],
        {"focal_values": "applied to p_t", "focal_gradients": "differs",
         "focal_stable": "ordinary logits too"}),
    "focal_one_minus_p_pow": (
        [(FOCAL, "        return (-(1 - p_t ** self.gamma) * log_p_t).mean()")],
        {"focal_values": "1 - p_t^gamma", "focal_gradients": "see the values check", "focal_stable": "ordinary logits too"}),
    "focal_sum": (
        [(FOCAL, FOCAL.replace(".mean()", ".sum()"))],
        {"focal_values": "summed", "focal_gradients": "differs", "focal_stable": "ordinary logits too"}),
    "focal_without_factor": (
        [(FOCAL, "        return (-log_p_t).mean()")],
        {"focal_values": "plain cross-entropy", "focal_gradients": "differs",
         "focal_stable": "ordinary logits too"}),
    "focal_softmax_over_batch": (
        [(LOG_P, "        log_p = F.log_softmax(logits, dim=0)")],
        {"focal_values": "over the batch (dim 0)", "focal_gradients": "differs", "focal_stable": "ordinary logits too"}),
    "focal_detached_factor": (
        [(FOCAL, "        return (-((1 - p_t.detach()) ** self.gamma) * log_p_t).mean()")],
        {"focal_gradients": "detached", "focal_stable": "see the gradient check"}),
    "focal_wrong_default": (
        [("    def __init__(self, gamma=2.0):", "    def __init__(self, gamma=1.0):")],
        {"defaults": "gamma=2.0"}),
    "masked_divides_by_numel": (
        [(RESULT, "    return squared.sum() / mask.numel()")],
        {"masked_mse_values": "numel", "masked_mse_gradients": "differs"}),
    "masked_inverted": (
        [(SQUARED, SQUARED.replace("torch.where(mask,", "torch.where(~mask,")),
         ("    count = mask.sum().clamp_min(1)", "    count = (~mask).sum().clamp_min(1)")],
        {"masked_mse_values": "inverted", "masked_mse_gradients": "mask is false",
         "masked_mse_empty": "should be 0"}),
    "masked_zero_over_zero": (
        [("    count = mask.sum().clamp_min(1)", "    count = mask.sum()")],
        {"masked_mse_empty": "nan (0 / 0)"}),
    "masked_mean_of_selected": (
        [(RESULT, "    return ((pred[mask] - target[mask]) ** 2).mean()")],
        {"masked_mse_empty": "nan"}),
    "masked_rewrapped_float": (
        [(RESULT, "    return torch.tensor((squared.sum() / count).item(), requires_grad=True)")],
        {"masked_mse_gradients": "re-wrapped with torch.tensor", "masked_mse_empty": "not connected"}),
    "masked_constant_zero_when_empty": (
        [(SQUARED, "    if not mask.any():\n        return torch.tensor(0.0)\n" + SQUARED)],
        {"masked_mse_empty": "not connected"}),
    "losses_not_modules": (
        [("class HuberLoss(nn.Module):", "class HuberLoss:"),
         ("        super().__init__()\n        self.delta = delta",
          "        self.delta = delta\n\n    def __call__(self, pred, target):\n        return self.forward(pred, target)")],
        {"api": "subclass torch.nn.module"}),
}

ALTERNATIVES = {
    "huber_clamp_form": '''
class HuberLoss(nn.Module):
    def __init__(self, delta=1.0):
        super().__init__()
        self.delta = float(delta)

    def forward(self, pred, target):
        a = torch.abs(target - pred)
        small = torch.clamp(a, max=self.delta)
        return (0.5 * small * small + self.delta * (a - small)).mean()
''',
    "huber_mask_arithmetic": '''
class HuberLoss(nn.Module):
    def __init__(self, delta=1.0):
        super().__init__()
        self.delta = delta

    def forward(self, pred, target):
        e = pred - target
        inside = (e.abs() < self.delta).to(e.dtype)
        quad = 0.5 * e.pow(2)
        lin = self.delta * e.abs() - 0.5 * self.delta ** 2
        return (inside * quad + (1 - inside) * lin).sum() / e.numel()
''',
    "huber_via_torch": '''
class HuberLoss(nn.Module):
    def __init__(self, delta=1.0):
        super().__init__()
        self.delta = delta

    def forward(self, pred, target):
        return F.huber_loss(pred, target, reduction="mean", delta=self.delta)
''',
    "focal_via_cross_entropy": '''
class FocalLoss(nn.Module):
    def __init__(self, gamma=2.0):
        super().__init__()
        self.gamma = gamma

    def forward(self, logits, target):
        ce = F.cross_entropy(logits, target, reduction="none")
        p_t = torch.exp(-ce)
        return torch.mean((1.0 - p_t).pow(self.gamma) * ce)
''',
    "focal_one_hot": '''
class FocalLoss(nn.Module):
    def __init__(self, gamma=2.0):
        super().__init__()
        self.gamma = gamma

    def forward(self, logits, target):
        log_probs = torch.log_softmax(logits, dim=-1)
        one_hot = F.one_hot(target, num_classes=logits.shape[-1]).to(logits.dtype)
        log_p_t = (log_probs * one_hot).sum(dim=-1)
        weight = (1 - log_p_t.exp()) ** self.gamma
        return -(weight * log_p_t).sum() / len(target)
''',
    "focal_loop": '''
class FocalLoss(nn.Module):
    def __init__(self, gamma=2.0):
        super().__init__()
        self.gamma = gamma

    def forward(self, logits, target):
        terms = []
        for row, t in zip(logits, target):
            log_p_t = (row - torch.logsumexp(row, dim=0))[t]
            terms.append(-(1 - torch.exp(log_p_t)) ** self.gamma * log_p_t)
        return torch.stack(terms).mean()
''',
    "focal_nll_and_softmax": '''
class FocalLoss(nn.Module):
    def __init__(self, gamma=2.0):
        super().__init__()
        self.gamma = gamma

    def forward(self, logits, target):
        log_probs = F.log_softmax(logits, 1)
        probs = F.softmax(logits, 1)
        p_t = probs[torch.arange(len(target)), target]
        weights = (1 - p_t) ** self.gamma
        nll = F.nll_loss(log_probs, target, reduction="none")
        return (weights * nll).mean()
''',
    "focal_logsumexp": '''
class FocalLoss(nn.Module):
    def __init__(self, gamma=2.0):
        super().__init__()
        self.gamma = gamma

    def forward(self, logits, target):
        log_p_t = logits.gather(1, target[:, None])[:, 0] - torch.logsumexp(logits, dim=1)
        return torch.mean(-torch.pow(-torch.expm1(log_p_t), self.gamma) * log_p_t)
''',
    "masked_boolean_indexing": '''
def masked_mse(pred, target, mask):
    diff = (pred - target)[mask]
    return (diff ** 2).sum() / max(int(mask.sum()), 1)
''',
    "masked_float_weights": '''
def masked_mse(pred, target, mask):
    weights = mask.to(pred.dtype)
    return ((pred - target) ** 2 * weights).sum() / weights.sum().clamp(min=1.0)
''',
    "masked_early_return": '''
def masked_mse(pred, target, mask):
    if not mask.any():
        return (pred * 0).sum()
    return F.mse_loss(pred[mask], target[mask])
''',
}
