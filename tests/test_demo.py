import imageio.v3 as iio

from rl_aug.cli import main
from rl_aug.cli.demo import GALLERY_SPECS


def test_demo_writes_a_gallery_and_report_in_a_new_directory_each_run(tmp_path):
    args = ["demo", "--out", str(tmp_path), "--steps", "2", "--samples", "2", "--speed-repeats", "0"]
    assert main(args) == 0
    assert main(args) == 0
    runs = sorted(p for p in tmp_path.iterdir() if p.is_dir())
    assert len(runs) == 2, "a second demo run must not overwrite the first"
    image = iio.imread(runs[0] / "augmentations.png")
    assert image.ndim == 3 and image.shape[0] > image.shape[1]  # one row per spec
    report = (runs[0] / "report.md").read_text()
    assert "(9, 84, 84) uint8" in report
    for spec in GALLERY_SPECS:
        assert f"`{spec}`" in report


def test_a_one_column_gallery_keeps_its_row_labels(tmp_path):
    """--samples 1 was an IndexError (matplotlib's 1-D axes), then a picture whose row labels were cut off
    (tight_layout gave up): now a whole picture, the longest label inside it, without a layout warning."""
    import warnings

    import numpy as np

    from rl_aug.cli.demo import write_gallery

    obs = np.random.default_rng(0).integers(0, 256, (9, 84, 84), dtype=np.uint8)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        write_gallery(obs, tmp_path / "one.png", 1, 0)
        write_gallery(obs, tmp_path / "two.png", 2, 0)
    one, two = iio.imread(tmp_path / "one.png"), iio.imread(tmp_path / "two.png")
    assert one.shape[0] > one.shape[1] and one.shape[0] == two.shape[0]
    ink = (one[..., :3] < 128).any(axis=(0, 2))  # columns with dark pixels (text, image borders)
    assert ink[:3].sum() == 0  # a margin left of the longest label: nothing is cut at the edge
