"""One model with the same weights in both engines: a (quantized) GGUF dequantized by transformers,
as `hf-cls` loads it, and written back as an f32 GGUF for llama.cpp's server. Comparing the served
classifier with the in-process one on this file measures the scoring path alone, not llama.cpp's
quantized kernels (`benchmarks/cls_served_vs_inprocess.py --model OUT`).

    PYTHONPATH=src python benchmarks/gguf_f32.py --model qwen2.5-coder-0.5b-gguf --out qwen-f32.gguf

The writer is llama.cpp's own `convert_hf_to_gguf.py --outtype f32`, from the llama-cpp-python
sdist's vendored llama.cpp: `--llama-src DIR` (the sdist's top folder), else the one `make
llama-server` unpacked under .venv/src, else the sdist is fetched with `pip download` (a package
registry, not a model hub) into a temporary folder. Takes about a minute and 3 GB of memory for the
0.5B model.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

SDIST = "llama-cpp-python==0.3.36"  # the version `make real-models` builds: its converter knows its own GGUF
UNPACKED = Path(".venv/src/llama-cpp-python/llama_cpp_python-0.3.36")


def llama_src(given: str | None, scratch: Path) -> Path:
    """The llama-cpp-python sdist folder holding vendor/llama.cpp/convert_hf_to_gguf.py."""
    if given:
        return Path(given)
    if (UNPACKED / "vendor/llama.cpp/convert_hf_to_gguf.py").is_file():
        return UNPACKED
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "-q",
            "--no-deps",
            "--no-binary",
            ":all:",
            "-d",
            str(scratch),
            SDIST,
        ],
        check=True,
    )
    (tarball,) = scratch.glob("llama_cpp_python-*.tar.gz")
    subprocess.run(["tar", "-xzf", str(tarball), "-C", str(scratch)], check=True)
    (top,) = [p for p in scratch.iterdir() if p.is_dir()]
    return top


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, help="a GGUF path or an alias of codefavor.models.MODEL_ALIASES")
    ap.add_argument("--out", required=True, help="the f32 GGUF to write")
    ap.add_argument("--llama-src", help="the llama-cpp-python sdist folder (default: .venv/src's, else pip download)")
    args = ap.parse_args()

    from codefavor.models import convert_gguf, resolve_model_alias

    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        src = llama_src(args.llama_src, scratch / "sdist")
        hf = convert_gguf(resolve_model_alias(args.model), scratch / "hf", dtype="float32")
        vendored = src / "vendor/llama.cpp"
        # the vendored gguf-py: the converter and its gguf writer come from one llama.cpp revision
        env = {**os.environ, "PYTHONPATH": str(vendored / "gguf-py"), "HF_HUB_OFFLINE": "1"}
        cmd = [
            sys.executable,
            str(vendored / "convert_hf_to_gguf.py"),
            str(hf),
            "--outtype",
            "f32",
            "--outfile",
            args.out,
        ]
        subprocess.run(cmd, check=True, env=env)
    print(args.out)


if __name__ == "__main__":
    main()
