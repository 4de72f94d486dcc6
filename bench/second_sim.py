"""Check the teaching defaults on a second simulation they were not chosen on: other devices (OTHER_DEVICES: other
PSF, noise, gain, dynamic range), another seed, and one organ held out of training and tested on alone.

    python bench/second_sim.py --out runs/second_sim            # trains ours, cyclegan, pix2pix (cpu preset)

Prints (and writes to OUT/table.md) the test scores against the registered and the acquired high-quality images,
for the four training organs' held-out test pairs and for every pair of the held-out organ."""
import argparse, time
from pathlib import Path
import pandas as pd
from usenhance_nb.core import get_config
from usenhance_nb.data import ORGANS, find_pairs
from usenhance_nb.simulate import OTHER_DEVICES, write_dataset
from usenhance_nb.trainer import Trainer
from usenhance_nb.evaluate import evaluate_method, load_methods, summarize

p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
p.add_argument('--out', default='runs/second_sim'); p.add_argument('--held_out', default='kidney')
p.add_argument('--variants', nargs='+', default=['ours', 'cyclegan', 'pix2pix']); p.add_argument('--preset', default='cpu')
p.add_argument('--n_per_organ', type=int, default=40); p.add_argument('--size', type=int, default=64)
p.add_argument('--seed', type=int, default=1); p.add_argument('--device', default='cpu')
a = p.parse_args()
out, data = Path(a.out), Path(a.out)/'data'
if not (data/'train_datasets').exists():
    write_dataset(data, n_per_organ=a.n_per_organ, size=a.size, seed=a.seed, devices=OTHER_DEVICES)
organs = tuple(o for o in ORGANS if o != a.held_out)
seconds = {}
for v in a.variants:
    t0 = time.time()
    Trainer(get_config(a.preset, v, image_size=a.size, organs=organs), data, out/v, device=a.device, resume=True).fit()
    seconds[v] = time.time() - t0
methods, splits, size = load_methods({v: out/v/'last.pt' for v in a.variants}, data, device=a.device)
held = find_pairs(data, organs=(a.held_out,))
md = [f"# Second simulation: devices {[d.name for d in OTHER_DEVICES]}, seed {a.seed}, {a.size}x{a.size}, "
      f"preset {a.preset}; trained on {organs}", "", f"training seconds: {seconds}", ""]
for part, pairs in ((f'test pairs of the training organs', splits['test']), (f'every {a.held_out} pair (organ never trained on)', held)):
    rows = [r for name, fn in methods.items() for r in evaluate_method(fn, pairs, size, name)]
    for ref in ('registered', 'high'):
        t = summarize(rows, reference=ref).to_markdown()
        md += [f"## {part}, against the {ref} high-quality image", "", t, ""]
        print(md[-4]); print(t)
(out/'table.md').write_text('\n'.join(md))
print(f"\nwritten: {out/'table.md'}")
