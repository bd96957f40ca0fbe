"""radiolib: self-supervised learning for radio images (Riggi et al. 2024; Lastufka et al. 2024).

The package follows the pipeline stages, in layers that import only the layers below them
(``DESIGN.md``, checked by ``.importlinter``): ``errors``, ``files`` < ``published`` <
``results`` < ``io``, ``data`` < ``batchstats`` < ``scaling`` < ``tiling``, ``preprocess`` <
``sky`` < ``augment``, ``models`` < ``ssl`` < ``evaluate`` < ``papers`` (each paper's
experiments) < ``reproduce`` < ``cli``; ``plots`` imports none of them. Sub-modules are
imported on demand so that ``import radiolib`` stays cheap.
"""

__all__ = ["__version__"]

__version__ = "0.1.0"
