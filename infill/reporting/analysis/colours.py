"""One colour per model for every figure of a report, so that a model is recognised across figures: its bar in the
pass-rate chart, its share in each ensemble's selection chart and its perplexity panel have the same colour.

The mapping is fixed by the run's models in report order (real models, ensembles, smoke rows; by name within a
group; infill.reporting.roles) and carries that meaning: real models and ensembles take strong colours, smoke rows
pale ones, so a smoke bar never looks like a real result. Two models never share a colour: past the fixed palettes
further colours are spread around the hue circle.
"""

from __future__ import annotations

import colorsys

from infill.reporting.roles import SMOKE, group_of, ordered_models

# matplotlib's tab10 without its grey (kept for the ORACLE bar), then tab20b's dark shades
STRONG = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#bcbd22", "#17becf",
          "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#5254a3", "#8ca252", "#bd9e39", "#ad494a")
# tab20's light shades: pale, for rows whose scores are near zero by design
PALE = ("#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5", "#c49c94", "#f7b6d2", "#dbdb8d", "#9edae5")
ORACLE_COLOUR = "#dddddd"


def _spread(index: int, pale: bool) -> str:
    """A further colour: hues a golden-ratio step apart, so neighbours differ."""
    red, green, blue = colorsys.hls_to_rgb((0.13 + index * 0.618034) % 1.0, 0.8 if pale else 0.45, 0.6)
    return "#" + "".join(f"{round(255 * c):02x}" for c in (red, green, blue))


def model_colours(models, roles: dict[str, dict]) -> dict[str, str]:
    """model -> colour ('#rrggbb'), distinct for every model given."""
    colours, strong, pale = {}, 0, 0
    for model in ordered_models(set(models), roles):
        if group_of(model, roles) == SMOKE:
            colours[model] = PALE[pale] if pale < len(PALE) else _spread(pale, pale=True)
            pale += 1
        else:
            colours[model] = STRONG[strong] if strong < len(STRONG) else _spread(strong, pale=False)
            strong += 1
    return colours
