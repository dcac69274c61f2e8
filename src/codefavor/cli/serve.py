"""`codefavor serve`: a local model (OpenAI-compatible chat) and judges over HTTP."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from codefavor.cli.options import ApiKey, BaseUrl, NoCache


def serve(
    model: Annotated[
        Optional[str], typer.Option(help="Local model (HF folder, hub id or .gguf) for /v1/chat/completions.")
    ] = None,
    judge: Annotated[
        Optional[list[str]], typer.Option(help="Judge spec to serve on /v1/judge (repeatable; first is default).")
    ] = None,
    host: Annotated[str, typer.Option(help="Address to listen on; non-loopback needs --token.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port, 0 to 65535 (0 picks a free one and prints it).")] = 8000,
    token: Annotated[
        Optional[str], typer.Option(envvar="CODEFAVOR_SERVE_TOKEN", help="Bearer token clients must send.")
    ] = None,
    model_name: Annotated[Optional[str], typer.Option(help="Model id in the API (default: folder name).")] = None,
    dtype: Annotated[str, typer.Option(help="auto, float32, bfloat16 or float16.")] = "auto",
    device: Annotated[str, typer.Option(help="auto, cpu, cuda, cuda:1, mps.")] = "auto",
    batch_size: Annotated[int, typer.Option(help="Chat requests generated together.")] = 8,
    max_tokens: Annotated[Optional[int], typer.Option(help="Cap on max_tokens per request.")] = None,
    max_concurrent: Annotated[int, typer.Option(help="Requests admitted at once; more get 429.")] = 64,
    max_body_mb: Annotated[float, typer.Option(help="Largest request body, MiB; larger gets 413.")] = 4.0,
    cache_chat: Annotated[bool, typer.Option(help="Cache the served model's chat answers.")] = False,
    base_url: BaseUrl = None,
    api_key: ApiKey = None,
    no_cache: NoCache = False,
) -> None:
    """Serve a local model (OpenAI-compatible) and judges over HTTP, until SIGTERM (exit 0) or Ctrl-C."""
    from codefavor.backends import backend_options
    from codefavor.errors import MissingExtraError

    try:
        from codefavor import server
    except ImportError as e:
        raise MissingExtraError("serve", e.name or "fastapi") from None
    server.serve(
        model=model, judges=judge or (), host=host, port=port, token=token, model_name=model_name, dtype=dtype,
        device=device, batch_size=batch_size, max_tokens=max_tokens, max_concurrent=max_concurrent,
        max_body_mb=max_body_mb, cache_chat=cache_chat, judge_options=backend_options(base_url, api_key, no_cache),
        on_listening=lambda url: typer.echo(f"codefavor serve: listening on {url}", err=True),
    )  # fmt: skip
