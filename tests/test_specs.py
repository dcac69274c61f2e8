"""Spec strings: the one splitter, the spec comparison, option checks, and where the loaders use them."""

from __future__ import annotations

import pytest

from codefavor.backends import (
    Sampling,
    Spec,
    backend_options,
    check_options,
    load_backend,
    same_backend_spec,
    split_spec,
)
from codefavor.backends.fake import FakeBackend
from codefavor.errors import CodefavorError
from codefavor.judges import judge_backend_spec, load_judge

SPECS = [
    # spec, then (kind, arg, fallback)
    ("fake:echo", ("fake", "echo", None)),
    ("fake", ("fake", "", None)),
    ("fake:", ("fake", "", None)),
    ("fake:const=VERDICT: Candidate A is better.", ("fake", "const=VERDICT: Candidate A is better.", None)),
    ("fake:cycle=A+B|C", ("fake", "cycle=A+B|C", None)),
    ("openai:gpt-4o-mini", ("openai", "gpt-4o-mini", None)),
    ("openai:ft:gpt-4o:org::id", ("openai", "ft:gpt-4o:org::id", None)),
    ("hf:Qwen/Qwen2.5-Coder-0.5B-Instruct", ("hf", "Qwen/Qwen2.5-Coder-0.5B-Instruct", None)),
    ("hf-cls:/path/with:colon", ("hf-cls", "/path/with:colon", None)),
    ("hf-cls:/models/a+b", ("hf-cls", "/models/a+b", None)),
    ("hf-gen:C:\\models\\judge", ("hf-gen", "C:\\models\\judge", None)),
    ("gen:openai:MODEL", ("gen", "openai:MODEL", None)),
    ("gen:hf:out/judge", ("gen", "hf:out/judge", None)),
    ("random:7", ("random", "7", None)),
    ("shorter", ("shorter", "", None)),
    ("evidence", ("evidence", "", None)),
    ("evidence+none", ("evidence", "", "none")),
    ("evidence+gen:openai:MODEL", ("evidence", "", "gen:openai:MODEL")),
    ("evidence+hf-cls:/path/with:colon", ("evidence", "", "hf-cls:/path/with:colon")),
    ("evidence + shorter ", ("evidence", "", "shorter")),
    ("  openai:m  ", ("openai", "m", None)),
    ("evidence+", ("evidence", "", "")),
    ("", ("", "", None)),
]


@pytest.mark.parametrize(("spec", "parts"), SPECS)
def test_split_spec(spec, parts):
    got = split_spec(spec)
    assert isinstance(got, Spec) and tuple(got) == parts


@pytest.mark.parametrize(
    "spec", ["fake:echo", "gen:openai:MODEL", "hf-cls:/path/with:colon", "evidence+gen:openai:MODEL", "shorter"]
)
def test_split_spec_gives_the_spec_back(spec):
    assert str(split_spec(spec)) == spec
    assert str(split_spec(f"  {spec} ")) == spec


def test_split_spec_canonical_form():
    assert str(split_spec("evidence + shorter ")) == "evidence+shorter"
    assert str(split_spec("fake:")) == "fake"


def test_nested_specs_split_again():
    hybrid = split_spec("evidence+gen:openai:org/model:v2")
    assert hybrid.kind == "evidence" and hybrid.fallback is not None
    outer = split_spec(hybrid.fallback)
    assert outer == ("gen", "openai:org/model:v2", None)
    assert split_spec(outer.arg) == ("openai", "org/model:v2", None)


def test_judge_backend_spec():
    assert judge_backend_spec("gen:openai:MODEL") == "openai:MODEL"
    assert judge_backend_spec("hf-gen:/path/with:colon") == "hf:/path/with:colon"
    assert judge_backend_spec("gen:fake:echo") == "fake:echo"
    for spec in ("hf-cls:/m", "evidence+gen:openai:M", "shorter", "gen:", "random:1"):
        assert judge_backend_spec(spec) is None


def test_same_backend_spec(tmp_path):
    (tmp_path / "judge").mkdir()
    assert same_backend_spec("hf:x", "hf:x") and same_backend_spec(" hf:x", "hf:x ")
    assert not same_backend_spec("hf:x", "openai:x") and not same_backend_spec("hf:x", "hf:y")
    assert same_backend_spec(f"hf:{tmp_path}/judge/", f"hf:{tmp_path}/./judge")
    assert not same_backend_spec(f"hf:{tmp_path}/judge", f"hf:{tmp_path}/other")


def test_load_backend_reads_specs_through_the_splitter():
    echo = load_backend("fake:echo")
    assert echo.spec == "fake:echo" and isinstance(echo, FakeBackend) and echo.model == "echo"
    const = load_backend("fake:const=VERDICT: Candidate A is better.")
    (gen,) = const.generate([[{"role": "user", "content": "?"}]], Sampling())
    assert gen.text == "VERDICT: Candidate A is better."
    for bad, msg in [
        ("openai:", "has no model"),
        ("hf", "has no model"),
        ("fake+x", "only judge specs"),
        ("nope:x", "unknown backend spec"),
    ]:
        with pytest.raises(CodefavorError, match=msg):
            load_backend(bad)


def test_load_judge_reads_specs_through_the_splitter():
    assert load_judge("gen:fake:echo").spec == "gen:fake:echo"
    assert load_judge(" random:3 ").spec.startswith("random")
    for bad in ("shorter+longer", "gen:", "hf-cls", "random:x", "nope"):
        with pytest.raises(CodefavorError):
            load_judge(bad)


def test_check_options_lists_what_the_constructor_declares():
    def build(model: str, *, base_url: str | None = None, cache: bool = True, **unknown: object) -> None: ...

    check_options("x:m", {"base_url": "u"}, build)
    with pytest.raises(CodefavorError, match=r"unknown option\(s\) \['cahce'\] for 'x:m'; expected base_url, cache$"):
        check_options("x:m", {"cahce": False}, build)


def test_backend_options_only_holds_what_was_set():
    assert backend_options() == {}
    assert backend_options("http://h/v1", None, True) == {"base_url": "http://h/v1", "cache": False}
    assert backend_options(api_key="k") == {"api_key": "k"}


def test_served_judges_share_the_served_backend(tmp_path):
    pytest.importorskip("fastapi")
    from codefavor.judges.generative import GenerativeJudge
    from codefavor.server import load_served_judges

    class Served(FakeBackend):
        pass

    (tmp_path / "m").mkdir()
    served = Served(fn=lambda m: "VERDICT: Candidate A is better.", spec=f"hf:{tmp_path}/m")
    judges = load_served_judges(
        [f"hf-gen:{tmp_path}/m", f"gen:hf:{tmp_path}/m/", "shorter", "gen:fake:echo"], served, max_tokens_cap=64
    )
    for spec in (f"hf-gen:{tmp_path}/m", f"gen:hf:{tmp_path}/m/"):
        j = judges[spec]
        assert isinstance(j, GenerativeJudge) and j.backend is served and j.sampling.max_tokens == 64
        assert j.spec == f"hf-gen:{tmp_path}/m"
    assert judges["gen:fake:echo"].backend is not served  # type: ignore[attr-defined]
    assert list(judges) == [f"hf-gen:{tmp_path}/m", f"gen:hf:{tmp_path}/m/", "shorter", "gen:fake:echo"]
    assert load_served_judges([f"hf-gen:{tmp_path}/m"], served)[f"hf-gen:{tmp_path}/m"].sampling.max_tokens == 1024  # type: ignore[attr-defined]
