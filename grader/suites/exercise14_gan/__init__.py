TITLE = "GAN training"
MODULE = "gan"
API = [
    "discriminator_step(G, D, real, z, opt_D, loss_fn)",
    "generator_step(G, D, z, opt_G, loss_fn)",
]
