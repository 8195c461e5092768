"""Public checks for exercise14. Run: pytest exercises/exercise14_gan  (then: grade exercise14)"""

import torch
from torch import nn

from gan import discriminator_step, generator_step


def _nets():
    torch.manual_seed(0)
    G = nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 2))
    D = nn.Sequential(nn.Linear(2, 8), nn.LeakyReLU(0.2), nn.Linear(8, 1))
    return G, D


def _data():
    g = torch.Generator().manual_seed(1)
    return torch.randn(6, 2, generator=g) + 2.0, torch.randn(6, 3, generator=g)


def test_discriminator_step_loss_and_G_untouched():
    G, D = _nets()
    real, z = _data()
    loss_fn = nn.BCEWithLogitsLoss()
    with torch.no_grad():
        fake = G(z)
        expected = (loss_fn(D(real), torch.ones(6, 1)) + loss_fn(D(fake), torch.zeros(6, 1))).item()
    G_before = [p.detach().clone() for p in G.parameters()]
    D_before = [p.detach().clone() for p in D.parameters()]
    opt_D = torch.optim.SGD(D.parameters(), lr=0.1)
    loss = discriminator_step(G, D, real, z, opt_D, loss_fn)
    assert type(loss) is float
    assert abs(loss - expected) < 1e-5                  # the sum of the two terms
    assert all(p.grad is None for p in G.parameters())  # the fake was detached
    assert all(torch.equal(p, q) for p, q in zip(G.parameters(), G_before))
    assert any(not torch.equal(p, q) for p, q in zip(D.parameters(), D_before))


def test_generator_step_non_saturating_and_D_fixed():
    G, D = _nets()
    _, z = _data()
    loss_fn = nn.BCEWithLogitsLoss()
    with torch.no_grad():
        expected = loss_fn(D(G(z)), torch.ones(6, 1)).item()
    D_before = [p.detach().clone() for p in D.parameters()]
    opt_G = torch.optim.SGD(G.parameters(), lr=0.1)
    loss = generator_step(G, D, z, opt_G, loss_fn)
    assert type(loss) is float
    assert abs(loss - expected) < 1e-5                  # loss_fn(D(G(z)), ones)
    assert all(torch.equal(p, q) for p, q in zip(D.parameters(), D_before))
    with torch.no_grad():
        assert loss_fn(D(G(z)), torch.ones(6, 1)).item() < expected  # G now fools D a little more


def test_alternating_steps_run():
    G, D = _nets()
    real, z = _data()
    loss_fn = nn.BCEWithLogitsLoss()
    opt_D = torch.optim.SGD(D.parameters(), lr=0.1)
    opt_G = torch.optim.SGD(G.parameters(), lr=0.1)
    for _ in range(3):
        d = discriminator_step(G, D, real, z, opt_D, loss_fn)
        g = generator_step(G, D, z, opt_G, loss_fn)
        assert type(d) is float and type(g) is float
