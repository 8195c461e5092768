# expect: labels_device
# message: labels_device: made the labels on cpu
"""A mistake: the fakes' labels are made with torch.zeros on the default device (cpu), after a value read."""

import torch

HISTORY = []  # D's loss on real samples, per step


def discriminator_step(G, D, real, z, opt_D, loss_fn):
    """One update of D: real samples labelled 1, detached fakes G(z) labelled 0; returns the loss."""
    opt_D.zero_grad()
    fake = G(z).detach()  # no graph back into G: this step trains D only
    real_logits = D(real)
    real_loss = loss_fn(real_logits, torch.ones_like(real_logits))
    HISTORY.append(real_loss.item())  # logged before the fake half is computed
    fake_logits = D(fake)
    fake_loss = loss_fn(fake_logits, torch.zeros(fake_logits.shape))
    loss = real_loss + fake_loss
    loss.backward()
    opt_D.step()
    return loss.item()


def generator_step(G, D, z, opt_G, loss_fn):
    """One update of G with the non-saturating loss: D(G(z)) labelled 1; returns the loss."""
    opt_G.zero_grad()
    logits = D(G(z))
    loss = loss_fn(logits, torch.ones_like(logits))
    loss.backward()  # also fills D's .grad; only opt_G steps, so D does not change
    opt_G.step()
    return loss.item()
