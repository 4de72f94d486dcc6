#!/usr/bin/env python3
"""The evidence behind the README's tables, from one command.

    python bench/evidence.py                  # the published run: seeds 42 1 2, levels none / cross-device / large
    python bench/evidence.py --fast           # a quick look: seed 42, cross-device only (no ranking: the rule needs 3 seeds)
    python bench/evidence.py --seeds 42 1 2 3 --levels none small cross-device large

What it does, resumably (finished runs and scored seeds in --out are reused, so an interrupted run continues):
1. simulates the quick start's data (200 pairs, 40 per organ, 64x64, simulator seed 0, with region maps) at every
   misregistration level; the cross-device level *is* the quick start's data;
2. trains ours, the CycleGAN without perceptual loss and pix2pix at every level, and the ceiling (the same generator
   supervised with L1 + perceptual on the registered truth) at the cross-device level, with the `cpu` preset, once
   per seed;
3. scores each seed's test split with the input and tuned non-local means, against the registered truth and the
   acquired high-quality image: LNCC, SSIM, PSNR, texture distance, CNR, gCNR, speckle SNR, edge width;
4. writes nbs/results/evidence.json (per-seed means of the cross-device comparison and of the sweep, with the
   command, seeds, wall-clock and git commit) and nbs/results/sweep.csv (per-image scores of the sweep), and prints
   the README's tables (`usenhance_nb.evaluate.evidence_tables`) and its wall-clock.
Not part of the test suite: notebooks 10_misregistration and 11_evaluate read the committed files.
"""
import argparse, hashlib, json, os, platform, shutil, subprocess, sys, tempfile, time, warnings
os.environ.setdefault('USENHANCE_OFFLINE', '1')
from pathlib import Path
import numpy as np
import pandas as pd

from usenhance_nb.data import REGIONS
from usenhance_nb.simulate import as_misregistration, write_dataset
from usenhance_nb.sweep import SCORES, run_sweep
from usenhance_nb.evaluate import ORDER, evidence_tables

ROOT = Path(__file__).resolve().parent.parent
MAIN_LEVEL, DATA = 'cross-device', dict(n_per_organ=40, size=64, data_seed=0)   # the quick start's data
VARIANTS, CEILING = ('pix2pix', 'cyclegan', 'ours'), 'ceiling'


