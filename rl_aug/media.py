"""Reading images and videos from disk into uint8 arrays, decoded once and cached.

Shared by the overlay image sources (rl_aug.augment.sources) and the video-background shift
(rl_aug.wrappers). Decoding uses imageio (ffmpeg plugin for videos); resizing uses torch's antialiased
bilinear interpolation so no OpenCV or torchvision is needed.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp")
VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".gif")


def list_media(directory: str | Path, suffixes: tuple[str, ...]) -> list[Path]:
    """Sorted files under `directory` (recursively) whose suffix is in `suffixes`.

    Raises FileNotFoundError naming the directory when it is missing or holds no such file.
    """
    root = Path(directory).expanduser()
    if not root.is_dir():
        raise FileNotFoundError(f"expected a directory of media files, got {str(root)!r}, which does not exist")
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in suffixes and p.is_file())
    if not files:
        raise FileNotFoundError(f"expected files ending in {', '.join(suffixes)} under {str(root)!r}, found none")
    return files


def resize_hwc(frames: np.ndarray, size: int | tuple[int, int]) -> np.ndarray:
    """Resize uint8 (T, H, W, 3) or (H, W, 3) frames to `size` (int: square) with antialiased bilinear."""
    height, width = (size, size) if isinstance(size, int) else size
    single = frames.ndim == 3
    batch = frames[None] if single else frames
    if batch.shape[1:3] == (height, width):
        return frames
    x = torch.from_numpy(np.ascontiguousarray(batch)).permute(0, 3, 1, 2).float()
    x = F.interpolate(x, size=(height, width), mode="bilinear", antialias=True, align_corners=False)
    out = x.round_().clamp_(0, 255).to(torch.uint8).permute(0, 2, 3, 1).contiguous().numpy()
    return out[0] if single else out


@functools.lru_cache(maxsize=64)
def read_video(path: str, size: int | tuple[int, int] | None = None, max_frames: int | None = None) -> np.ndarray:
    """All frames (T, H, W, 3) uint8 of a video, optionally resized; cached per (path, size, max_frames)."""
    import imageio.v3 as iio

    frames = []
    try:
        for i, frame in enumerate(iio.imiter(path, plugin="pyav" if _has_pyav() else None)):
            if max_frames is not None and i >= max_frames:
                break
            frames.append(np.asarray(frame)[..., :3])
    except (OSError, ValueError, RuntimeError) as exc:  # plugin-specific errors for damaged or non-video files
        raise ValueError(f"cannot read the video {path!r} ({type(exc).__name__}: {str(exc).splitlines()[0][:120]}); "
                         "remove or replace the damaged file") from None
    if not frames:
        raise ValueError(f"expected a video with at least one frame, got none from {path!r}")
    video = np.stack(frames)
    return resize_hwc(video, size) if size is not None else video


@functools.lru_cache(maxsize=256)
def read_image(path: str, size: int | tuple[int, int] | None = None) -> np.ndarray:
    """One image (H, W, 3) uint8, optionally resized; cached per (path, size)."""
    import imageio.v3 as iio

    try:
        image = np.asarray(iio.imread(path))
    except (OSError, ValueError, RuntimeError) as exc:  # plugin-specific errors (PIL's are OSErrors)
        raise ValueError(f"cannot read the image {path!r} ({type(exc).__name__}: {str(exc).splitlines()[0][:120]}); "
                         "remove or replace the damaged file") from None
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=2)
    image = image[..., :3]
    return resize_hwc(image, size) if size is not None else image


@functools.lru_cache(maxsize=1)
def _has_pyav() -> bool:
    try:
        import av  # noqa: F401
    except ImportError:
        return False
    return True
