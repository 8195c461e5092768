"""Exercise 14: GAN training.

Fill in the two functions below. Read README.md first; run `grade exercise14` to grade.
"""

import torch


def discriminator_step(G, D, real, z, opt_D, loss_fn):
    """One update of the discriminator D; returns the loss as a Python float.

    loss = loss_fn(D(real), ones) + loss_fn(D(fake), zeros), where fake = G(z) detached
    and ones / zeros have the shape, dtype and device of D's output (torch.ones_like /
    torch.zeros_like). Clears D's gradients, backward, one step of opt_D. G's parameters
    and gradients are left untouched.
    """
    # TODO: opt_D.zero_grad() (D's .grad may hold leftovers from generator_step);
    #       fake = G(z) without a graph back into G; the two terms with labels made from
    #       each D output; their sum; backward; opt_D.step(); return a Python float.
    raise NotImplementedError("TODO: discriminator_step")


def generator_step(G, D, z, opt_G, loss_fn):
    """One update of the generator G with the non-saturating loss; returns the loss as a Python float.

    loss = loss_fn(D(G(z)), ones), ones with the shape, dtype and device of D's output.
    Clears G's gradients, backward (through D into G), one step of opt_G. D's parameters
    do not change (its .grad may be filled by backward).
    """
    # TODO: opt_G.zero_grad(); logits = D(G(z)) (G(z) NOT detached here); the loss against
    #       ones; backward; opt_G.step(); return a Python float.
    raise NotImplementedError("TODO: generator_step")
