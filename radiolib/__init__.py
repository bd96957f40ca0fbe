"""radiolib: self-supervised learning for radio images (Riggi et al. 2024; Lastufka et al. 2024).

The package follows the pipeline stages (see ``DESIGN.md``): ``io`` → ``data`` → ``scaling`` →
``reproduce`` / ``results`` for the book. Sub-modules are imported on demand so that
``import radiolib`` stays cheap.
"""

__all__ = ["__version__"]

__version__ = "0.1.0"
