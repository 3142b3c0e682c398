"""Where completions come from: replayed files (`replay`), the ground truth (`canonical`), a live model (`live`) and
the perplexity ensemble (`ensemble`), all behind `base.CompletionSource`."""
