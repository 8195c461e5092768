"""exercise15_autoencoder: realistic mistakes (edits of the reference, and the checks each must lose) and
correct alternatives in other styles (code appended to the reference; full marks)."""

ENCODER_TAIL = ("            nn.ReLU(),\n            nn.Linear(hidden_dim, latent_dim),\n        )\n"
                "        self.decoder = nn.Sequential(\n")
DECODER_LAST = "            nn.Linear(hidden_dim, in_dim),\n"
NOISE = "    noise = torch.randn(x.shape, generator=generator, dtype=x.dtype, device=x.device)\n"
ADD_NOISE = "    return x + noise_std * noise\n"
NOISY = "    noisy = corrupt(x, noise_std, generator)\n"
LOSS = "    loss = F.mse_loss(model(noisy), x)\n"
RETURN_LOSS = "    return loss.item()"
STEP = "    loss.backward()\n    optimizer.step()\n"
DENOISING = ("denoising_returns_float", "denoising_input", "denoising_generator", "denoising_loss",
             "denoising_gradients")
CORRUPT = ("corrupt_shape_dtype", "corrupt_noise", "corrupt_generator", "corrupt_keeps_x")
AUTOENCODER = ("autoencoder_shapes", "hidden_dim", "forward_is_decode_of_encode", "autoencoder_gradients",
               "autoencoder_learns")
IN_PLACE = "changed x in place"

