"""GPU training throughput and model FLOPs utilisation (MFU) for a Qwen2.5-0.5B-shaped judge.

    python benchmarks/gpu_train_mfu.py                          # H100/H200: bf16, seq 2048, batch 8
    python benchmarks/gpu_train_mfu.py --no-compile --batch 4
    python benchmarks/gpu_train_mfu.py --tiny --device cpu --steps 2   # logic check without a GPU

A random-weight model with Qwen2.5-0.5B's shape (hidden 896, 24 layers, 14 heads / 2 KV heads,
MLP 4864, vocab 151936, tied embeddings) is trained in bf16 (weights, grads and fused AdamW
states in bf16; SDPA attention) on random tokens, the way `codefavor train` runs a classifier,
and then scored as a classifier (one forward pass per prompt, logits at the last position only).
Target on an H100: MFU >= 40%.

Model FLOPs per trained token = 6 * (matmul parameters, with the tied LM head counted once as a
matmul) + 12 * layers * hidden * seq (causal attention counted as half of the full 24*l*h*s,
i.e. only the lower triangle is useful work). MFU = achieved model FLOPs / the card's dense
bf16 peak (H100 SXM 989 TFLOP/s, H200 989, A100 312; override with --peak-tflops).
Classifier pairs/s = prompts of --cls-len tokens scored per second / 2 (both orders).
"""

from __future__ import annotations

import argparse
import json
import time

QWEN25_05B = dict(
    hidden_size=896,
    num_hidden_layers=24,
    num_attention_heads=14,
    num_key_value_heads=2,
    intermediate_size=4864,
    vocab_size=151936,
    max_position_embeddings=32768,
    tie_word_embeddings=True,
    rope_theta=1000000.0,
)
TINY = dict(
    hidden_size=64,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    intermediate_size=128,
    vocab_size=512,
    max_position_embeddings=1024,
    tie_word_embeddings=True,
)
PEAK_TFLOPS = {"H100": 989.0, "H200": 989.0, "GH200": 989.0, "A100": 312.0, "L40S": 362.0, "A10G": 125.0}


def model_flops_per_token(cfg: dict, seq: int) -> float:
    """6N + 12*layers*h*s with N the matmul parameters (attention projections, MLP, LM head)."""
    h, layers, inter = cfg["hidden_size"], cfg["num_hidden_layers"], cfg["intermediate_size"]
    head_dim = h // cfg["num_attention_heads"]
    kv = cfg["num_key_value_heads"] * head_dim
    attn = h * h + 2 * h * kv + h * h  # q, k, v, o
    mlp = 3 * h * inter  # gate, up, down
    n_matmul = layers * (attn + mlp) + cfg["vocab_size"] * h  # + LM head
    return 6 * n_matmul + 12 * layers * h * seq


