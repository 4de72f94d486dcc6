"""Train the perceptual loss's bundled ultrasound backbone (usenhance_nb/weights/us_backbone.pt) on the CPU.

    python bench/train_backbone.py [--out PATH] [--steps 600] [--seed 0]

Run it from the root of a clean checkout: the file records the commit, and whether the backbone's code or the
simulator differed from it. It takes 1-2 minutes on 2 CPU cores (one torch thread; the simulator uses two).
Appendix A4_backbone explains the network, the data and the augmentations; weights/README.md records the run
that produced the committed file.
"""
import argparse, json, shlex, sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's package, not another installed copy
from usenhance_nb.backbone import BUNDLED_BACKBONE, train_backbone


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--out', default=str(BUNDLED_BACKBONE), help='file to write (default: the bundled weights)')
    ap.add_argument('--steps', type=int, default=600)
    ap.add_argument('--seed', type=int, default=0)
    a = ap.parse_args()
    meta = train_backbone(a.out, steps=a.steps, seed=a.seed, command='python ' + shlex.join(sys.argv))
    print(json.dumps({k: v for k, v in meta.items() if not k.endswith('_seeds')}, indent=1))


if __name__ == '__main__':
    main()
