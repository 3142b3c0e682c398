"""Generation: the backends (`backends`: autoregressive FIM in `ar_backend`/`ar`, masked diffusion in
`diffusion_backend`/`diffusion`), model loading and the shared pool, sampling, length policies, post-processing,
the generation cache and out-of-memory halving."""
