# expect: discriminator_gradients
# may fail: learns
# message: discriminator_gradients: not cleared before backward
"""Reference solution: exercise14_gan."""

import torch


def discriminator_step(G, D, real, z, opt_D, loss_fn):
    """One update of D: real samples labelled 1, detached fakes G(z) labelled 0; returns the loss."""
    fake = G(z).detach()  # no graph back into G: this step trains D only
    real_logits = D(real)
    fake_logits = D(fake)
    loss = (loss_fn(real_logits, torch.ones_like(real_logits))
            + loss_fn(fake_logits, torch.zeros_like(fake_logits)))
    loss.backward()
    opt_D.step()
    opt_D.zero_grad()
    return loss.item()


def generator_step(G, D, z, opt_G, loss_fn):
    """One update of G with the non-saturating loss: D(G(z)) labelled 1; returns the loss."""
    opt_G.zero_grad()
    logits = D(G(z))
    loss = loss_fn(logits, torch.ones_like(logits))
    loss.backward()  # also fills D's .grad; only opt_G steps, so D does not change
    opt_G.step()
    return loss.item()
