"""Execute the book's notebooks with papermill for a profile, skipping those whose inputs match.

A profile (``radiolib/profiles/<name>.yaml``, package data) maps notebook names to
parameters. ``notebooks/NN_name`` (in the repository: notebooks are not installed) runs with
them (plus ``profile`` and ``results_dir``) into ``<book_dir>/notebooks/NN_name``, where the
book reads it, unless its :func:`cache_key` is unchanged and its results file
exists and says the run finished. A notebook's results file is marked ``running`` before it
executes and ``complete`` or ``failed`` after (:func:`radiolib.results.mark_results`), so the
numbers of a run that failed or was killed midway are never shown as reproduced. A notebook
with metadata ``{"radiolib": {"reads_results": true}}`` (the report) also
keys on the other notebooks' results, so it re-runs whenever one of them did; a list of names
(``["04_dino_pretraining"]``) does so for those notebooks only (one that uses their outputs).
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import re
import sys
import tempfile
import time
from collections.abc import Iterable, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from unittest.mock import patch

import yaml

from radiolib.errors import ConfigError, NotebookError
from radiolib.files import atomic_path
from radiolib.resources import package_folder
from radiolib.results import mark_results

__all__ = [
    "BOOK_DIR",
    "NOTEBOOKS_DIR",
    "PROFILES_DIR",
    "Profile",
    "cache_key",
    "list_notebooks",
    "list_profiles",
    "load_profile",
    "repository_url",
    "reproduce",
    "sync_repository_url",
]

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_ROOT = PACKAGE_DIR.parent
# the notebooks and the book live in the repository (a checkout), the profiles in the package
NOTEBOOKS_DIR = REPO_ROOT / "notebooks"
PROFILES_DIR = package_folder("profiles")
BOOK_DIR = REPO_ROOT / "book"
KERNEL_NAME = "python3"
INJECTED = ("profile", "results_dir")
_NAME = re.compile(r"\d\d_\w+")


@dataclass(frozen=True)
class Profile:
    """A named set of notebook parameters, read from ``radiolib/profiles/<name>.yaml``."""

    name: str
    description: str
    notebooks: Mapping[str, Mapping[str, object]]


def list_profiles(profiles_dir: str | os.PathLike | None = None) -> list[str]:
    """Return the names of the profiles in ``profiles_dir`` (default: the package's)."""
    return sorted(p.stem for p in Path(profiles_dir or PROFILES_DIR).glob("*.yaml"))


def load_profile(name: str, profiles_dir: str | os.PathLike | None = None) -> Profile:
    """Read and check one profile.

    Raises
    ------
    ConfigError
        If the profile does not exist (the message lists the valid ones) or is malformed.
    """
    valid = list_profiles(profiles_dir)
    if name not in valid:
        raise ConfigError(f"unknown profile {name!r}; valid profiles: {', '.join(valid)}")
    path = Path(profiles_dir or PROFILES_DIR) / f"{name}.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    notebooks = data.get("notebooks") or {}
    if data.get("name") != name or not isinstance(notebooks, dict):
        raise ConfigError(f"{path}: needs 'name: {name}', 'description' and a 'notebooks' mapping")
    for nb, params in notebooks.items():
        if params is not None and not isinstance(params, dict):
            raise ConfigError(f"{path}: parameters of {nb!r} must be a mapping, got {params!r}")
        clash = sorted(set(params or {}) & set(INJECTED))
        if clash:
            raise ConfigError(f"{path}: {nb!r} sets {clash}, which reproduce injects itself")
    return Profile(name, str(data.get("description", "")),
                   {nb: dict(params or {}) for nb, params in notebooks.items()})


def list_notebooks(notebooks_dir: str | os.PathLike | None = None) -> list[str]:
    """Return the book's notebook names (``NN_name``, without ``.ipynb``) in execution order."""
    paths = Path(notebooks_dir or NOTEBOOKS_DIR).glob("*.ipynb")
    return sorted(p.stem for p in paths if _NAME.fullmatch(p.stem))


def _code_files() -> list[Path]:
    """Return the package's sources and YAML files (configs, manifests), less the profiles."""
    files = [*PACKAGE_DIR.rglob("*.py"), *PACKAGE_DIR.rglob("*.yaml")]
    # a profile's parameters are keyed themselves: editing one profile re-runs no other
    return sorted(f for f in files if not f.is_relative_to(PACKAGE_DIR / "profiles"))


def cache_key(notebook: str | os.PathLike, parameters: Mapping[str, object], profile: str, *,
              results: Iterable[str | os.PathLike] = ()) -> str:
    """Return the sha256 that decides whether a notebook must be executed again.

    It covers the source ``notebook``'s bytes, the injected ``parameters`` (as canonical
    JSON), the ``profile`` name, every ``radiolib/**/*.py`` and ``*.yaml`` file (the
    configs and data manifests among them; not the profiles, whose parameters are keyed
    already) and the ``results`` files the notebook reads (the report's).
    """
    digest = hashlib.sha256()

    def add(label: str, data: bytes) -> None:
        digest.update(f"{label}\0{len(data)}\0".encode() + data)

    add("notebook", Path(notebook).read_bytes())
    add("parameters", json.dumps(parameters, sort_keys=True, separators=(",", ":"),
                                 default=str).encode())
    add("profile", profile.encode())
    for path in _code_files():
        add(f"code:{path.relative_to(REPO_ROOT).as_posix()}", path.read_bytes())
    for path in sorted(Path(p) for p in results):
        add(f"results:{path.name}", path.read_bytes())
    return digest.hexdigest()


@contextmanager
def _kernel_environment():
    """Point the ``python3`` kernel at this interpreter, with the inline plot backend."""
    with tempfile.TemporaryDirectory(prefix="radiolib-kernel-") as tmp:
        spec_dir = Path(tmp) / "kernels" / KERNEL_NAME
        spec_dir.mkdir(parents=True)
        # CRITICAL: the kernel process's own log only says "running over TCP without encryption"
        argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}",
                "--IPKernelApp.log_level=CRITICAL"]
        spec = {"argv": argv, "display_name": "Python 3 (ipykernel)", "language": "python"}
        (spec_dir / "kernel.json").write_text(json.dumps(spec), encoding="utf-8")
        paths = os.pathsep.join(p for p in (tmp, os.environ.get("JUPYTER_PATH")) if p)
        # the inline backend stores figures in the notebook (Agg would drop them)
        env = {"JUPYTER_PATH": paths, "MPLBACKEND": "module://matplotlib_inline.backend_inline",
               "PYDEVD_DISABLE_FILE_VALIDATION": "1"}
        with patch.dict(os.environ, env):
            yield


