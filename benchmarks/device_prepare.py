"""Prepare the GPU device run (`make device-prepare`): everything the GPU machine lacks, as files in the tree.

The lent GPU machine (one H100/H200, 16 cores) has Python 3.12 with torch 2.11 (CUDA 13), numpy, scipy,
matplotlib, tensorboard, pandas, pytest and pytest-xdist, but no internet and no package index. What rl-aug
needs beyond that travels with the working tree (64 MiB in all, tree included):

- `.whl/`: cp312 manylinux wheels of mujoco, dm-control (slimmed: its soccer, walker and dog assets and its
  test models are ~51 MB of a 56 MB wheel and the suite tasks need none of them), gymnasium, shimmy, SB3,
  omegaconf and their missing dependencies, at the versions this repository is tested with;
- `.gl/`: the GL vendor-neutral loader libraries (libEGL, libOpenGL, ...) as Debian packages, which MuJoCo's
  EGL backend loads and the machine's image lacks (the NVIDIA driver itself is mounted there).

Both folders are git-ignored; the device tool carries them (`carry`). The script checks the total against the
limit and prints the command to run there. Wheels are downloaded with pip; the slimming is written here.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WHEELS = ROOT / ".whl"
GL = ROOT / ".gl"
LIMIT_MIB = 64
# What the GPU image lacks, pinned to the versions `make install` resolves here (pip list of .venv, 2026-11-28).
PACKAGES = {
    "mujoco": "3.17.0",
    "dm-control": "1.0.50",
    "dm-env": "1.6",
    "dm-tree": "0.1.10",
    "glfw": "2.11.0",
    "pyopengl": "3.1.10",
    "gymnasium": "1.4.0",
    "farama-notifications": "0.0.6",
    "shimmy": "2.0.1",
    "stable-baselines3": "2.9.2",
    "omegaconf": "2.4.0",
}
PLATFORMS = ["manylinux_2_28_x86_64", "manylinux_2_27_x86_64", "manylinux_2_24_x86_64", "manylinux_2_17_x86_64",
             "manylinux2014_x86_64", "manylinux1_x86_64"]
# dm-control folders the suite never reads (locomotion soccer/walkers, the dog model's assets, test models)
DM_CONTROL_DROP = ("dm_control/locomotion/soccer/", "dm_control/locomotion/walkers/", "dm_control/suite/dog_assets/",
                   "dm_control/mujoco/testing/")
GL_DEBS = ("libegl1", "libglvnd0", "libopengl0", "libgl1", "libglx0", "libgles2")
DEVICE_COMMAND = "bash benchmarks/device.sh"


def download(name: str, version: str) -> None:
    cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
           "--python-version", "3.12", "--implementation", "cp", *[a for p in PLATFORMS for a in ("--platform", p)],
           "-d", str(WHEELS), f"{name}=={version}"]
    subprocess.run(cmd, check=True)


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def slim_wheel(path: Path, drop: tuple[str, ...]) -> tuple[int, int]:
    """Rewrite the wheel without the files under `drop`, with a RECORD that lists what remains."""
    before = path.stat().st_size
    tmp = path.with_suffix(".slim")
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as dst:
        record_name = next(n for n in src.namelist() if n.endswith(".dist-info/RECORD"))
        lines = []
        for info in src.infolist():
            if info.filename.startswith(drop) or info.filename == record_name:
                continue
            data = src.read(info)
            dst.writestr(info, data)
            lines.append(_record_line(info.filename, data))
        dst.writestr(record_name, "\n".join([*lines, f"{record_name},,"]) + "\n")
    tmp.replace(path)
    return before, path.stat().st_size


def fetch_gl_debs() -> None:
    """`apt-get download` the GL loader packages (amd64) into .gl/; needs apt-get (Debian/Ubuntu hosts)."""
    if shutil.which("apt-get") is None:
        print("apt-get not found: .gl/ not made; the device run then relies on the GPU image's own libEGL")
        return
    GL.mkdir(exist_ok=True)
    lists = Path(tempfile.mkdtemp(prefix="rl-aug-apt-"))
    (lists / "partial").mkdir(parents=True, exist_ok=True)
    opts = ["-o", "APT::Architecture=amd64", "-o", "APT::Architectures=amd64", "-o", f"Dir::State::Lists={lists}"]
    subprocess.run(["apt-get", *opts, "-qq", "update"], check=True)
    subprocess.run(["apt-get", *opts, "-qq", "download", *GL_DEBS], check=True, cwd=GL)


def tree_bytes() -> int:
    """What travels besides the carried folders: tracked files and untracked files git does not ignore."""
    out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                         capture_output=True, check=True).stdout
    return sum((ROOT / f).stat().st_size for f in out.decode().split("\0") if f and (ROOT / f).is_file())


def folder_bytes(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) if folder.is_dir() else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-gl", action="store_true", help="skip the GL loader packages")
    args = parser.parse_args()
    if WHEELS.exists():
        shutil.rmtree(WHEELS)
    WHEELS.mkdir()
    for name, version in PACKAGES.items():
        download(name, version)
    dm = next(WHEELS.glob("dm_control-*.whl"))
    before, after = slim_wheel(dm, DM_CONTROL_DROP)
    print(f"dm-control wheel slimmed: {before / 2**20:.1f} MiB -> {after / 2**20:.1f} MiB")
    if GL.exists():
        shutil.rmtree(GL)
    if not args.no_gl:
        fetch_gl_debs()
    sizes = {"tree": tree_bytes(), ".whl": folder_bytes(WHEELS), ".gl": folder_bytes(GL)}
    total = sum(sizes.values())
    for key, value in sizes.items():
        print(f"  {key:<5} {value / 2**20:6.1f} MiB")
    print(f"  total {total / 2**20:6.1f} MiB of the {LIMIT_MIB} MiB that may travel")
    if total > (LIMIT_MIB - 4) * 2**20:
        print(f"too large: keep at least 4 MiB of room under {LIMIT_MIB} MiB", file=sys.stderr)
        return 1
    carry = [".whl", ".gl"] if GL.is_dir() else [".whl"]
    print("\nOn the GPU machine (device tool), one call:")
    print(f"  run(command={DEVICE_COMMAND!r}, carry={carry}, timeout_s=560)")
    print("Results come back under $OUT; bring them home with:\n  python benchmarks/device_results.py FILES_AT")
    return 0


if __name__ == "__main__":
    sys.exit(main())
