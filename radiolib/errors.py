"""Exceptions with messages that tell the user what to do next."""

__all__ = ["ConfigError", "DataError", "FITSError", "NotebookError", "RadiolibError",
           "ResourceError"]


class RadiolibError(Exception):
    """Base class: an error caused by input, configuration or missing data, not by a bug."""


class FITSError(RadiolibError, ValueError):
    """A FITS file cannot be used as a radio image (not FITS, truncated, empty, all-NaN, ...)."""


class DataError(RadiolibError):
    """A dataset is missing, fails its checksum, or cannot be downloaded or extracted."""


class ConfigError(RadiolibError, ValueError):
    """A profile, manifest or configuration file is wrong (unknown name, bad value)."""


class NotebookError(RadiolibError):
    """A notebook failed while being executed for the book."""


class ResourceError(RadiolibError):
    """A job would not fit in the memory or disk space available: refused before it starts."""
