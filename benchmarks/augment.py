"""Speed of rl_aug.augment against reference implementations written here, on the same inputs.

References (written for this benchmark from the papers' descriptions, not copied):
- shift, DrQ-v2 style: float conversion, replicate pad, a base grid plus per-sample integer shifts, grid_sample.
- shift, DMC-GB style: float, replicate pad, kornia.augmentation.RandomCrop back to H x W.
- random_conv, DMC-GB style: a Python loop over the batch, one conv2d per sample.
- floor: a plain memory copy of the input (x.clone()).

Usage: python benchmarks/augment.py [--batches 128 256] [--repeats 20] [--threads N]
Prints ms per call and ratios; writes benchmarks/results/augment-<host>.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import socket
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F

from rl_aug import augment as A


def drqv2_shift(x: torch.Tensor, pad: int = 4) -> torch.Tensor:
    n, _, h, w = x.shape
    xp = F.pad(x.float(), (pad,) * 4, mode="replicate")
    eps = 1.0 / (h + 2 * pad)
    arange = torch.linspace(-1.0 + eps, 1.0 - eps, h + 2 * pad, device=x.device)[:h]
    base = torch.stack(torch.meshgrid(arange, arange, indexing="xy"), -1).unsqueeze(0).expand(n, h, w, 2)
    shift = torch.randint(0, 2 * pad + 1, (n, 1, 1, 2), device=x.device).float() * 2.0 / (h + 2 * pad)
    return F.grid_sample(xp, base + shift, padding_mode="zeros", align_corners=False)


def make_kornia_shift(h: int, w: int, pad: int = 4) -> Callable[[torch.Tensor], torch.Tensor]:
    import kornia.augmentation as K

    crop = K.RandomCrop((h, w))

    def shift(x: torch.Tensor) -> torch.Tensor:
        return crop(F.pad(x.float(), (pad,) * 4, mode="replicate"))

    return shift


def loop_conv(x: torch.Tensor) -> torch.Tensor:
    n, c, h, w = x.shape
    xf = x.float() / 255.0
    out = []
    for i in range(n):
        weight = torch.randn(3, 3, 3, 3, device=x.device)
        frames = F.pad(xf[i].view(c // 3, 3, h, w), (1, 1, 1, 1), mode="replicate")
        out.append(torch.sigmoid(F.conv2d(frames, weight)).view(c, h, w))
    return torch.stack(out) * 255.0


def time_ms(fn: Callable[[], object], repeats: int, device: torch.device) -> float:
    """Median wall time of `fn` in ms over `repeats` calls after two warm-up calls."""
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    for _ in range(2):
        fn()
    sync()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        sync()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def run(batch: int, repeats: int, device: torch.device) -> dict[str, float]:
    g = torch.Generator(device=device).manual_seed(0)
    x = torch.randint(0, 256, (batch, 9, 84, 84), dtype=torch.uint8, device=device, generator=g)
    big = torch.randint(0, 256, (batch, 9, 100, 100), dtype=torch.uint8, device=device, generator=g)
    try:
        kornia_shift = make_kornia_shift(84, 84)
    except ImportError:  # kornia is a dev extra; the GPU machine's device run has none
        kornia_shift = None
    cases: dict[str, Callable[[], object]] = {
        "floor: memory copy": lambda: x.clone(),
        "shift: rl_aug (uint8)": lambda: A.random_shift(x, 4, generator=g),
        "shift: rl_aug (float)": lambda: A.random_shift(x.float(), 4, generator=g),
        "shift: DrQ-v2 grid_sample ref": lambda: drqv2_shift(x),
        "shift: DMC-GB kornia ref": lambda: kornia_shift(x),
        "conv: rl_aug": lambda: A.random_conv(x, generator=g),
        "conv: per-sample loop ref": lambda: loop_conv(x),
        "crop 100->84: rl_aug": lambda: A.random_crop(big, 84, generator=g),
        "overlay: rl_aug (procedural)": lambda: A.random_overlay(x, 0.5, generator=g),
        "color_jitter: rl_aug": lambda: A.color_jitter(x, generator=g),
        "cutout: rl_aug": lambda: A.cutout(x, generator=g),
        "rotate: rl_aug": lambda: A.random_rotate(x, generator=g),
    }
    if kornia_shift is None:
        del cases["shift: DMC-GB kornia ref"]
    return {name: time_ms(fn, repeats, device) for name, fn in cases.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, nargs="+", default=[128, 256])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    machine = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or platform.machine()
    results: dict[str, object] = {
        "host": socket.gethostname(),
        "device": str(device),
        "machine": machine,
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "input": "uint8 (N, 9, 84, 84); crop input (N, 9, 100, 100)",
        "batches": {},
    }
    for batch in args.batches:
        ms = run(batch, args.repeats, device)
        ratios = {
            "shift vs DrQ-v2 grid_sample (x faster)": ms["shift: DrQ-v2 grid_sample ref"] / ms["shift: rl_aug (uint8)"],
            "shift vs DMC-GB kornia (x faster)": (ms["shift: DMC-GB kornia ref"] / ms["shift: rl_aug (uint8)"]
                                                  if "shift: DMC-GB kornia ref" in ms else float("nan")),
            "shift / memory copy (x slower)": ms["shift: rl_aug (uint8)"] / ms["floor: memory copy"],
            "conv vs per-sample loop (x faster)": ms["conv: per-sample loop ref"] / ms["conv: rl_aug"],
        }
        results["batches"][str(batch)] = {"ms": ms, "ratios": ratios}
        print(f"\nbatch {batch} on {device} ({machine}, {torch.get_num_threads()} threads)")
        for name, value in ms.items():
            print(f"  {name:<34} {value:9.3f} ms")
        for name, value in ratios.items():
            print(f"  {name:<40} {value:7.2f}")
    out = args.out or Path(__file__).resolve().parent / "results" / f"augment-{socket.gethostname()}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
