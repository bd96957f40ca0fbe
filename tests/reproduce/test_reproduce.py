"""``radiolib.reproduce``: profiles, validation, failures and the cache, on tiny notebooks."""

from __future__ import annotations

import json
import re

import nbformat
import pytest
import yaml
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

import radiolib.reproduce as rp
from radiolib.errors import ConfigError, NotebookError

PARAMS = 'profile = "quick"\nresults_dir = "."\nn = 1'
LOG = 'open("runs.log", "a").write("{name}\\n")'


def write_notebook(path, *code, params=PARAMS, **metadata):
    cells = [new_markdown_cell(f"# {path.stem}")]
    if params is not None:
        cells.append(new_code_cell(params, metadata={"tags": ["parameters"]}))
    cells += [new_code_cell(src) for src in code]
    nbformat.write(new_notebook(cells=cells, metadata=metadata), path)


def write_profile(folder, name="tiny", **notebooks):
    folder.mkdir(exist_ok=True)
    text = yaml.safe_dump({"name": name, "description": "test", "notebooks": notebooks})
    (folder / f"{name}.yaml").write_text(text)


@pytest.fixture
def project(tmp_path, monkeypatch):
    """Two tiny notebooks (the second reads results, like the report) and one profile."""
    # keep the keys independent of radiolib's sources, which may be edited while tests run
    monkeypatch.setattr(rp, "_code_files", lambda: [])
    nbs = tmp_path / "notebooks"
    nbs.mkdir()
    write_notebook(nbs / "01_alpha.ipynb", LOG.format(name="01"), "print(n)")
    write_notebook(nbs / "99_report.ipynb", LOG.format(name="99"),
                   params='profile = "quick"\nresults_dir = "."', radiolib={"reads_results": True})
    write_profile(tmp_path / "profiles", **{"01_alpha": {"n": 2}, "99_report": {}})
    book = tmp_path / "book"

    def run(**kwargs):
        kwargs.setdefault("profile", "tiny")
        return rp.reproduce(book_dir=book, notebooks_dir=nbs, profiles_dir=tmp_path / "profiles",
                            **kwargs)

    def runs():
        log = book / "notebooks" / "runs.log"
        return log.read_text().split() if log.exists() else []

    run.nbs, run.book, run.profiles, run.runs = nbs, book, tmp_path / "profiles", runs
    return run


@pytest.mark.parametrize("use_repo", [True, False])
def test_unknown_profile_lists_valid_ones(project, use_repo):
    if use_repo:
        with pytest.raises(ConfigError, match=r"unknown profile 'nope'; valid profiles: "
                                              r"paper, quick, smoke"):
            rp.reproduce("nope")
    else:
        with pytest.raises(ConfigError, match=r"unknown profile 'nope'; valid profiles: tiny"):
            project(profile="nope")


def test_reproduce_without_notebooks_says_it_needs_a_checkout(tmp_path):
    with pytest.raises(ConfigError, match="checkout of the repository"):
        rp.reproduce("smoke", notebooks_dir=tmp_path / "nowhere", book_dir=tmp_path / "book")


def test_unknown_only_lists_notebooks(project):
    with pytest.raises(ConfigError, match=r"02_beta in --only; valid names: 01_alpha, 99_report"):
        project(only=["02_beta"])
    assert project.runs() == []


def test_unknown_notebook_in_profile(project):
    write_profile(project.profiles, **{"05_gone": {}})
    with pytest.raises(ConfigError, match=r"05_gone in profile 'tiny'; valid names: 01_alpha"):
        project()


def test_profile_parameter_must_be_defined(project):
    write_profile(project.profiles, **{"01_alpha": {"n_bogus": 3}})
    with pytest.raises(ConfigError, match=r"sets n_bogus for notebook 01_alpha, but its "
                                          r"parameters cell does not define it"):
        project()
    assert project.runs() == []


def test_profile_may_not_set_injected_names(project):
    write_profile(project.profiles, **{"01_alpha": {"results_dir": "/tmp"}})
    with pytest.raises(ConfigError, match="injects itself"):
        project()


