"""Figures the chapters reuse: a network's diagram and a training curve.
matplotlib is imported only when a function here is called."""

__all__ = ["draw_network", "plot_history", "COLORS"]

# Okabe–Ito colours: distinguishable with every common colour-vision deficiency.
COLORS = {"blue": "#0072B2", "orange": "#E69F00", "green": "#009E73", "vermillion": "#D55E00",
          "sky": "#56B4E9", "purple": "#CC79A7", "yellow": "#F0E442", "black": "#000000"}


def _layer_sizes(model_or_sizes):
    if hasattr(model_or_sizes, "layers"):
        model = model_or_sizes
        if model.input_dim is None:
            raise ValueError("model_or_sizes: the model's input size is unknown; give input_dim")
        return [model.input_dim] + [layer.units for layer in model.layers]
    sizes = [int(n) for n in model_or_sizes]
    if len(sizes) < 2 or min(sizes) < 1:
        raise ValueError(f"model_or_sizes: expected a model or at least two positive layer sizes, got {sizes}")
    return sizes


def draw_network(model_or_sizes, ax=None, max_units=10, labels=True):
    """Draw a fully connected network: one column of neurons per layer, an edge per weight.

    ``model_or_sizes``: a :class:`~nnlib.Sequential` or a list [n_0, n_1, …, n_L].
    Layers wider than ``max_units`` are drawn with their first and last units and a "⋮".
    Returns the matplotlib Axes.
    """
    import matplotlib.pyplot as plt

    sizes = _layer_sizes(model_or_sizes)
    if ax is None:
        _, ax = plt.subplots(figsize=(1.8 * len(sizes) + 1, 4))
    shown = [min(n, max_units) for n in sizes]
    tallest = max(shown)

    def unit_y(l):
        k = shown[l]
        return [(k - 1) / 2 - i for i in range(k)]

    L = len(sizes) - 1
    for l in range(L):
        for y0 in unit_y(l):
            for y1 in unit_y(l + 1):
                ax.plot([l, l + 1], [y0, y1], color="0.75", lw=0.6, zorder=1)
    for l in range(L + 1):
        colour = COLORS["blue"] if l == 0 else (COLORS["vermillion"] if l == L else COLORS["orange"])
        ys = unit_y(l)
        ax.scatter([l] * len(ys), ys, s=380, color=colour, edgecolor="black", zorder=2)
        if sizes[l] > max_units:
            ax.text(l, 0, "⋮", ha="center", va="center", fontsize=16, zorder=3,
                    bbox=dict(facecolor="white", edgecolor="none"))
        if labels:
            name = "input" if l == 0 else ("output" if l == L else f"hidden {l}")
            ax.text(l, (tallest + 1) / 2 + 0.2, f"{name}\nn$_{{{l}}}$ = {sizes[l]}", ha="center",
                    va="bottom", fontsize=9)
    ax.set_xlim(-0.5, L + 0.5)
    ax.set_ylim(-(tallest + 1) / 2 - 0.2, (tallest + 1) / 2 + 1.4)
    ax.set_aspect("auto")
    ax.axis("off")
    return ax


def plot_history(history, ax=None):
    """Plot ``history.history["loss"]`` (and ``"val_loss"``) against the epoch. Returns the Axes."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    curves = history.history if hasattr(history, "history") else history
    styles = {"loss": (COLORS["blue"], "-"), "val_loss": (COLORS["orange"], "--")}
    for key, values in curves.items():
        colour, style = styles.get(key, (COLORS["green"], ":"))
        ax.plot(range(1, len(values) + 1), values, style, color=colour, label=key)
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.legend()
    return ax
