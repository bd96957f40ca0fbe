"""Load CIFAR-style pickles (MiraBest batches) without letting the file run code.

``pickle`` can call any importable function while loading, so a crafted file could e.g. run
``os.system``. :class:`RestrictedUnpickler` only resolves the few globals that pickled numpy
arrays, dtypes and scalars need, and refuses everything else with a ``DataError``.
"""

from __future__ import annotations

import _compat_pickle
import importlib
import io
import os
import pickle
from typing import IO, Any

from radiolib.errors import DataError

__all__ = ["ALLOWED_GLOBALS", "RestrictedUnpickler", "safe_load"]

#: ``(module, name)`` pairs a MiraBest / CIFAR batch may reference; nothing else is resolved.
ALLOWED_GLOBALS: frozenset[tuple[str, str]] = frozenset(
    {
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "scalar"),
        # protocol 5 pickles rebuild arrays from a buffer
        ("numpy.core.numeric", "_frombuffer"),
        ("numpy._core.numeric", "_frombuffer"),
        # protocol <= 2 pickles store bytes as _codecs.encode(text, "latin1")
        ("_codecs", "encode"),
        ("builtins", "bytearray"),
        ("builtins", "complex"),
        ("builtins", "frozenset"),
        ("builtins", "set"),
        ("builtins", "slice"),
    }
)



class RestrictedUnpickler(pickle.Unpickler):
    """An ``Unpickler`` whose ``find_class`` admits only :data:`ALLOWED_GLOBALS`."""

    def find_class(self, module: str, name: str) -> Any:
        """Resolve an allowed numpy/builtin global; raise ``DataError`` for any other."""
        # Python 2 names, mapped as the default Unpickler does (fix_imports)
        module, name = _compat_pickle.NAME_MAPPING.get((module, name), (module, name))
        module = _compat_pickle.IMPORT_MAPPING.get(module, module)
        if (module, name) not in ALLOWED_GLOBALS:
            raise DataError(
                f"refusing to unpickle {module}.{name}: only numpy arrays, dtypes and scalars "
                "are allowed in a dataset pickle (the file may be corrupt or malicious)"
            )
        if module.startswith("numpy.core."):
            # numpy >= 2 renamed numpy.core to numpy._core; avoid its deprecation shim
            try:
                importlib.import_module("numpy._core")

                module = "numpy._core." + module.removeprefix("numpy.core.")
            except ImportError:
                pass
        return super().find_class(module, name)


def safe_load(source: str | os.PathLike[str] | IO[bytes], *, encoding: str = "latin1") -> Any:
    """Unpickle ``source`` (a path or binary file) with :class:`RestrictedUnpickler`.

    Parameters
    ----------
    source
        Path of the pickle, or an open binary file object.
    encoding
        How Python 2 ``str`` objects are decoded; ``latin1`` keeps numpy buffers intact.

    Returns
    -------
    object
        The unpickled object, e.g. a CIFAR batch ``dict`` with ``data``, ``labels``,
        ``filenames``.

    Raises
    ------
    DataError
        If the pickle references a disallowed global, or is truncated or corrupt.
    """
    if isinstance(source, (str, os.PathLike)):
        try:
            with open(source, "rb") as handle:
                return safe_load(handle, encoding=encoding)
        except OSError as exc:
            raise DataError(f"cannot read pickle {os.fspath(source)}: {exc}") from None
    label = getattr(source, "name", "<stream>")
    try:
        return RestrictedUnpickler(source, encoding=encoding).load()
    except DataError as exc:
        raise DataError(f"{label}: {exc}") from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError,
            ImportError, IndexError, io.UnsupportedOperation) as exc:
        raise DataError(f"cannot unpickle {label}: {type(exc).__name__}: {exc}") from None
