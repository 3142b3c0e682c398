"""Perplexity scoring of a completion in its context (the ensemble's selection signal): the registry of scorers
(`registry`), their shared batched core (`nll`), the AR and diffusion scorers, and how several scores combine
(`combine`)."""
