"""Whether bf16 is fast on a device: the one hardware test behind every `precision="auto"` (agents, random conv)."""

from __future__ import annotations

import torch


def native_bf16(device: torch.device | str) -> bool:
    """True on a CUDA GPU with bf16 (Ampere or newer) and on a CPU whose oneDNN has bf16 kernels (AVX512-BF16 /
    AMX); elsewhere bf16 is emulated and slower than fp32. Measured on an AVX2-only AMD EPYC (2 cores, one thread):
    a DrQ update at batch 32 took 6.4 CPU-s in bf16 against 0.9 in fp32, random conv at batch 128 0.58 s against
    0.27 s."""
    device = torch.device(device)
    if device.type == "cuda":
        return bool(torch.cuda.is_available() and torch.cuda.is_bf16_supported())
    if device.type == "cpu":
        probe = getattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", None)  # torch's own test of the CPU
        return bool(probe()) if probe is not None else False
    return False