MISTAKES = {
    # ---- AutoEncoder ----
    "encode_returns_hidden_features": (
        [(ENCODER_TAIL, "            nn.ReLU(),\n        )\n        self.decoder = nn.Sequential(\n"
                        "            nn.Linear(hidden_dim, latent_dim),\n            nn.ReLU(),\n")],
        {"autoencoder_shapes": "returned 13 features per sample, i.e. hidden_dim"}),
    "hidden_and_latent_swapped": (
        [("            nn.Linear(in_dim, hidden_dim),\n            nn.ReLU(),\n            nn.Linear(hidden_dim, latent_dim),",
          "            nn.Linear(in_dim, latent_dim),\n            nn.ReLU(),\n            nn.Linear(latent_dim, hidden_dim),"),
         ("            nn.Linear(latent_dim, hidden_dim),\n            nn.ReLU(),\n" + DECODER_LAST,
          "            nn.Linear(hidden_dim, latent_dim),\n            nn.ReLU(),\n            nn.Linear(latent_dim, in_dim),\n")],
        {"autoencoder_shapes": "hidden_dim"}),
    "hidden_size_hard_coded": (
        [("        super().__init__()\n", "        super().__init__()\n        hidden_dim = 64\n")],
        {"hidden_dim": "use hidden_dim, not a fixed number"}),
    "encode_squeezes_batch": (
        [("        return self.encoder(x)\n", "        return self.encoder(x).squeeze()\n")],
        {"autoencoder_shapes": "dropped the batch dimension"}),
    "forward_skips_activation": (
        [("        return self.decode(self.encode(x))\n",
          "        return self.decoder(self.encoder[2](self.encoder[0](x)))\n")],
        {"forward_is_decode_of_encode": "differs from decode(encode(x))"}),
    "forward_adds_sigmoid": (
        [("        return self.decode(self.encode(x))\n", "        return torch.sigmoid(self.decode(self.encode(x)))\n")],
        {"forward_is_decode_of_encode": "no extra activation", "autoencoder_learns": "plain nn.Linear"}),
    "decoder_ends_with_relu": (
        [(DECODER_LAST, DECODER_LAST + "            nn.ReLU(),\n")],
        {"autoencoder_learns": "does the decoder end with an activation"}),
    "latent_detached": (
        [("        return self.decoder(z)\n", "        return self.decoder(z.detach())\n")],
        {"autoencoder_gradients": "no gradient reaches encoder.0.weight",
         "autoencoder_learns": "nothing detached"}),
    "encoder_under_no_grad": (
        [("        return self.encoder(x)\n", "        with torch.no_grad():\n            return self.encoder(x)\n")],
        {"autoencoder_gradients": "no gradient reaches encoder.0.weight",
         "autoencoder_learns": "nothing detached"}),
    # ---- corrupt ----
    "corrupt_global_rng": (
        [(NOISE, "    noise = torch.randn_like(x)\n")],
        {"corrupt_generator": "global random generator", "denoising_generator": "global random generator"}),
    "corrupt_without_generator_argument": (
        [(NOISE, "    noise = torch.randn(x.shape, dtype=x.dtype)\n")],
        {"corrupt_generator": "torch.randn without generator=", "denoising_generator": "global random generator"}),
    "corrupt_own_generator": (
        [(NOISE, "    noise = torch.randn(x.shape, generator=torch.Generator().manual_seed(0))\n")],
        {"corrupt_generator": "never drew from the generator", "denoising_generator": "never drew from the generator"}),
    "corrupt_reseeds_generator": (
        [(NOISE, "    generator.manual_seed(0)\n" + NOISE)],
        {"corrupt_generator": "different seeds", "denoising_generator": "different seeds"}),
    "corrupt_seeds_global_rng": (
        [(NOISE, "    torch.manual_seed(generator.initial_seed())\n    noise = torch.randn_like(x)\n")],
        {"corrupt_generator": "global random generator", "denoising_generator": "global random generator"}),
    "noise_std_ignored": (
        [(ADD_NOISE, "    return x + noise\n")],
        {"corrupt_noise": "noise_std was ignored", "denoising_input": "noise_std was ignored"}),
    "noise_std_squared": (
        [(ADD_NOISE, "    return x + noise_std ** 2 * noise\n")],
        {"corrupt_noise": "noise_std was squared", "denoising_input": "noise_std was squared"}),
    "noise_std_as_variance": (
        [(ADD_NOISE, "    return x + noise_std ** 0.5 * noise\n")],
        {"corrupt_noise": "used as a variance", "denoising_input": "used as a variance"}),
    "uniform_noise": (
        [(NOISE, "    noise = torch.rand(x.shape, generator=generator, dtype=x.dtype)\n")],
        {"corrupt_noise": "zero-mean gaussian", "denoising_input": "zero-mean gaussian"}),
    "corrupt_returns_noise_only": (
        [(ADD_NOISE, "    return noise_std * noise\n")],
        {"corrupt_noise": "the noise alone", "denoising_input": "the noise alone"}),
    "corrupt_in_place": (
        [(ADD_NOISE, "    return x.add_(noise_std * noise)\n")],
        {"corrupt_keeps_x": "modified x in place", "denoising_loss": IN_PLACE, "denoising_gradients": IN_PLACE}),
    "corrupt_plus_equals": (
        [(ADD_NOISE, "    x += noise_std * noise\n    return x\n")],
        {"corrupt_keeps_x": "modified x in place", "denoising_loss": IN_PLACE, "denoising_gradients": IN_PLACE}),
    "corrupt_float64_noise": (
        [(NOISE, "    noise = torch.randn(x.shape, generator=generator, dtype=torch.float64)\n")],
        {"corrupt_shape_dtype": "keep x's dtype",
         **{c: "RuntimeError" for c in DENOISING}}),
    # ---- denoising_step ----
    "target_is_noisy": (
        [(LOSS, "    loss = F.mse_loss(model(noisy), noisy)\n")],
        {"denoising_loss": "compared the reconstruction with the noisy input",
         "denoising_gradients": "loss against the noisy input"}),
    "input_is_clean": (
        [(LOSS, "    loss = F.mse_loss(model(x), x)\n")],
        {"denoising_input": "gave the model the clean x"}),
    "no_corruption": (
        [(NOISY, ""), (LOSS, "    loss = F.mse_loss(model(x), x)\n")],
        {"denoising_input": "gave the model the clean x", "denoising_generator": "never drew from the generator"}),
    "step_noise_from_global_rng": (
        [(NOISY, "    noisy = x + noise_std * torch.randn_like(x)\n")],
        {"denoising_generator": "global random generator"}),
    "step_adds_noise_in_place": (
        [(NOISY, "    noisy = x.add_(noise_std * torch.randn(x.shape, generator=generator))\n")],
        {"denoising_loss": IN_PLACE, "denoising_gradients": IN_PLACE}),
    "step_noise_std_ignored": (
        [(NOISY, "    noisy = corrupt(x, 1.0, generator)\n")],
        {"denoising_input": "noise_std was ignored"}),
    "step_noise_std_squared": (
        [(NOISY, "    noisy = corrupt(x, noise_std ** 2, generator)\n")],
        {"denoising_input": "noise_std was squared"}),
    "loss_summed": (
        [(LOSS, "    loss = F.mse_loss(model(noisy), x, reduction=\"sum\")\n")],
        {"denoising_loss": "sum of the squared errors", "denoising_gradients": "not those of the mse"}),
    "no_zero_grad": (
        [("    optimizer.zero_grad()\n", "")],
        {"denoising_gradients": "never cleared"}),
    "zero_grad_between_backward_and_step": (
        [("    optimizer.zero_grad()\n", ""),
         (STEP, "    loss.backward()\n    optimizer.zero_grad()\n    optimizer.step()\n")],
        {"denoising_gradients": "found no gradients"}),
    "step_before_backward": (
        [(STEP, "    optimizer.step()\n    loss.backward()\n")],
        {"denoising_gradients": "found no gradients"}),
    "step_twice": (
        [(STEP, STEP + "    optimizer.step()\n")],
        {"denoising_gradients": "2 times"}),
    "returns_tensor": (
        [(RETURN_LOSS, "    return loss.detach()")],
        {"denoising_returns_float": "tensor, not a python float"}),
    "returns_loss_with_graph": (
        [(RETURN_LOSS, "    return loss")],
        {"denoising_returns_float": "graph"}),
    "returns_nothing": (
        [(RETURN_LOSS, "    return None")],
        {"denoising_returns_float": "returned None", "denoising_loss": "returned None"}),
    "loss_after_step": (
        [(RETURN_LOSS, "    return F.mse_loss(model(noisy), x).item()")],
        {"denoising_loss": "after the optimizer step"}),
    # ---- unfinished parts ----
    "autoencoder_not_implemented": (
        [("        super().__init__()\n", "        super().__init__()\n        raise NotImplementedError('TODO')\n")],
        {c: "not implemented" for c in ("api", *AUTOENCODER)}),
    "corrupt_not_implemented": (
        [(NOISE, "    raise NotImplementedError('TODO')\n")],
        {c: "not implemented" for c in (*CORRUPT, *DENOISING)}),
    "denoising_step_not_implemented": (
        [("    optimizer.zero_grad()\n", "    raise NotImplementedError('TODO')\n")],
        {c: "not implemented" for c in DENOISING}),
}