def _check_names(names: Iterable[str], valid: list[str], where: str) -> None:
    unknown = [n for n in names if n not in valid]
    if unknown:
        raise ConfigError(f"unknown notebook(s) {', '.join(unknown)} in {where}; "
                          f"valid names: {', '.join(valid) or '(none)'}")


def _defined_names(code: str) -> set[str] | None:
    """Names assigned at top level of a parameters cell (None if it is not plain Python)."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return None
    names = set()
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
        names |= {t.id for t in targets if isinstance(t, ast.Name)}
    return names


def _plan(source: Path, profile: Profile) -> tuple[dict, int, bool | list[str]]:
    """Check a notebook against its profile: its parameters, parameters cell, results it reads."""
    import nbformat
    import papermill

    name = source.stem
    nb = nbformat.read(source, as_version=4)
    tagged = (i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", []))
    index = next(tagged, -1)
    if index < 0:
        raise ConfigError(f"notebook {name} has no cell tagged 'parameters'")
    # ast, as papermill's own parser skips lines such as `n = None  # (None = all)`
    defined = _defined_names(nb.cells[index].source)
    if defined is None:  # not plain Python (magics): let papermill try
        defined = set(papermill.inspect_notebook(source))
    params = {"profile": profile.name, "results_dir": f"../_results/{profile.name}",
              **profile.notebooks.get(name, {})}
    missing = sorted(set(params) - defined)
    if missing:
        raise ConfigError(f"profile {profile.name!r} sets {', '.join(missing)} for notebook "
                          f"{name}, but its parameters cell does not define "
                          f"{'it' if len(missing) == 1 else 'them'} "
                          f"(it defines: {', '.join(sorted(defined)) or 'nothing'})")
    reads = nb.metadata.get("radiolib", {}).get("reads_results", False)
    if isinstance(reads, list):
        _check_names(reads, list_notebooks(source.parent), f"{name}'s reads_results")
    elif not isinstance(reads, bool):
        raise ConfigError(f"notebook {name}: metadata radiolib.reads_results must be true, "
                          f"false or a list of notebook names, got {reads!r}")
    return params, index, reads


def _read_files(source: Path, book: Path) -> list[Path]:
    """Files outside the results a notebook reads (metadata ``radiolib.reads_files``).

    Paths are relative to the book folder, e.g. ``_work/budget/budget_curves.json`` (the
    pre-training study that ``make pretrain`` caches); those present enter the cache key, so
    the notebook runs again when one changes, appears or goes.
    """
    import nbformat

    files = nbformat.read(source, as_version=4).metadata.get("radiolib", {}).get("reads_files",
                                                                                 [])
    if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
        raise ConfigError(f"notebook {source.stem}: metadata radiolib.reads_files must be a list "
                          f"of paths relative to the book folder, got {files!r}")
    return [p for p in (book / f for f in files) if p.is_file()]


def _stored_key(path: Path) -> str | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))["metadata"]["radiolib"]["cache_key"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _finished(path: Path) -> bool:
    """Whether a results file exists and says its notebook's run finished."""
    try:
        return json.loads(path.read_text(encoding="utf-8")).get("status", "complete") == \
            "complete"
    except (OSError, ValueError, AttributeError):
        return False


