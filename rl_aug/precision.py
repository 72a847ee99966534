"""Whether bf16 is fast on a device: the one hardware test behind every `precision="auto"` (agents, random conv)."""

from __future__ import annotations

import torch


def native_bf16(device: torch.device | str) -> bool:
    """True on a CUDA GPU with bf16 (Ampere or newer) and on a CPU whose oneDNN has bf16 kernels (AVX512-BF16 /
    AMX); elsewhere bf16 is emulated and several times slower than fp32 (an update and random conv measured on an
    AVX2-only CPU: see BENCHMARKS.md, the CPU note at its top)."""
    device = torch.device(device)
    if device.type == "cuda":
        return bool(torch.cuda.is_available() and torch.cuda.is_bf16_supported())
    if device.type == "cpu":
        probe = getattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", None)  # torch's own test of the CPU
        return bool(probe()) if probe is not None else False
    return False
