"""Figure functions: data in, :class:`matplotlib.figure.Figure` out; one module per book stage."""

from radiolib.plots.data import plot_channels, plot_image_grid, plot_scaling_comparison, use_style

__all__ = ["plot_channels", "plot_image_grid", "plot_scaling_comparison", "use_style"]
