import pytest
import yaml

from radiolib.data import get_manifest, list_datasets, load_manifest, manifest_dir
from radiolib.errors import ConfigError

DOWNLOADABLE = {"mirabest", "mirabest_first_fits", "rgd", "real_fields"}
PLACEHOLDERS = {"rgz_dr1", "mgcls_dr1", "mightee", "emu_pilot", "smgps", "caesar_mrcnn",
                "lastufka_dino_weights", "torchvision_resnet18_imagenet", "dino_resnet50_imagenet",
                "dinov2_vitg14", "hayat2021_moco", "rgz_byol"}


def test_repository_manifests_load():
    manifests = {m.name: m for m in list_datasets()}
    assert set(manifests) == DOWNLOADABLE | PLACEHOLDERS
    assert {n for n, m in manifests.items() if m.downloadable} == DOWNLOADABLE
    for m in manifests.values():
        assert m.citation and m.licence and m.homepage.startswith("http")
        assert all(f.url.startswith(("http://", "https://")) for f in m.files)
        if not m.downloadable:
            assert m.instructions and all(f.sha256 is None for f in m.files)
    assert len(manifests["mirabest_first_fits"].files) == 39
    assert manifests["rgd"].files[0].extract == "zip"


def test_manifest_folder_is_the_repository_one():
    assert manifest_dir().name == "data_manifests"
    assert (manifest_dir() / "README.md").is_file()


def test_checksums_match_the_shared_data(shared_data):
    """Every downloadable file's sha256 and size agree with the real files in the mirror."""
    sums = {}
    for listing in ("SHA256SUMS", "mirabest_fits_sample.SHA256SUMS"):
        prefix = "mirabest_fits_sample/" if listing.startswith("mirabest_fits") else ""
        for line in (shared_data / listing).read_text().splitlines():
            digest, name = line.split()
            sums[prefix + name] = digest
    for m in list_datasets():
        for f in m.files if m.downloadable else ():
            assert sums[f.mirror] == f.sha256, f.path
            assert (shared_data / f.mirror).stat().st_size == f.size, f.path


def test_get_manifest_unknown_lists_valid_names():
    with pytest.raises(ConfigError, match=r"unknown dataset 'nosuch'; valid names: .*mirabest"):
        get_manifest("nosuch")


def test_env_var_selects_the_manifest_folder(toy):
    assert [m.name for m in list_datasets()] == ["toy"]
    assert get_manifest("toy").files[0].path == "hello.txt"


BAD = [
    ({"drop": "url"}, r"files\[0\]: missing url"),
    ({"url": "zenodo.org/x"}, r"files\[0\]\.url: expected an http\(s\) or ftp URL"),
    ({"sha256": "abc123"}, r"files\[0\]\.sha256: expected 64 lowercase hex digits"),
    ({"sha256": None}, r"sha256 and size are required when downloadable is true"),
    ({"extract": "rar"}, r"files\[0\]\.extract: unknown 'rar'; use one of none, tar, zip"),
    ({"size": -1}, r"files\[0\]\.size: expected a byte count"),
    ({"path": "../escape.txt"}, r"files\[0\]\.path: '\.\./escape\.txt' must be a relative"),
    ({"path": "/etc/passwd"}, r"must be a relative path"),
    ({"mirror": "toy/"}, r"files\[0\]\.mirror: 'toy/' is a folder"),
    ({"colour": "red"}, r"files\[0\]: unknown key\(s\) colour"),
]


@pytest.mark.parametrize(("change", "message"), BAD, ids=[str(c) for c, _ in BAD])
def test_file_entry_validation(toy, change, message):
    entry = toy.entry("hello.txt")
    if "drop" in change:
        del entry[change["drop"]]
    else:
        entry.update(change)
    path = toy.write_manifest(files=[entry])
    with pytest.raises(ConfigError, match=message):
        load_manifest(path)


def test_top_level_validation(toy):
    path = toy.write_manifest()
    doc = yaml.safe_load(path.read_text())
    for change, message in [
        ({"name": "other"}, r"name 'other' must be lower_snake_case and match the file name"),
        ({"downloadable": "yes"}, r"downloadable must be true or false"),
        ({"files": []}, r"'files' must be a non-empty list"),
        ({"title": ""}, r"'title' must be a non-empty string"),
        ({"downloadable": False}, r"needs 'instructions'"),
        ({"extra": 1}, r"unknown key\(s\) extra"),
    ]:
        path.write_text(yaml.safe_dump({**doc, **change}))
        with pytest.raises(ConfigError, match=message):
            load_manifest(path)
    path.write_text(yaml.safe_dump({k: v for k, v in doc.items() if k != "licence"}))
    with pytest.raises(ConfigError, match="missing licence"):
        load_manifest(path)
    path.write_text("files: [unclosed")
    with pytest.raises(ConfigError, match="cannot read manifest"):
        load_manifest(path)


def test_placeholder_may_omit_hashes(toy):
    entry = {**toy.entry("hello.txt"), "sha256": None, "size": None, "path": "folder/"}
    path = toy.write_manifest(files=[entry], downloadable=False,
                              instructions="Ask the authors; put files in folder/.")
    m = load_manifest(path)
    assert not m.downloadable and m.files[0].sha256 is None and "Ask" in m.instructions


def test_manifest_is_frozen():
    m = get_manifest("mirabest")
    with pytest.raises(AttributeError):
        m.name = "x"
    with pytest.raises(TypeError):
        m.layout["x"] = "y"
