"""exercise07_norms: realistic mistakes (edits of the reference, and the checks each must lose) and
correct alternatives in other styles (code appended to the reference; full marks)."""

BN_VAR = "            var = x.var(dim=dims, unbiased=False)\n"
BN_MEAN = "            mean = x.mean(dim=dims)\n"
RUNNING = ("                self.running_mean.lerp_(mean, self.momentum)\n"
           "                self.running_var.lerp_(var * n / (n - 1), self.momentum)\n")
BN_NORM = "        x_hat = (x - mean.reshape(shape)) / torch.sqrt(var.reshape(shape) + self.eps)"
LN_DIMS = "        dims = tuple(range(-len(self.normalized_shape), 0))"
LN_VAR = "        var = x.var(dim=dims, unbiased=False, keepdim=True)"
ALL_BN = ["api", "bn_train_values", "bn_running_stats", "bn_eval", "bn_3d", "bn_gradients"]
ALL_LN = ["api", "ln_values", "ln_modes", "ln_gradients"]

MISTAKES = {
    "unbiased_variance_everywhere": (
        [(BN_VAR, "            var = x.var(dim=dims)\n"),
         ("self.running_var.lerp_(var * n / (n - 1), self.momentum)", "self.running_var.lerp_(var, self.momentum)")],
        {"bn_train_values": "unbiased variance", "bn_3d": "unbiased variance", "bn_gradients": "input"}),
    "running_stats_not_updated": (
        [(RUNNING, "                pass\n")],
        {"bn_running_stats": "did not change", "bn_3d": "did not change"}),
    "running_update_records_graph": (
        [("            with torch.no_grad():\n                self.running_mean", "            if True:\n                self.running_mean")],
        {"bn_running_stats": "autograd graph", "bn_3d": "autograd graph"}),
    "running_var_biased": (
        [("var * n / (n - 1)", "var")],
        {"bn_running_stats": "biased batch variance", "bn_3d": "biased batch variance"}),
    "bessel_with_batch_size_only": (
        [("            n = x.numel() // x.shape[1]\n", "            n = x.shape[0]\n")],
        {"bn_3d": "n = n·l"}),
    "momentum_reversed": (
        [(RUNNING, RUNNING.replace("self.momentum)", "1 - self.momentum)"))],
        {"bn_running_stats": "reversed", "bn_3d": "reversed"}),
    "running_stats_replaced": (
        [(RUNNING, "                self.running_mean.copy_(mean)\n"
                   "                self.running_var.copy_(var * n / (n - 1))\n")],
        {"bn_running_stats": "replaced by the batch statistics", "bn_3d": "replaced"}),
    "eval_uses_batch_stats": (
        [("        if self.training:\n", "        if True:\n")],
        {"bn_eval": "changed during an eval-mode forward", "bn_3d": "changed during an eval-mode",
         "bn_gradients": "eval mode"}),
    "eval_normalises_with_batch_stats": (
        [("            mean, var = self.running_mean, self.running_var\n",
          "            mean, var = x.mean(dim=dims), x.var(dim=dims, unbiased=False)\n")],
        {"bn_eval": "still normalised with the batch statistics", "bn_3d": "batch statistics",
         "bn_gradients": "eval mode"}),
    "stats_over_batch_only_for_3d": (
        [("        dims = [0] if x.dim() == 2 else [0, 2]", "        dims = [0]")],
        {"bn_3d": "raised", "bn_gradients": "raised"}),
    "statistics_detached": (
        [(BN_MEAN, "            mean = x.detach().mean(dim=dims)\n"),
         (BN_VAR, "            var = x.detach().var(dim=dims, unbiased=False)\n")],
        {"bn_gradients": "constants"}),
    "eps_outside_sqrt": (
        [(BN_NORM, "        x_hat = (x - mean.reshape(shape)) / (torch.sqrt(var.reshape(shape)) + self.eps)")],
        {"bn_train_values": "inside the square root", "bn_gradients": "sqrt(var + eps)"}),
    "eps_ignored": (
        [(BN_NORM, BN_NORM.replace("self.eps", "1e-5"))],
        {"bn_train_values": "eps passed"}),
    "batch_stats_over_features": (
        [("        dims = [0] if x.dim() == 2 else [0, 2]", "        dims = [1] if x.dim() == 2 else [1, 2]")],
        {"bn_train_values": "raised", "bn_running_stats": "raised", "bn_eval": "raised", "bn_3d": "raised",
         "bn_gradients": "raised", "api": "raised"}),
    "running_stats_plain_attributes": (
        [('        self.register_buffer("running_mean", torch.zeros(num_features))\n'
          '        self.register_buffer("running_var", torch.ones(num_features))\n',
          "        self.running_mean = torch.zeros(num_features)\n"
          "        self.running_var = torch.ones(num_features)\n")],
        {"bn_state": "plain tensor attribute", "bn_gradients": "not a registered buffer"}),
    "running_stats_as_parameters": (
        [('        self.register_buffer("running_mean", torch.zeros(num_features))\n'
          '        self.register_buffer("running_var", torch.ones(num_features))\n',
          "        self.running_mean = nn.Parameter(torch.zeros(num_features), requires_grad=False)\n"
          "        self.running_var = nn.Parameter(torch.ones(num_features), requires_grad=False)\n")],
        {"bn_state": "is an nn.parameter"}),
    "running_var_starts_at_zero": (
        [('self.register_buffer("running_var", torch.ones(num_features))',
          'self.register_buffer("running_var", torch.zeros(num_features))')],
        {"bn_state": "should start as ones"}),
    "running_var_misnamed": (
        [('self.register_buffer("running_var", torch.ones(num_features))',
          'self.register_buffer("running_variance", torch.ones(num_features))'),
         ("                self.running_var.lerp_(", "                self.running_variance.lerp_("),
         ("            mean, var = self.running_mean, self.running_var\n",
          "            mean, var = self.running_mean, self.running_variance\n")],
        {"bn_state": "not a registered buffer", "bn_running_stats": "no tensor attribute `running_var`",
         "bn_train_values": "running_var", "bn_eval": "running_var", "bn_3d": "running_var",
         "bn_gradients": "running_var"}),
    "uses_functional_batch_norm": (
        [("    def forward(self, x):\n        dims = [0]",
          "    def forward(self, x):\n        return torch.nn.functional.batch_norm(x, self.running_mean, "
          "self.running_var, self.weight, self.bias, self.training, self.momentum, self.eps)\n        dims = [0]")],
        {**{c: "forbidden" for c in ALL_BN}, "no_library_norms": "torch.nn.functional.batch_norm"}),
    "wraps_torch_batchnorm_module": (
        [("        self.register_buffer(\"running_var\", torch.ones(num_features))\n",
          "        self.register_buffer(\"running_var\", torch.ones(num_features))\n"
          "        self.inner = nn.BatchNorm1d(num_features, eps, momentum)\n")],
        {**{c: "forbidden" for c in ALL_BN}, "bn_state": "forbidden",
         "no_library_norms": "torch.nn.batchnorm1d"}),
    "imports_layer_norm_by_name": (
        [("from torch import nn\n", "from torch import nn\nfrom torch.nn.functional import layer_norm\n"),
         ("        dims = tuple(range(-len(self.normalized_shape), 0))\n",
          "        return layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)\n")],
        {**{c: "forbidden" for c in ALL_LN}, "no_library_norms": "torch.nn.functional.layer_norm"}),
    "calls_aten_kernel": (
        [(LN_DIMS, "        return torch.ops.aten.native_layer_norm(x, list(self.normalized_shape), "
                   "self.weight, self.bias, self.eps)[0]")],
        {**{c: "forbidden" for c in ALL_LN}, "no_library_norms": "aten.native_layer_norm"}),
    "layernorm_over_last_dim_only": (
        [(LN_DIMS, "        dims = (-1,)")],
        {"ln_values": "not only the last one", "ln_gradients": "differs"}),
    "layernorm_unbiased_variance": (
        [(LN_VAR, "        var = x.var(dim=dims, keepdim=True)")],
        {"ln_values": "unbiased variance", "ln_gradients": "differs"}),
    "layernorm_over_whole_batch": (
        [(LN_DIMS, "        dims = tuple(range(x.dim()))")],
        {"ln_values": "whole tensor", "ln_modes": "passed alone", "ln_gradients": "differs"}),
    "layernorm_over_all_but_batch": (
        [(LN_DIMS, "        dims = tuple(range(1, x.dim()))")],
        {"ln_values": "every dim but the batch dim", "ln_gradients": "differs"}),
    "layernorm_eps_ignored": (
        [("(var + self.eps)", "(var + 1e-5)")],
        {"ln_values": "eps passed"}),
    "layernorm_int_not_accepted": (
        [("        if isinstance(normalized_shape, int):\n            normalized_shape = (normalized_shape,)\n", "")],
        {"api": "int", "ln_parameters": "int", "ln_values": "int", "ln_modes": "int", "ln_gradients": "int"}),
    "layernorm_params_last_dim_only": (
        [("        self.weight = nn.Parameter(torch.ones(self.normalized_shape))\n"
          "        self.bias = nn.Parameter(torch.zeros(self.normalized_shape))\n",
          "        self.weight = nn.Parameter(torch.ones(self.normalized_shape[-1]))\n"
          "        self.bias = nn.Parameter(torch.zeros(self.normalized_shape[-1]))\n")],
        {"ln_parameters": "shape", "ln_values": "shape", "ln_gradients": "shape"}),
    "layernorm_statistics_detached": (
        [("        mean = x.mean(dim=dims, keepdim=True)", "        mean = x.mean(dim=dims, keepdim=True).detach()"),
         (LN_VAR, "        var = x.detach().var(dim=dims, unbiased=False, keepdim=True)")],
        {"ln_gradients": "constants"}),
}