def peak_tflops(name: str, override: float | None) -> float | None:
    if override:
        return override
    for key, value in PEAK_TFLOPS.items():
        if key in name:
            return value
    return None


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--tiny", action="store_true", help="a tiny shape (CPU logic check)")
    ap.add_argument("--seq", type=int, default=2048)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--compile", dest="compile", action="store_true", default=None)
    ap.add_argument("--no-compile", dest="compile", action="store_false")
    ap.add_argument("--cls-len", type=int, default=768, help="classifier prompt length in tokens")
    ap.add_argument("--cls-batch", type=int, default=64)
    ap.add_argument("--peak-tflops", type=float, default=None)
    args = ap.parse_args(argv)

    import torch
    from transformers import AutoModelForCausalLM, Qwen2Config

    device = torch.device(args.device)
    on_cuda = device.type == "cuda"
    if on_cuda and not torch.cuda.is_available():
        raise SystemExit("no CUDA device; use --device cpu --tiny for a logic check")
    shape = TINY if args.tiny else QWEN25_05B
    seq = min(args.seq, shape["max_position_embeddings"])
    dtype = torch.bfloat16 if on_cuda else torch.float32
    if on_cuda:
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    torch.manual_seed(0)
    cfg = Qwen2Config(**shape, attn_implementation="sdpa", use_cache=False)
    model = AutoModelForCausalLM.from_config(cfg, dtype=dtype).to(device)
    n_params = sum(p.numel() for p in model.parameters())
    opt = torch.optim.AdamW(model.parameters(), lr=1e-5, weight_decay=0.0, fused=on_cuda)
    use_compile = on_cuda if args.compile is None else args.compile
    step_model = torch.compile(model) if use_compile else model

    def sync():
        if on_cuda:
            torch.cuda.synchronize()

    x = torch.randint(0, shape["vocab_size"], (args.batch, seq), device=device)
    # Loss on the last position only, as for a classification judge; the forward/backward cost is the
    # same as full-sequence SFT except for the LM head, which we still count (it is computed).
    labels = torch.full_like(x, -100)
    labels[:, -1] = x[:, -1]
    model.train()
    times = []
    compile_note = None
    for i in range(args.warmup + args.steps):
        sync()
        t = time.perf_counter()
        try:
            loss = step_model(input_ids=x, labels=labels).loss
        except Exception as e:  # one device run is all there is: fall back to eager rather than fail
            if step_model is model:
                raise
            compile_note = f"compile failed, eager instead: {type(e).__name__}: {str(e)[:200]}"
            print(compile_note, flush=True)
            step_model, use_compile = model, False
            opt.zero_grad(set_to_none=True)
            loss = step_model(input_ids=x, labels=labels).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        sync()
        if i >= args.warmup:
            times.append(time.perf_counter() - t)
    step_s = sum(times) / len(times)
    tokens_per_s = args.batch * seq / step_s
    flops_per_s = tokens_per_s * model_flops_per_token(shape, seq)
    name = torch.cuda.get_device_name(device) if on_cuda else "cpu"
    peak = peak_tflops(name, args.peak_tflops)
    mfu = flops_per_s / (peak * 1e12) if peak else None
    peak_mem = torch.cuda.max_memory_allocated(device) / 1024**3 if on_cuda else None

    # Classifier scoring: forward only, last-position logits, inference mode.
    del opt
    model.eval()
    cls_len = min(args.cls_len, shape["max_position_embeddings"])
    prompts = torch.randint(0, shape["vocab_size"], (args.cls_batch, cls_len), device=device)
    cls_times = []
    with torch.inference_mode():
        for i in range(args.warmup + args.steps):
            sync()
            t = time.perf_counter()
            logits = model(input_ids=prompts, logits_to_keep=1).logits[:, -1, :2]
            torch.softmax(logits.float(), -1)
            sync()
            if i >= args.warmup:
                cls_times.append(time.perf_counter() - t)
    prompts_per_s = args.cls_batch / (sum(cls_times) / len(cls_times))
    result = {
        "device": name,
        "shape": "tiny" if args.tiny else "Qwen2.5-0.5B",
        "params": n_params,
        "dtype": str(dtype),
        "compile": use_compile,
        "compile_note": compile_note,
        "batch": args.batch,
        "seq": seq,
        "seconds_per_step": round(step_s, 4),
        "train_tokens_per_s": round(tokens_per_s, 1),
        "model_tflops_per_s": round(flops_per_s / 1e12, 2),
        "peak_tflops": peak,
        "mfu": round(mfu, 4) if mfu is not None else None,
        "peak_memory_gb": round(peak_mem, 2) if peak_mem is not None else None,
        "classifier_prompt_tokens": cls_len,
        "classifier_pairs_per_s": round(prompts_per_s / 2, 2),
    }
    print(
        f"{name}: {result['shape']} ({n_params / 1e6:.0f}M params, {result['dtype']}, compile={use_compile}) "
        f"train {tokens_per_s:,.0f} tokens/s ({step_s * 1000:.1f} ms/step at {args.batch}x{seq}), "
        f"{result['model_tflops_per_s']} TFLOP/s, MFU {'n/a' if mfu is None else f'{mfu:.1%}'}; "
        f"classifier {result['classifier_pairs_per_s']} pairs/s at {cls_len} tokens per prompt"
    )
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
