"""The perplexity ensemble: spec, scorers in use, strategies, routing, the completion source."""