def _failure(name: str, exc: Exception, param_index: int, kept: Path | None) -> NotebookError:
    from papermill.exceptions import PapermillExecutionError

    where = f" (kept for debugging: {kept})" if kept else ""
    if not isinstance(exc, PapermillExecutionError):
        return NotebookError(f"notebook {name} failed: {type(exc).__name__}: {exc}{where}")
    index = exc.cell_index - 1 if exc.cell_index > param_index + 1 else exc.cell_index
    lines = [ln for ln in (exc.source or "").splitlines() if ln.strip()]
    first = lines[0].strip() if lines else ""
    return NotebookError(f"notebook {name} failed in cell {index} (counting from 0: "
                         f"`{first}`): {exc.ename}: {exc.evalue}{where}")


def _execute(name: str, source: Path, book: Path, params: dict, param_index: int,
             key: str, profile: str, progress: bool = False) -> None:
    import nbformat
    import papermill

    out_dir, failed = book / "notebooks", book / "_failed" / f"{name}.ipynb"
    target, tmp = out_dir / f"{name}.ipynb", out_dir / f".{name}.part.ipynb"
    try:
        # a bar per notebook: its name, the cell it is in (of all cells) and the time taken
        bar = {"desc": name, "unit": "cell", "leave": False, "dynamic_ncols": True}
        papermill.execute_notebook(source, tmp, parameters=params, kernel_name=KERNEL_NAME,
                                   language="python", cwd=out_dir,
                                   progress_bar=bar if progress else False, log_output=False)
    except Exception as exc:
        target.unlink(missing_ok=True)  # never leave a stale or broken copy for the book
        kept = failed if tmp.exists() else None
        if kept:
            kept.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp, kept)
        raise _failure(name, exc, param_index, kept) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    nb = nbformat.read(tmp, as_version=4)
    nb.metadata["radiolib"] = {
        **nb.metadata.get("radiolib", {}), "cache_key": key, "profile": profile,
        "executed_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    nbformat.write(nb, tmp)
    os.replace(tmp, target)
    failed.unlink(missing_ok=True)


def _why_run(force: bool, upstream_ran: list[str], stored: str | None, key: str,
             finished: bool) -> str | None:
    """Say why a notebook must run again, or None when its cached copy stands."""
    if force:
        return "forced (--force)"
    if upstream_ran:
        return f"re-run notebooks it reads ran again ({', '.join(upstream_ran)})"
    if stored is None:
        return "no executed copy yet"
    if stored != key:
        return "its notebook, parameters, radiolib code or the results it reads changed"
    if not finished:
        return "its last run did not finish"
    return None


def reproduce(profile: str = "quick", only: Iterable[str] | None = None, force: bool = False,
              book_dir: str | os.PathLike | None = None, *,
              notebooks_dir: str | os.PathLike | None = None,
              profiles_dir: str | os.PathLike | None = None,
              progress: bool | None = None) -> dict[str, str]:
    """Execute the notebooks of a profile where the book reads them.

    Parameters
    ----------
    profile : str
        Name of a profile in ``profiles_dir`` (``smoke``, ``quick``, ``paper``).
    only : iterable of str, optional
        Run only these notebooks (``NN_name``, with or without ``.ipynb``).
    force : bool
        Execute even when the cache says a notebook is up to date.
    book_dir : path-like, optional
        The book folder (default: the repository's ``book/``).
    notebooks_dir, profiles_dir : path-like, optional
        Where the source notebooks and profiles are (default: the repository's; for tests).
    progress : bool, optional
        Show a progress bar of the cells of each notebook as it runs (default: on a terminal).

    Returns
    -------
    dict
        Notebook name → ``"ran"`` or ``"cached"``, in execution order.

    Raises
    ------
    ConfigError
        Unknown profile or notebook, or a profile parameter a notebook does not define.
    NotebookError
        A notebook raised; the message names the cell and the error, the executed notebook is
        kept in ``<book_dir>/_failed/`` and the run stops.
    """
    nb_dir = Path(notebooks_dir or NOTEBOOKS_DIR).resolve()
    book = Path(book_dir or BOOK_DIR).resolve()
    if not nb_dir.is_dir():
        raise ConfigError(f"no notebooks folder {nb_dir}: the book is reproduced from a "
                          "checkout of the repository (the notebooks are not installed)")
    prof = load_profile(profile, profiles_dir)
    names = list_notebooks(nb_dir)
    _check_names(prof.notebooks, names, f"profile {profile!r}")
    wanted = [n.removesuffix(".ipynb") for n in only or names]
    _check_names(wanted, names, "--only")
    selected = [n for n in names if n in wanted]
    plans = {name: _plan(nb_dir / f"{name}.ipynb", prof) for name in selected}
    results_dir = book / "_results" / profile
    for folder in (book / "notebooks", results_dir):
        folder.mkdir(parents=True, exist_ok=True)
    if progress is None:
        progress = sys.stderr.isatty()
    done: dict[str, str] = {}
    lines: list[str] = []
    with _kernel_environment():
        for name, (params, param_index, reads) in plans.items():
            source, result = nb_dir / f"{name}.ipynb", results_dir / f"{name}.json"
            upstream = [n for n in names if n != name] if reads is True else reads or []
            inputs = [p for p in (results_dir / f"{n}.json" for n in upstream) if p.exists()]
            key = cache_key(source, params, profile, results=inputs + _read_files(source, book))
            stored = _stored_key(book / "notebooks" / f"{name}.ipynb")
            why = _why_run(force, [n for n in upstream if done.get(n) == "ran"], stored, key,
                           _finished(result))
            if why is None:
                print(f"{name:40s} cached", flush=True)
                lines.append(f"  {name:40s} cached: nothing it depends on changed")
                done[name] = "cached"
                continue
            # an empty file marked running: no stale numbers, and a run killed midway shows
            mark_results(results_dir, profile, name, "running", fresh=True)
            start = time.perf_counter()
            try:
                _execute(name, source, book, params, param_index, key, profile, progress)
            except BaseException as exc:
                error = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                mark_results(results_dir, profile, name, "failed", error=error[:300])
                print(f"{name:40s} FAILED", flush=True)
                raise
            # a notebook that records nothing still counts as run (an empty, complete file)
            mark_results(results_dir, profile, name, "complete")
            seconds = time.perf_counter() - start
            print(f"{name:40s} ran ({seconds:.1f} s)", flush=True)
            lines.append(f"  {name:40s} ran in {seconds:.0f} s: {why}")
            done[name] = "ran"
    ran = sum(v == "ran" for v in done.values())
    print(f"\nprofile {profile}: {ran} notebook(s) ran, {len(done) - ran} from the cache",
          *lines, sep="\n", flush=True)
    return done


_COLAB_URL = re.compile(r'(url = "git\+)[^"]*(")')
_DOC_URLS = re.compile(r"(git clone |git\+)https?://[^\s\"]+?(?=[\s\"]|$)")


def repository_url(book_dir: str | os.PathLike | None = None) -> str:
    """Return the book's repository address: ``repository.url`` of ``book/_config.yml``.

    The one place it is set; :func:`sync_repository_url` copies it to the notebooks' Colab
    install cells and to ``book/running.md`` (a test checks they agree).
    """
    config = Path(book_dir or BOOK_DIR) / "_config.yml"
    url = (yaml.safe_load(config.read_text(encoding="utf-8")) or {}).get("repository", {})
    if not isinstance(url, dict) or not isinstance(url.get("url"), str):
        raise ConfigError(f"{config}: set repository.url to where this repository is published")
    return url["url"].rstrip("/")


def sync_repository_url(book_dir: str | os.PathLike | None = None,
                        notebooks_dir: str | os.PathLike | None = None) -> list[Path]:
    """Write :func:`repository_url` into every copy of it; return the files changed.

    Copies: the ``url = "git+..."`` line of each notebook's Colab install cell, and the
    ``git clone`` / ``git+`` commands of ``book/running.md``. Each file is rewritten
    atomically, and only when it changes (``make repository-url`` calls this).
    """
    url = repository_url(book_dir)
    changed = []
    for path in sorted(Path(notebooks_dir or NOTEBOOKS_DIR).glob("*.ipynb")):
        nb = json.loads(path.read_text(encoding="utf-8"))
        for cell in nb["cells"]:
            source = "".join(cell["source"])
            if "google.colab" in source:
                cell["source"] = _COLAB_URL.sub(rf"\g<1>{url}\g<2>", source).splitlines(
                    keepends=True)
        text = json.dumps(nb, indent=1, ensure_ascii=False) + "\n"
        if text != path.read_text(encoding="utf-8"):
            with atomic_path(path) as tmp:
                tmp.write_text(text, encoding="utf-8")
            changed.append(path)
    running = Path(book_dir or BOOK_DIR) / "running.md"
    text = running.read_text(encoding="utf-8")
    new = _DOC_URLS.sub(lambda m: m.group(1) + url, text)
    if new != text:
        with atomic_path(running) as tmp:
            tmp.write_text(new, encoding="utf-8")
        changed.append(running)
    return changed

