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
