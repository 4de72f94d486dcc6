#!/usr/bin/env python3
"""Write the bundled model (usenhance_nb/weights/ours_cpu.pt) from a finished training run.

    python bench/bundle_model.py runs/gcnr_probe/72_epochs --data runs/evidence/cross-device/data0/data --made-by "python bench/gcnr_probe.py"

The run is the quick start's *ours* (`cpu` preset, 200 simulated pairs of data set 0 at the cross-device level,
seed 42), trained for as many epochs as the run says (`bench/gcnr_probe.py` measures why longer than the preset's 12).
The file keeps only G_H (what enhancement needs), the run's config (with its millimetres per pixel), the statistics of
its training images, and a `meta` dict saying where it came from and what it scored on its held-out test pairs (the
run's scores file where bench/evidence.py wrote one, else scored here).
"""
import argparse, json, subprocess, sys
from pathlib import Path
import pandas as pd
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from usenhance_nb.checkpoint import BUNDLED_MODEL, load_checkpoint, save_checkpoint

SCORED = ('lp_ssim', 'grain_ratio', 'gcnr', 'lncc', 'ssim', 'psnr', 'texture')


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('run', help='a finished run folder (holds last.pt)')
    ap.add_argument('--out', default=str(BUNDLED_MODEL))
    ap.add_argument('--data', default=None, help="the run's data folder (default: the run folder's sibling data/)")
    ap.add_argument('--made-by', default='python bench/evidence.py (its first run)', help='the command that trained the run')
    a = ap.parse_args()
    run = Path(a.run)
    a.data = Path(a.data) if a.data else run.parent/'data'
    s = load_checkpoint(run/'last.pt')
    cfg = s['config']
    scores = run.parent/'scores'/f'{run.name}.csv'
    base = run.parent/'scores'/f"baselines_{run.name.split('_')[-1]}.csv"
    if scores.exists() and base.exists():
        df = pd.concat([pd.read_csv(scores), pd.read_csv(base)])
    else:   # a run bench/evidence.py did not score: its test pairs, scored now
        from usenhance_nb.evaluate import evaluate_runs
        from evidence import plain_names
        df = pd.DataFrame(evaluate_runs({'ours': run/'last.pt'}, a.data, 'test'))
        df['config'] = plain_names(df['config'])
    df = df[df.reference == 'registered']
    table = {c: {k: round(float(g[k].mean()), 4) for k in SCORED if k in g} for c, g in df.groupby('config')}
    commit = subprocess.run(['git', 'rev-parse', 'HEAD'], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    meta = dict(name=f"ours, cpu preset, {cfg.get('crop') or cfg['image_size']} px patches, {cfg['epochs']} epochs", source=f"G_H of {run}/last.pt (epoch {s['epoch']} of {cfg['epochs']})",
                command=f'{a.made_by}, then python bench/bundle_model.py {run}',
                commit=commit, mm_per_px=cfg.get('mm_per_px'), image_size=cfg['image_size'], crop=cfg.get('crop'),
                data="200 simulated pairs: write_dataset(n_per_organ=40, size=256, seed=0) at the cross-device level "
                     "(0.15 mm per pixel); split by Config(seed=42, val_frac=0.1, test_frac=0.15)",
                scores_registered=table, perceptual=s.get('perceptual'),
                training_seconds=round(float(pd.read_csv(run/'log.csv')['seconds'].sum()), 1))
    g_h = {k[len('g_h.'):]: v for k, v in s['nets'].items() if k.startswith('g_h.')}
    out = dict(g_h=g_h, config=cfg, epoch=s['epoch'], perceptual=s.get('perceptual'), meta=meta)
    if 'data_stats' in s: out['data_stats'] = s['data_stats']
    else:   # a run started before the trainer recorded them: the same statistics of its training images, computed now
        from usenhance_nb.core import Config
        from usenhance_nb.data import get_splits
        from usenhance_nb.trainer import training_statistics
        c = Config(**{k: tuple(v) if isinstance(v, list) else v for k, v in cfg.items()})
        out['data_stats'] = training_statistics(get_splits(a.data, c)['train'], c)
    save_checkpoint(out, a.out)
    print(json.dumps(meta, indent=1))
    print(f"wrote {a.out} ({Path(a.out).stat().st_size / 1e6:.1f} MB)")


if __name__ == '__main__':
    main()