ALTERNATIVES = {
    "explicit_layers_tanh_and_torch_normal": '''
class AutoEncoder(nn.Module):
    def __init__(self, in_dim, hidden_dim, latent_dim):
        super().__init__()
        self.enc1 = nn.Linear(in_dim, hidden_dim)
        self.enc2 = nn.Linear(hidden_dim, latent_dim)
        self.dec1 = nn.Linear(latent_dim, hidden_dim)
        self.dec2 = nn.Linear(hidden_dim, in_dim)

    def encode(self, x):
        return self.enc2(torch.tanh(self.enc1(x)))

    def decode(self, z):
        return self.dec2(torch.tanh(self.dec1(z)))

    def forward(self, x):
        h = torch.tanh(self.enc1(x))
        return self.dec2(torch.tanh(self.dec1(self.enc2(h))))


def corrupt(x, noise_std, generator):
    return x + torch.normal(0.0, noise_std, size=x.shape, generator=generator).to(x.dtype)


def denoising_step(model, x, optimizer, noise_std, generator):
    criterion = nn.MSELoss()
    loss = criterion(model(corrupt(x, noise_std, generator)), x)
    loss.backward()
    optimizer.step()
    optimizer.zero_grad()
    return float(loss)
''',
    "deeper_gelu_with_layer_norm_and_normal_around_x": '''
class AutoEncoder(nn.Module):
    def __init__(self, in_dim, hidden_dim, latent_dim):
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(in_dim, hidden_dim), nn.GELU(), nn.LayerNorm(hidden_dim),
                                     nn.Linear(hidden_dim, hidden_dim), nn.GELU(),
                                     nn.Linear(hidden_dim, latent_dim))
        self.decoder = nn.Sequential(nn.Linear(latent_dim, hidden_dim), nn.GELU(),
                                     nn.Linear(hidden_dim, hidden_dim), nn.GELU(),
                                     nn.Linear(hidden_dim, in_dim))

    def encode(self, x):
        return self.encoder(x)

    def decode(self, z):
        return self.decoder(z)

    def forward(self, x):
        return self.decoder(self.encoder(x))


def corrupt(x, noise_std, generator):
    return torch.normal(x, noise_std, generator=generator)


def denoising_step(model, x, optimizer, noise_std, generator):
    model.zero_grad(set_to_none=True)
    noisy = corrupt(x, noise_std, generator)
    reconstruction = model.decode(model.encode(noisy))
    loss = ((reconstruction - x) ** 2).mean()
    loss.backward()
    optimizer.step()
    return loss.detach().item()
''',
    "module_list_leaky_relu_and_normal_in_place_on_a_copy": '''
class AutoEncoder(nn.Module):
    def __init__(self, in_dim, hidden_dim, latent_dim):
        super().__init__()
        self.down = nn.ModuleList([nn.Linear(in_dim, hidden_dim), nn.Linear(hidden_dim, latent_dim)])
        self.up = nn.ModuleList([nn.Linear(latent_dim, hidden_dim), nn.Linear(hidden_dim, in_dim)])

    @staticmethod
    def _run(layers, h):
        for i, layer in enumerate(layers):
            h = layer(h)
            if i < len(layers) - 1:
                h = F.leaky_relu(h, 0.1)
        return h

    def encode(self, x):
        return self._run(self.down, x)

    def decode(self, z):
        return self._run(self.up, z)

    def forward(self, x):
        return self.decode(self.encode(x))


def corrupt(x, noise_std, generator):
    if noise_std == 0:
        return x.clone()
    noise = torch.empty_like(x).normal_(0.0, noise_std, generator=generator)
    return x + noise


def denoising_step(model, x, optimizer, noise_std, generator):
    optimizer.zero_grad(set_to_none=False)
    target = x.detach()
    output = model(corrupt(x, noise_std, generator))
    loss = F.mse_loss(target, output, reduction="mean")
    loss.backward()
    optimizer.step()
    return loss.item()
''',
    "randn_star_shape_and_linear_bottleneck_sigmoid_hidden": '''
class AutoEncoder(nn.Module):
    def __init__(self, in_dim, hidden_dim, latent_dim):
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(in_dim, hidden_dim), nn.Sigmoid(), nn.Linear(hidden_dim, latent_dim))
        self.decoder = nn.Sequential(nn.Linear(latent_dim, hidden_dim), nn.Sigmoid(), nn.Linear(hidden_dim, in_dim))

    def encode(self, x):
        return self.encoder(x)

    def decode(self, z):
        return self.decoder(z)

    def forward(self, x):
        z = self.encode(x)
        return self.decode(z)


def corrupt(x, noise_std, generator):
    noise = torch.randn(*x.shape, generator=generator).to(dtype=x.dtype)
    noisy = x.clone()
    noisy.add_(noise, alpha=noise_std)
    return noisy
''',
    "randn_like_with_generator_and_zero_grad_last": '''
def corrupt(x, noise_std, generator):
    return torch.add(x, torch.randn_like(x, generator=generator), alpha=noise_std)


def denoising_step(model, x, optimizer, noise_std, generator):
    model.train()
    noisy = corrupt(x, noise_std, generator)
    loss = nn.functional.mse_loss(model.forward(noisy), x)
    loss.backward()
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return loss.item()
''',
}