def test_notebook_needs_parameters_cell(project):
    write_notebook(project.nbs / "02_bare.ipynb", "x = 1", params=None)
    with pytest.raises(ConfigError, match="02_bare has no cell tagged 'parameters'"):
        project()


@pytest.mark.slow
def test_failing_notebook(project, capsys):
    write_notebook(project.nbs / "02_boom.ipynb", "x = 1")
    assert project(only=["02_boom"]) == {"02_boom": "ran"}
    executed = project.book / "notebooks" / "02_boom.ipynb"
    assert executed.exists()
    # cell 0 title, 1 parameters, 2 raises
    write_notebook(project.nbs / "02_boom.ipynb", 'raise ValueError("boom")', "x = 1")
    with pytest.raises(NotebookError, match=r"notebook 02_boom failed in cell 2 \(counting from "
                                            r"0: `raise ValueError\(\"boom\"\)`\): "
                                            r"ValueError: boom"):
        project()
    assert not executed.exists()  # neither the broken run nor the stale good one
    assert (project.book / "_failed" / "02_boom.ipynb").exists()
    assert not list((project.book / "notebooks").glob(".*"))  # no temporary files left
    last = capsys.readouterr().out.splitlines()[-1]
    assert last.startswith("02_boom") and last.endswith("FAILED")
    assert project.runs() == ["01"]  # the run stopped at 02: 99 did not run
    saved = json.loads((project.book / "_results" / "tiny" / "02_boom.json").read_text())
    assert saved["status"] == "failed" and "ValueError: boom" in saved["error"]


@pytest.mark.slow
def test_a_notebook_failing_midway_leaves_no_numbers_shown_as_reproduced(project):
    from radiolib.results import FAILED_RUN, report_table

    record = ("from radiolib.results import ResultsStore\n"
              "store = ResultsStore(results_dir, profile, '02_half')\n"
              "store.record('griese2022.rgd.n_train', 1758, evidence='like-for-like')\n"
              "store.record('extra.partial', 1.5)")
    write_notebook(project.nbs / "02_half.ipynb", record, 'raise RuntimeError("midway")')
    with pytest.raises(NotebookError, match="RuntimeError: midway"):
        project(only=["02_half"])
    results = project.book / "_results" / "tiny"
    saved = json.loads((results / "02_half.json").read_text())
    assert saved["status"] == "failed" and set(saved["results"]) == {
        "griese2022.rgd.n_train", "extra.partial"}  # kept, for debugging, but marked
    table = report_table(results)
    assert table.loc["griese2022.rgd.n_train", "verdict"] == FAILED_RUN
    assert table.loc["extra.partial", "verdict"] == f"extra, {FAILED_RUN}"
    assert "02_half failed (notebook 02_half failed in cell 3" in \
        table.loc["griese2022.rgd.n_train", "note"]
    write_notebook(project.nbs / "02_half.ipynb", record)  # fixed: the numbers count now
    assert project(only=["02_half"]) == {"02_half": "ran"}
    assert json.loads((results / "02_half.json").read_text())["status"] == "complete"
    assert report_table(results).loc["griese2022.rgd.n_train", "verdict"] == "match"


@pytest.mark.slow
def test_cache(project, capsys):
    assert project() == {"01_alpha": "ran", "99_report": "ran"}
    assert project.runs() == ["01", "99"]
    out = capsys.readouterr().out
    assert "01_alpha" in out and "ran (" in out and " s)" in out

    assert "2 notebook(s) ran, 0 from the cache" in out and "no executed copy yet" in out

    assert project() == {"01_alpha": "cached", "99_report": "cached"}
    assert project.runs() == ["01", "99"]
    out = capsys.readouterr().out
    assert "0 notebook(s) ran, 2 from the cache" in out
    assert out.count("cached: nothing it depends on changed") == 2

    write_profile(project.profiles, **{"01_alpha": {"n": 3}, "99_report": {}})
    assert project() == {"01_alpha": "ran", "99_report": "ran"}  # 99 re-runs: 01 did
    summary = capsys.readouterr().out.split("from the cache")[1]
    assert re.search(r"01_alpha +ran in \d+ s: its notebook, parameters", summary)
    assert re.search(r"99_report +ran in \d+ s: re-run notebooks it reads ran again "
                     r"\(01_alpha\)", summary)

    assert project(only=["01_alpha"], force=True) == {"01_alpha": "ran"}
    assert "forced (--force)" in capsys.readouterr().out
    assert project() == {"01_alpha": "cached", "99_report": "ran"}
    assert project.runs() == ["01", "99", "01", "99", "01", "99"]