def _digest(folder: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(folder.rglob('*.png')): h.update(p.relative_to(folder).as_posix().encode()); h.update(p.read_bytes())
    return h.hexdigest()


def ensure_regions(data: Path, level: str):
    "Add region maps to a data folder simulated before the simulator wrote them, checking that every image is unchanged."
    organs = [d for d in (data/'train_datasets').iterdir() if d.is_dir()]
    if all((o/REGIONS).is_dir() for o in organs): return
    with tempfile.TemporaryDirectory() as tmp:
        fresh = write_dataset(Path(tmp)/'d', n_per_organ=DATA['n_per_organ'], size=DATA['size'], seed=DATA['data_seed'],
                              misreg=as_misregistration(level), progress=False)
        for o in organs:
            new = fresh/'train_datasets'/o.name
            for sub in [s.name for s in o.iterdir() if s.is_dir()]:
                if _digest(o/sub) != _digest(new/sub):
                    sys.exit(f"{o/sub}: the simulator now writes different images; delete {data.parent} and rerun")
            shutil.copytree(new/REGIONS, o/REGIONS)
    print(f"added region maps to {data} (images unchanged)", flush=True)


def per_seed(df: pd.DataFrame, keys) -> list:
    "Per-seed means over images (and the number of images) of every score, as records."
    ks = [k for k in SCORES if k in df]
    g = df.groupby(list(keys) + ['seed'], sort=False)
    m = g[ks].mean().join(g.size().rename('n')).reset_index()
    m['order'] = m['config'].map(lambda c: ORDER.index(c) if c in ORDER else len(ORDER))
    m = m.sort_values(['reference', 'order'], key=lambda s: s.map({'registered': 0, 'high': 1}) if s.name == 'reference' else s,
                      kind='stable').drop(columns='order')
    return json.loads(m.to_json(orient='records', double_precision=6))


def train_minutes(out: Path, levels, seeds) -> float:
    "Training time the runs' own logs record (sum of their epochs' seconds), in minutes."
    logs = [out/l/f'{v}_seed{s}'/'log.csv' for l in levels for s in seeds for v in VARIANTS + ((CEILING,) if l == MAIN_LEVEL else ())]
    return sum(pd.read_csv(p)['seconds'].sum() for p in logs if p.exists()) / 60


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--out', default='runs/evidence', help='data and run folders (git-ignored)')
    ap.add_argument('--seeds', type=int, nargs='+', default=[42, 1, 2])
    ap.add_argument('--levels', nargs='+', default=['none', MAIN_LEVEL, 'large'])
    ap.add_argument('--fast', action='store_true', help='seed 42 and the cross-device level only')
    ap.add_argument('--results', default=str(ROOT/'nbs'/'results'))
    ap.add_argument('--device', default=None)
    ap.add_argument('--preset', default='cpu', help="model and training size ('smoke' to try the pipeline in a minute; the published run uses 'cpu')")
    a = ap.parse_args(argv)
    if a.fast: a.seeds, a.levels = [42], [MAIN_LEVEL]
    if MAIN_LEVEL not in a.levels: ap.error(f"--levels must include {MAIN_LEVEL!r}: the main comparison is on the quick start's data")
    t0, out = time.time(), Path(a.out)
    warnings.simplefilter('ignore')
    # the main comparison first (it holds the ceiling), then the other levels
    order = [MAIN_LEVEL] + [l for l in a.levels if l != MAIN_LEVEL]
    frames = []
    for level in order:
        variants = VARIANTS + ((CEILING,) if level == MAIN_LEVEL else ())
        data = out/level/'data'
        if (data/'train_datasets').exists():
            ensure_regions(data, level)
            for f in (out/level).glob('scores_seed*.csv'):      # scored before the region maps: score again
                if 'gcnr' not in pd.read_csv(f, nrows=1): f.unlink()
        frames.append(run_sweep(out, levels=(level,), variants=variants, seeds=a.seeds, preset=a.preset, device=a.device, **DATA))
        print(f"{level}: done after {(time.time() - t0) / 60:.1f} min", flush=True)
    df = pd.concat(frames, ignore_index=True)
    main_rows = df[df.level == MAIN_LEVEL]
    sweep = df[df.config != CEILING]
    res = Path(a.results); res.mkdir(parents=True, exist_ok=True)
    cols = ['config', 'reference', 'organ', 'image', *[k for k in SCORES if k in sweep], 'perceptual', 'level', 'shift_mm', 'seed']
    sweep[cols].to_csv(res/'sweep.csv', index=False, float_format='%.5g')
    n_test = main_rows[main_rows.config == 'ours'].groupby('seed')['image'].size() // 2   # two references per image
    commit = subprocess.run(['git', 'rev-parse', 'HEAD'], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    dirty = bool(subprocess.run(['git', 'status', '--porcelain', '--untracked-files=no'], cwd=ROOT, capture_output=True, text=True).stdout.strip())
    wall = (time.time() - t0) / 60
    ev = dict(provenance=dict(
        command='python bench/evidence.py' + ''.join(f' {x}' for x in (argv if argv is not None else sys.argv[1:])),
        seeds=a.seeds, levels={l: as_misregistration(l).shift_mm for l in order}, variants=list(VARIANTS) + [CEILING],
        preset=a.preset, data=dict(DATA, pairs=5 * DATA['n_per_organ'], misregistration=MAIN_LEVEL),
        test_pairs=int(n_test.iloc[0]) if n_test.nunique() == 1 else n_test.to_dict(),
        lncc_window=9, wall_clock_min=round(wall, 1), train_min=round(train_minutes(out, order, a.seeds), 1),
        cpus=os.cpu_count(), machine=platform.processor() or platform.machine(), git_commit=commit + ('+uncommitted' if dirty else ''),
        note='wall_clock_min is this invocation (finished runs are reused); train_min is what the runs\' logs record, '
             'on a machine shared with other jobs'),
        main=per_seed(main_rows, ('reference', 'config')),
        sweep=per_seed(sweep, ('reference', 'config', 'level', 'shift_mm')))
    (res/'evidence.json').write_text(json.dumps(ev, indent=1, allow_nan=True) + '\n')
    for k, v in evidence_tables(res/'evidence.json').items(): print(f"\n## {k}\n\n{v}")
    print(f"\nwrote {res/'evidence.json'} and {res/'sweep.csv'}; wall-clock {wall:.1f} min "
          f"({ev['provenance']['train_min']:.0f} min of training recorded by the runs) on {os.cpu_count()} CPU cores")


if __name__ == '__main__':
    main()
