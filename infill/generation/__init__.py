"""Generation backends: one small interface per family (autoregressive FIM in `ar`, masked diffusion next)."""