@pytest.mark.slow
def test_progress_bar_names_the_notebook_and_counts_its_cells(project, capsys):
    project(only=["01_alpha"], progress=True)
    err = capsys.readouterr().err
    assert re.search(r"01_alpha: +\d+%.*\d+/\d+ \[\d\d:\d\d", err), err
    project(only=["01_alpha"], force=True, progress=False)
    assert "01_alpha:" not in capsys.readouterr().err


@pytest.mark.slow
def test_reads_results_of_named_notebooks_only(project):
    write_notebook(project.nbs / "02_beta.ipynb", LOG.format(name="02"),
                   radiolib={"reads_results": ["01_alpha"]})
    write_profile(project.profiles, **{"01_alpha": {"n": 2}, "02_beta": {}, "99_report": {}})
    assert set(project().values()) == {"ran"}
    assert project(only=["99_report"], force=True) == {"99_report": "ran"}
    assert project() == {"01_alpha": "cached", "02_beta": "cached", "99_report": "cached"}
    write_profile(project.profiles, **{"01_alpha": {"n": 3}, "02_beta": {}, "99_report": {}})
    assert project() == {"01_alpha": "ran", "02_beta": "ran", "99_report": "ran"}
    write_notebook(project.nbs / "02_beta.ipynb", LOG.format(name="02"),
                   radiolib={"reads_results": ["07_gone"]})
    with pytest.raises(ConfigError, match="07_gone in 02_beta's reads_results"):
        project()


def test_cache_needs_results_file(project):
    project(only=["01_alpha"])
    path = project.book / "_results" / "tiny" / "01_alpha.json"
    path.unlink()
    assert project(only=["01_alpha"]) == {"01_alpha": "ran"}
    saved = json.loads(path.read_text())
    path.write_text(json.dumps({**saved, "status": "running"}))  # a run killed midway
    assert project(only=["01_alpha"]) == {"01_alpha": "ran"}


def test_executed_copy(project):
    project()
    nb = nbformat.read(project.book / "notebooks" / "01_alpha.ipynb", as_version=4)
    meta = nb.metadata["radiolib"]
    assert meta["profile"] == "tiny" and len(meta["cache_key"]) == 64 and meta["executed_at"]
    injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(injected) == 1
    assert 'profile = "tiny"' in injected[0].source
    assert 'results_dir = "../_results/tiny"' in injected[0].source
    assert "n = 2" in injected[0].source
    assert nb.cells[-1].outputs[0]["text"] == "2\n"
    # a notebook that records nothing still leaves a (empty) results file
    saved = json.loads((project.book / "_results" / "tiny" / "01_alpha.json").read_text())
    assert saved["results"] == {} and saved["notebook"] == "01_alpha"
    assert saved["status"] == "complete"


def test_cache_key_inputs(tmp_path, monkeypatch):
    nb, code, res = tmp_path / "01_a.ipynb", tmp_path / "mod.py", tmp_path / "r.json"
    for path in (nb, code, res):
        path.write_text("a")
    monkeypatch.setattr(rp, "REPO_ROOT", tmp_path)
    monkeypatch.setattr(rp, "_code_files", lambda: [code])
    base = rp.cache_key(nb, {"a": 1, "b": None}, "quick")
    assert base == rp.cache_key(nb, {"b": None, "a": 1}, "quick")  # canonical JSON
    assert base != rp.cache_key(nb, {"a": 2, "b": None}, "quick")
    assert base != rp.cache_key(nb, {"a": 1, "b": None}, "smoke")
    assert base != rp.cache_key(nb, {"a": 1, "b": None}, "quick", results=[res])
    code.write_text("b")
    assert base != rp.cache_key(nb, {"a": 1, "b": None}, "quick")