ALTERNATIVES = {
    "batchnorm_flatten_and_assign": '''
class BatchNorm1d(nn.Module):
    def __init__(self, num_features, eps=1e-5, momentum=0.1):
        super().__init__()
        self.eps, self.momentum = eps, momentum
        self.weight = nn.Parameter(torch.ones(num_features))
        self.bias = nn.Parameter(torch.zeros(num_features))
        self.register_buffer("running_var", torch.ones(num_features))
        self.register_buffer("running_mean", torch.zeros(num_features))

    def forward(self, x):
        three_d = x.dim() == 3
        flat = x.transpose(1, 2).reshape(-1, x.shape[1]) if three_d else x
        if self.training:
            var, mean = torch.var_mean(flat, dim=0, correction=0)
            n = flat.shape[0]
            self.running_mean = ((1 - self.momentum) * self.running_mean + self.momentum * mean).detach()
            self.running_var = ((1 - self.momentum) * self.running_var
                                + self.momentum * var.detach() * n / (n - 1)).detach()
        else:
            mean, var = self.running_mean, self.running_var
        out = (flat - mean) * torch.rsqrt(var + self.eps) * self.weight + self.bias
        if three_d:
            out = out.reshape(x.shape[0], x.shape[2], x.shape[1]).transpose(1, 2)
        return out
''',
    "batchnorm_sums_and_unsqueeze": '''
class BatchNorm1d(nn.Module):
    def __init__(self, num_features, eps=1e-5, momentum=0.1):
        super().__init__()
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.weight = nn.Parameter(torch.ones(num_features))
        self.bias = nn.Parameter(torch.zeros(num_features))
        self.register_buffer("running_mean", torch.zeros(num_features))
        self.register_buffer("running_var", torch.ones(num_features))
        self.register_buffer("num_batches_tracked", torch.tensor(0, dtype=torch.long))

    def forward(self, x):
        squeeze = x.dim() == 2
        if squeeze:
            x = x.unsqueeze(-1)
        if self.training:
            n = x.shape[0] * x.shape[2]
            mean = x.sum(dim=(0, 2)) / n
            centered = x - mean[None, :, None]
            var = (centered ** 2).sum(dim=(0, 2)) / n
            with torch.no_grad():
                self.running_mean.mul_(1 - self.momentum).add_(mean, alpha=self.momentum)
                self.running_var.mul_(1 - self.momentum).add_(var * (n / (n - 1)), alpha=self.momentum)
                self.num_batches_tracked += 1
        else:
            mean, var = self.running_mean, self.running_var
            centered = x - mean[None, :, None]
        y = centered / (var[None, :, None] + self.eps).sqrt()
        y = self.weight[None, :, None] * y + self.bias[None, :, None]
        return y.squeeze(-1) if squeeze else y
''',
    "layernorm_flatten": '''
class LayerNorm(nn.Module):
    def __init__(self, normalized_shape, eps=1e-5):
        super().__init__()
        shape = torch.Size([normalized_shape] if isinstance(normalized_shape, int) else normalized_shape)
        self.normalized_shape, self.eps = shape, eps
        self.weight = nn.Parameter(torch.ones(shape))
        self.bias = nn.Parameter(torch.zeros(shape))

    def forward(self, x):
        lead = x.shape[: x.dim() - len(self.normalized_shape)]
        flat = x.reshape(*lead, -1)
        mu = flat.mean(-1, keepdim=True)
        sigma2 = ((flat - mu) ** 2).mean(-1, keepdim=True)
        y = ((flat - mu) / torch.sqrt(sigma2 + self.eps)).reshape(x.shape)
        return torch.addcmul(self.bias, y, self.weight)
''',
    "layernorm_var_mean": '''
class LayerNorm(nn.Module):
    def __init__(self, normalized_shape, eps=1e-5):
        super().__init__()
        if not isinstance(normalized_shape, (tuple, list)):
            normalized_shape = [normalized_shape]
        self.dims = [-(i + 1) for i in range(len(normalized_shape))]
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(*normalized_shape))
        self.bias = nn.Parameter(torch.zeros(*normalized_shape))

    def forward(self, x):
        var, mean = torch.var_mean(x, dim=self.dims, keepdim=True, unbiased=False)
        return self.weight * (x - mean) * (var + self.eps).rsqrt() + self.bias
''',
}
