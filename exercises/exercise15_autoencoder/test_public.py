"""Public checks for exercise15. Run: pytest exercises/exercise15_autoencoder  (then: grade exercise15)"""

import torch

from autoencoder import AutoEncoder, corrupt, denoising_step


def test_shapes():
    torch.manual_seed(0)
    model = AutoEncoder(6, 10, 2)
    for n in (1, 5):
        x = torch.randn(n, 6)
        z = model.encode(x)
        assert z.shape == (n, 2)
        assert model.decode(z).shape == (n, 6)
        assert torch.allclose(model(x), model.decode(model.encode(x)))


def test_corrupt_uses_the_generator_and_keeps_x():
    x = torch.randn(100, 50)
    before = x.clone()
    global_state = torch.random.get_rng_state()
    a = corrupt(x, 0.5, torch.Generator().manual_seed(1))
    b = corrupt(x, 0.5, torch.Generator().manual_seed(1))
    assert torch.equal(a, b)                                   # same seed, same noise
    assert torch.equal(x, before)                              # x is not modified
    assert torch.equal(global_state, torch.random.get_rng_state())  # the global RNG is untouched
    assert abs((a - x).std().item() - 0.5) < 0.05


def test_denoising_step_learns():
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(64, 2) @ torch.randn(2, 6)                 # points on a plane in 6-D
    model = AutoEncoder(6, 16, 2)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = [denoising_step(model, x, optimizer, 0.1, g) for _ in range(200)]
    assert all(type(v) is float for v in losses)
    assert losses[-1] < 0.5 * losses[0]