def test_code_files_cover_package_and_manifests():
    files = rp._code_files()
    assert rp.PACKAGE_DIR / "reproduce.py" in files
    assert rp.PACKAGE_DIR / "published.yaml" in files
    assert rp.PACKAGE_DIR / "configs" / "simclr_riggi.yaml" in files  # notebooks read them
    assert rp.PACKAGE_DIR / "data_manifests" / "rgd.yaml" in files
    assert not any(f.parent.name == "profiles" for f in files)  # parameters are keyed
    assert all(f.suffix in (".py", ".yaml") for f in files)


@pytest.mark.parametrize("profile", rp.list_profiles())
def test_repository_profiles_fit_the_notebooks(profile):
    prof = rp.load_profile(profile)
    assert prof.name == profile and prof.description
    names = rp.list_notebooks()
    assert set(prof.notebooks) <= set(names)
    for name in names:
        params, index, _ = rp._plan(rp.NOTEBOOKS_DIR / f"{name}.ipynb", prof)
        assert params["results_dir"] == f"../_results/{profile}" and index >= 0


def test_source_notebooks_have_no_outputs():
    for name in rp.list_notebooks():
        nb = nbformat.read(rp.NOTEBOOKS_DIR / f"{name}.ipynb", as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert not cell.outputs and cell.execution_count is None, name


def test_repository_url_is_set_in_one_place_and_copied_everywhere(tmp_path):
    import shutil

    from radiolib.reproduce import BOOK_DIR, NOTEBOOKS_DIR, repository_url, sync_repository_url

    url = repository_url()
    for path in NOTEBOOKS_DIR.glob("*.ipynb"):  # every Colab install cell uses the setting
        text = path.read_text(encoding="utf-8")
        if "google.colab" in text:
            assert f'url = \\"git+{url}\\"' in text, path.name
    running = (BOOK_DIR / "running.md").read_text(encoding="utf-8")
    assert f"git clone {url}" in running and f"git+{url}" in running
    assert sync_repository_url(book_dir=BOOK_DIR, notebooks_dir=NOTEBOOKS_DIR) == []  # in sync

    book, notebooks = tmp_path / "book", tmp_path / "notebooks"
    shutil.copytree(BOOK_DIR, book, ignore=shutil.ignore_patterns("_build", "notebooks",
                                                                  "_results", "_work"))
    shutil.copytree(NOTEBOOKS_DIR, notebooks)
    config = book / "_config.yml"
    config.write_text(config.read_text().replace(url, "https://example.org/me/radiolib"))
    changed = sync_repository_url(book_dir=book, notebooks_dir=notebooks)
    assert book / "running.md" in changed and len(changed) >= 7
    assert "git clone https://example.org/me/radiolib" in (book / "running.md").read_text()
    assert 'git+https://example.org/me/radiolib\\"' in \
        (notebooks / "03_simclr_pretraining.ipynb").read_text()


def test_a_notebook_reruns_when_a_file_it_reads_changes(project):
    write_notebook(project.nbs / "02_beta.ipynb", LOG.format(name="02"),
                   radiolib={"reads_files": ["_work/study/curves.json"]})
    write_profile(project.profiles, **{"01_alpha": {"n": 2}, "02_beta": {}, "99_report": {}})
    assert project(only=["02_beta"]) == {"02_beta": "ran"}
    assert project(only=["02_beta"]) == {"02_beta": "cached"}
    study = project.book / "_work" / "study" / "curves.json"
    study.parent.mkdir(parents=True)
    study.write_text("{}")  # the study appears
    assert project(only=["02_beta"]) == {"02_beta": "ran"}
    assert project(only=["02_beta"]) == {"02_beta": "cached"}
    study.write_text('{"curves": []}')  # and changes
    assert project(only=["02_beta"]) == {"02_beta": "ran"}
    write_notebook(project.nbs / "02_beta.ipynb", LOG.format(name="02"),
                   radiolib={"reads_files": "curves.json"})
    with pytest.raises(ConfigError, match="reads_files must be a list"):
        project(only=["02_beta"])
