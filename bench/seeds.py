#!/usr/bin/env python3
"""How much of a difference between two configurations is run-to-run noise: the quick start's *ours* and CycleGAN
trained with several seeds on the same simulated data, each scored on its own seed's test split.

    python bench/seeds.py --out runs/seeds                   # seeds 42 (the quick start's), 1, 2: about 20 min on 2 cores
    python bench/seeds.py --out runs/seeds --seeds 42 1 2 3 --variants ours cyclegan pix2pix

The seed of a `Config` draws the split, the initial weights and the augmentation, so each seed is a fresh run on a
different test split; the comparison that counts is the *paired* one: ours minus CycleGAN on the same seed's split.
Prints, per seed, the mean LNCC / SSIM / PSNR / texture distance of each configuration against the registered truth,
then over seeds the mean and standard deviation of each configuration and of each paired difference. Resumable:
finished runs are reused. Not part of the test suite; results in `results/seeds.md`. Superseded for the README by `bench/evidence.py`, which
trains the same runs plus the ceiling, scores the region measures too, runs the misregistration sweep with seeds and
writes `nbs/results/evidence.json`; this script stays for a quick look at run-to-run variation of any variants.
"""
import argparse, os, warnings
os.environ.setdefault('USENHANCE_OFFLINE', '1')
from pathlib import Path
import numpy as np
import pandas as pd

from usenhance_nb.core import get_config
from usenhance_nb.simulate import write_dataset
from usenhance_nb.trainer import Trainer
from usenhance_nb.evaluate import evaluate_runs

METRICS = ('lncc', 'ssim', 'psnr', 'texture')

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--out', default='runs/seeds')
    ap.add_argument('--seeds', type=int, nargs='+', default=[42, 1, 2])
    ap.add_argument('--variants', nargs='+', default=['ours', 'cyclegan', 'pix2pix'])
    ap.add_argument('--preset', default='cpu')
    a = ap.parse_args()
    out = Path(a.out); data = out/'data'
    if not (data/'train_datasets').exists(): write_dataset(data, n_per_organ=40, size=64, seed=0)  # the quick start's data
    per_seed = []
    for seed in a.seeds:
        runs = {}
        for v in a.variants:
            run = out/f'{v}_seed{seed}'
            with warnings.catch_warnings():
                warnings.simplefilter('ignore')
                Trainer(get_config(a.preset, v, seed=seed), data, run, resume=True).fit()
            runs[v] = run/'last.pt'
        df = pd.DataFrame(evaluate_runs(runs, data, 'test', baselines=False))
        m = df[df.reference == 'registered'].groupby('config')[list(METRICS)].mean()
        m['seed'] = seed
        per_seed.append(m.reset_index())
        print(f'seed {seed}:\n{m.round(3).to_string()}\n', flush=True)
    allm = pd.concat(per_seed)
    lines = [f'# Run-to-run variation: {", ".join(a.variants)} ({a.preset} preset) over seeds {a.seeds}', '',
             'Each seed draws its own split, initial weights and augmentation; scores against the registered truth on '
             "that seed's test split (30 pairs), mean over images. Data: the quick start's 200 simulated pairs.", '',
             '## Per seed', '', allm.set_index(['seed', 'config']).round(3).to_markdown(), '',
             '## Over seeds: mean ± std (std with ddof=1)', '']
    agg = allm.groupby('config')[list(METRICS)].agg(['mean', 'std'])
    rows = {c: {k: f"{agg.loc[c, (k, 'mean')]:.3f} ± {agg.loc[c, (k, 'std')]:.3f}" for k in METRICS} for c in agg.index}
    lines += [pd.DataFrame(rows).T.to_markdown(), '']
    if 'ours' in a.variants:
        lines += ['## Paired differences, ours minus each other configuration (same seed, same split)', '']
        piv = allm.set_index(['seed', 'config'])
        diffs = {}
        for other in [v for v in a.variants if v != 'ours']:
            d = pd.DataFrame({k: [piv.loc[(s, 'ours'), k] - piv.loc[(s, other), k] for s in a.seeds] for k in METRICS}, index=a.seeds)
            diffs[f'ours - {other}'] = {k: f"{d[k].mean():+.3f} ± {d[k].std(ddof=1):.3f} (per seed: {', '.join(f'{x:+.3f}' for x in d[k])})" for k in METRICS}
        lines += [pd.DataFrame(diffs).T.to_markdown(), '']
    text = '\n'.join(lines)
    (out/'seeds.md').write_text(text); print(text)

if __name__ == '__main__':
    main()
