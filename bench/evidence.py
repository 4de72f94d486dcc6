#!/usr/bin/env python3
"""The evidence behind the README's tables, from one command, resumable.

    python bench/evidence.py                     # the published run (hours on 2 CPU cores; resumes where it stopped)
    python bench/evidence.py --only headline     # just the headline comparison
    python bench/evidence.py --preset smoke --seeds 42 1 --data-seeds 0 --levels cross-device   # try the pipeline
    python bench/evidence.py --threads 1 & python bench/evidence.py --threads 1   # two workers sharing the list

Several invocations may run at once on the same --out: each run is claimed by one of them (a file lock that a process
holds while it trains; released when it ends, also by a crash), data sets are written once, and files are replaced
whole. On 2 cores, two one-thread workers train about 18 % more runs per hour than one two-thread process (a
CycleGAN step of the `cpu` preset: 560 ms with two threads; 950 ms each for two one-thread processes side by side).

Two parts, each a list of training runs that are trained, scored and cached one at a time (an interrupted command
continues with the next unfinished run; nothing finished is trained again, and runs that the results file already
holds are kept and not trained again, so a fresh machine continues the evidence of an earlier one):

1. headline: at the cross-device level (2.5 mm), on two simulated data sets (simulator seeds 0 and 1, 200 pairs of
   256x256 at 0.15 mm per pixel each), five training seeds each: ours, the CycleGAN without perceptual loss, pix2pix,
   and the ceiling (the same generator supervised with L1 + perceptual on the registered truth, trained three times
   longer). The paired statistics of the claims use these 10 runs per configuration.
2. sweep: data set 0 at every misregistration level (0, 0.5, 1, 2.5, 5 mm), three training seeds: ours, the CycleGAN
   and pix2pix (the 2.5 mm runs are the headline's).

Every run is scored on its seed's held-out test pairs with the input, tuned non-local means and the oracle rows (the
ideal enhancer, the blurred registered truth), against the registered truth and the acquired high-quality image.
After every run, nbs/results/evidence.json (per-run means, with the command, machine, wall-clock and commit) and
nbs/results/sweep.csv are rewritten from all the scores so far, so a partial run leaves usable, labelled results.
"""
import argparse, contextlib, fcntl, json, os, platform, shutil, subprocess, sys, time, warnings
os.environ.setdefault('USENHANCE_OFFLINE', '1')
from pathlib import Path
import numpy as np
import pandas as pd
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # this checkout's package
from usenhance_nb.core import get_config
from usenhance_nb.files import atomic_write
from usenhance_nb.simulate import as_misregistration, write_dataset, MISREGISTRATION
from usenhance_nb.stats import SCORES
from usenhance_nb.evaluate import evaluate_runs
from usenhance_nb.evidence import evidence_tables

MAIN_LEVEL, N_PER_ORGAN, SIZE = 'cross-device', 40, 256
HEADLINE = dict(levels=(MAIN_LEVEL,), data_seeds=(0, 1), seeds=(42, 1, 2, 3, 4), variants=('ours', 'cyclegan', 'pix2pix', 'ceiling'))
SWEEP = dict(levels=tuple(MISREGISTRATION), data_seeds=(0,), seeds=(42, 1, 2), variants=('ours', 'cyclegan', 'pix2pix'))
LONGER = {'ceiling': 3}   # epochs x this: a reference trained until it stops improving (its validation curve levels off)
# 3. variants: what the perceptual loss needs to help under misregistration. name -> (Table-2 variant, Config overrides);
# 'unpaired' trains on the same images with each high-quality image swapped for another of the same organ and split
# (the control: does the pairing carry anything?), and is scored on the true pairs.
VARIANT_RUNS = {
    'ours_literal':    ('ours_literal', {}),                       # the paper's eq. 3 and weights
    'ours_adv_cycle':  ('ours', dict(adv_on='cycle')),             # the teaching defaults, one change undone at a time
    'ours_lambda1':    ('ours', dict(lambda_per=1.0)),             # with ours (10) and cyclegan (0): the lambda_per curve
    'ours_lambda3':    ('ours', dict(lambda_per=3.0)),
    'phi_coarse':      ('ours', dict(perceptual_layers=(2, 3))),   # the backbone's two coarsest layers only
    'phi_shift':       ('ours', dict(perceptual_shift_px=12)),     # Phi at the best alignment within 12 px (1.8 mm)
    'contextual':      ('ours', dict(perceptual_kind='contextual')),
    'dists':           ('ours', dict(perceptual_kind='dists')),    # structure (low-passed) + texture (feature statistics)
    'unpaired':        ('ours', {}),
}
VARIANTS_PART = dict(levels=tuple(MISREGISTRATION), data_seeds=(0,), seeds=(42, 1, 2), variants=tuple(VARIANT_RUNS))

FIRST = ('ours', 'cyclegan')   # the perceptual loss's own effect
METHODS = {*HEADLINE['variants'], *SWEEP['variants'], *VARIANT_RUNS}   # trained runs (the rest of the rows are baselines)


def plain_names(configs: pd.Series) -> pd.Series:
    "Config names without NLM's ' (h=...)': its h is tuned per data set and seed, the method is one."
    return configs.str.replace(r' \(h=.*\)$', '', regex=True)

def priority(run: tuple) -> tuple:
    """The order runs are trained in, so that partial evidence answers the main questions first: ours and the CycleGAN
    at 2.5 mm on three seeds, the variants there, the headline's other seeds and data set, its pix2pix and ceiling, the
    sweep's levels (ours, the CycleGAN, pix2pix), then the variants at 5 and 0 mm, then at the other levels."""
    level, ds, seed, v = run
    first3, vs, main = seed in (42, 1, 2), v in VARIANT_RUNS, level == MAIN_LEVEL
    early = level in ('large', 'none')   # after 2.5 mm, the levels that bracket it: 5 and 0 mm
    group = (0 if main and v in FIRST and first3 else 1 if main and vs else 2 if main and v in FIRST else 3 if main else
             4 if not vs and first3 and ds == 0 else 5 if early and vs else 6)
    seeds = (42, 1, 2, 3, 4)
    return group, seeds.index(seed) if seed in seeds else len(seeds) + seed, ds, v not in FIRST

def runs(parts: list):
    "(level, data_seed, seed, variant) of every run of `parts`, without repeats, in the order of `priority`."
    todo = [(level, ds, seed, v) for part in parts for level in part['levels'] for seed in part['seeds']
            for ds in part['data_seeds'] for v in part['variants']]
    return sorted(dict.fromkeys(todo), key=priority)


@contextlib.contextmanager
def file_lock(path: Path, wait=True):
    "Hold an exclusive lock on `path` (created if missing) for the block; yields False if another process holds it and not `wait`."
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, 'a') as f:
        try: fcntl.flock(f, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False; return
        try: yield True
        finally: fcntl.flock(f, fcntl.LOCK_UN)


def write_whole(df: pd.DataFrame, path: Path, **kw):
    "Write a CSV whole: a reader never sees half a file."
    with atomic_write(path, 'w', newline='') as f: df.to_csv(f, **kw)


def swapped_partners(d: Path, cfg) -> Path:
    """A copy of data folder `d` (links) whose high-quality images are swapped among the pairs of the same organ and split
    of `cfg.seed` (each seed splits the pairs its own way, so each has its own copy)."""
    from usenhance_nb.data import get_splits
    out = d.parent/f'data_unpaired_seed{cfg.seed}'
    with file_lock(d.parent/f'.{out.name}.lock'):   # another worker may be writing it
        if (out/'dataset.json').exists(): return out
        rng = np.random.default_rng(cfg.seed)
        for split in get_splits(d, cfg).values():
            for organ in sorted({p.organ for p in split}):
                ps = [p for p in split if p.organ == organ]
                order = rng.permutation(len(ps))   # one random cycle through the pairs: each takes the next one's H,
                partner = dict(zip(order, np.roll(order, -1)))   # so none keeps its own (a lone pair has no other)
                for i, p in enumerate(ps):
                    for sub, src in (('low_quality', p.low), ('high_quality', ps[partner[i]].high)):
                        f = out/'train_datasets'/organ/sub/p.name
                        f.parent.mkdir(parents=True, exist_ok=True)
                        if not f.exists(): os.link(src, f)
        shutil.copy(d/'dataset.json', out/'dataset.json')   # written last: the copy is complete
    return out


def data_folder(out: Path, level: str, ds: int) -> Path:
    d = out/level/f'data{ds}'/'data'
    with file_lock(d.parent/'.data.lock'):   # another worker may be writing it
        if not (d/'dataset.json').exists():   # written last: its absence means the data set is missing or incomplete
            write_dataset(d, n_per_organ=N_PER_ORGAN, size=SIZE, seed=ds, misreg=as_misregistration(level), progress=False, overwrite=True)
    return d


def config(preset: str, variant: str, seed: int):
    base, over = VARIANT_RUNS.get(variant, (variant, {}))
    cfg = get_config(preset, base, image_size=SIZE if preset != 'smoke' else 64, seed=seed, **over)
    k = LONGER.get(variant, 1)
    return get_config(preset, base, image_size=cfg.image_size, seed=seed, epochs=cfg.epochs * k, step_size=cfg.step_size * k, **over)


def run_one(out: Path, level: str, ds: int, seed: int, variant: str, preset: str, device) -> Path:
    "Train (or resume) one run and score it; returns its scores file."
    from usenhance_nb.trainer import Trainer, DivergenceError
    folder = out/level/f'data{ds}'
    scores = folder/'scores'/f'{variant}_seed{seed}.csv'
    if scores.exists(): return scores
    data, run = data_folder(out, level, ds), folder/f'{variant}_seed{seed}'
    diverged = folder/'scores'/f'{variant}_seed{seed}.diverged'   # a run that diverged is a result: kept, not retried
    if not diverged.exists():
        cfg = config(preset, variant, seed)
        train_data = swapped_partners(data, cfg) if variant == 'unpaired' else data
        try: Trainer(cfg, train_data, run, device=device, resume=True).fit()
        except DivergenceError as e:
            diverged.parent.mkdir(parents=True, exist_ok=True); diverged.write_text(str(e) + '\n')
            print(f"{run}: diverged ({e}); scored at its last good epoch", flush=True)
    base = folder/'scores'/f'baselines_seed{seed}.csv'
    rows = pd.DataFrame(evaluate_runs({variant: run/'last.pt'}, data, 'test', device=device, baselines=not base.exists()))
    rows['config'] = plain_names(rows['config'])
    rows = rows.assign(level=level, shift_mm=as_misregistration(level).shift_mm, data_seed=ds, seed=seed,
                       diverged=float(diverged.exists()))
    scores.parent.mkdir(parents=True, exist_ok=True)
    if not base.exists(): write_whole(rows[rows.config != variant], base, index=False)
    write_whole(rows[rows.config == variant], scores, index=False)
    return scores


def collect(out: Path) -> pd.DataFrame:
    files = sorted(out.glob('*/data*/scores/*.csv'))
    df = pd.concat([pd.read_csv(f) for f in files], ignore_index=True) if files else pd.DataFrame()
    if 'diverged' in df: df['diverged'] = df['diverged'].fillna(0)   # scores written before divergence was recorded
    return df


def per_run(df: pd.DataFrame) -> list:
    "Per-run means over images of every score, as records (the evidence file's rows)."
    ks = [k for k in (*SCORES, 'diverged') if k in df]   # diverged: 1 for a run stopped by NaN losses (scored at its last good epoch)
    keys = ['reference', 'config', 'level', 'shift_mm', 'data_seed', 'seed']
    g = df.groupby(keys, sort=False)
    return json.loads(g[ks].mean().join(g.size().rename('n')).reset_index().to_json(orient='records', double_precision=6))


def published(argv) -> list:
    "The command's arguments without `--results DIR`: where a copy was written says nothing about how it was made."
    argv = list(argv)
    if '--results' in argv: i = argv.index('--results'); del argv[i:i + 2]
    return [a for a in argv if not a.startswith('--results=')]


def code_commit() -> str:
    "The checkout's commit, with '+uncommitted' where the package differs from it."
    git = lambda *a: subprocess.run(['git', *a], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    return git('rev-parse', 'HEAD') + ('+uncommitted' if git('status', '--porcelain', '--untracked-files=no', '--', 'usenhance_nb') else '')

STARTED_AT = code_commit()   # the code this process runs: later commits to the checkout do not change it


def recorded_runs(f: Path) -> set:
    "(level, data_seed, seed, config) of every run the results file `f` holds."
    if not f.exists(): return set()
    ev = json.loads(f.read_text())
    return {(r['level'], r['data_seed'], r['seed'], r['config']) for k in ('main', 'sweep', 'variants') for r in ev[k]
            if r['config'] in METHODS}


RUN_KEY = ('reference', 'config', 'level', 'shift_mm', 'data_seed', 'seed')


def merged(new: list, earlier: list) -> list:
    """`new` records with those of `earlier` (the results file as it was) that are not on this disk: runs trained on
    another machine or in an earlier session are kept. A baseline row scored again here must equal the one kept (same
    simulated data, same split): otherwise the paired comparisons would mix two data sets, so it stops."""
    key = lambda r: tuple(r[k] for k in RUN_KEY)
    mine = {key(r): r for r in new}
    for r in earlier:
        k = key(r)
        if k in mine and r['config'] not in METHODS:
            a, b = mine[k], r
            num = lambda x: np.nan if x is None else x   # JSON writes NaN as null
            bad = [s for s in SCORES if s in a and s in b and not np.isclose(num(a[s]), num(b[s]), rtol=1e-4, atol=1e-6, equal_nan=True)]
            if bad: raise SystemExit(f"{k}: the baseline scored here differs from the results file's in {bad}: "
                                     "the simulated data set is not the one the earlier runs used")
    return [*new, *(r for r in earlier if key(r) not in mine)]


def write_evidence(out: Path, results: Path, argv, t0: float, planned: int, preset: str):
    """Rewrite results/evidence.json and sweep.csv from the scores on disk, keeping the records of runs that the file
    already holds and this disk does not (so a fresh machine continues the evidence instead of starting it again)."""
    df = collect(out)
    if df.empty: return
    f = results/'evidence.json'
    earlier = json.loads(f.read_text()) if f.exists() else dict(provenance={}, main=[], sweep=[], variants=[])
    ep = earlier['provenance']
    var = df.config.isin(list(VARIANT_RUNS))
    head = df[(df.level == MAIN_LEVEL) & df.data_seed.isin(HEADLINE['data_seeds']) & ~var]
    sweep = df[(df.data_seed == SWEEP['data_seeds'][0]) & df.seed.isin(SWEEP['seeds']) & (df.config != 'ceiling') & ~var]
    variants = df[df.level.isin(VARIANTS_PART['levels']) & (df.data_seed == VARIANTS_PART['data_seeds'][0])
                  & df.seed.isin(VARIANTS_PART['seeds']) & (var | df.config.isin(['ours', 'cyclegan', 'input', 'low-quality input']))]
    main_, sweep_, variants_ = (merged(per_run(d), earlier[k]) for d, k in ((head, 'main'), (sweep, 'sweep'), (variants, 'variants')))
    results.mkdir(parents=True, exist_ok=True)
    cols = ['config', 'reference', 'organ', 'image', *[k for k in SCORES if k in sweep], 'perceptual', 'level', 'shift_mm', 'data_seed', 'seed']
    sweep_csv = sweep[[c for c in cols if c in sweep]]
    if (results/'sweep.csv').exists():   # per-image rows of the runs this disk does not hold
        old = pd.read_csv(results/'sweep.csv')
        here = set(map(tuple, sweep_csv[['config', 'level', 'data_seed', 'seed']].drop_duplicates().values.tolist()))
        keep = [tuple(r) not in here for r in old[['config', 'level', 'data_seed', 'seed']].values.tolist()]
        sweep_csv = pd.concat([old[keep], sweep_csv], ignore_index=True)
    write_whole(sweep_csv, results/'sweep.csv', index=False, float_format='%.5g')
    logs = {str(p.parent.relative_to(out)): round(pd.read_csv(p)['seconds'].sum() / 60, 2) for p in out.glob('*/data*/*_seed*/log.csv')}
    train_runs = {**ep.get('train_min_runs', {}), **logs}
    # an earlier file without per-run minutes: its total is carried as it was
    train_earlier = ep.get('train_min_earlier', ep.get('train_min', 0) if 'train_min_runs' not in ep else 0)
    commit = STARTED_AT
    registered = [r for r in main_ if r['reference'] == 'registered']
    n_test = {f"data{r['data_seed']} seed{r['seed']}": int(r['n']) for r in registered}
    done = len({(r['level'], r['data_seed'], r['seed'], r['config']) for r in (*main_, *sweep_, *variants_) if r['config'] in METHODS})
    ev = dict(provenance=dict(
        command='python bench/evidence.py' + ''.join(f' {x}' for x in published(argv)),
        seeds=sorted({r['seed'] for r in registered}), data_seeds=sorted({r['data_seed'] for r in registered}),
        headline=dict(HEADLINE), sweep=dict(SWEEP), variants=dict(VARIANTS_PART),
        levels={l: MISREGISTRATION[l].shift_mm for l in MISREGISTRATION}, preset=preset,
        data=dict(n_per_organ=N_PER_ORGAN, pairs=5 * N_PER_ORGAN, size=SIZE, mm_per_px=38.4 / SIZE),
        test_pairs=next(iter(n_test.values())) if len(set(n_test.values())) == 1 else n_test,
        runs_done=done, runs_planned=planned, complete=done >= planned,
        diverged=sorted({*ep.get('diverged', []), *(str(p.relative_to(out)) for p in out.glob('*/data*/scores/*.diverged'))}),
        lncc_window=9, wall_clock_min=round((time.time() - t0) / 60, 1),
        train_min=round(sum(train_runs.values()) + train_earlier, 1), train_min_runs=train_runs, train_min_earlier=train_earlier,
        cpus=os.cpu_count(), machine=platform.processor() or platform.machine(),
        git_commit=commit, git_commits=sorted({*ep.get('git_commits', [ep['git_commit']] if 'git_commit' in ep else []), commit}),
        note="wall_clock_min is the last invocation only (finished runs are reused); train_min is what the runs' logs record "
             "(train_min_earlier: runs logged before per-run minutes were kept), on 2-core machines shared with other jobs; "
             "git_commits: the commits the runs were trained at"),
        variant_runs={k: [b, {f: list(v) if isinstance(v, tuple) else v for f, v in o.items()}] for k, (b, o) in VARIANT_RUNS.items()},
        main=main_, sweep=sweep_, variants=variants_)
    with atomic_write(f, 'w') as fh: fh.write(json.dumps(ev, indent=1, allow_nan=True) + '\n')


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--out', default='runs/evidence', help='data and run folders (git-ignored)')
    ap.add_argument('--only', choices=('headline', 'sweep', 'variants'), help='one part only')
    ap.add_argument('--seeds', type=int, nargs='+', help='training seeds of both parts (default: 5 headline, 3 sweep)')
    ap.add_argument('--data-seeds', type=int, nargs='+', help='simulated data sets of the headline (default: 0 1)')
    ap.add_argument('--levels', nargs='+', help='levels of the sweep (default: all five)')
    ap.add_argument('--results', default=str(ROOT/'nbs'/'results'))
    ap.add_argument('--device', default=None)
    ap.add_argument('--preset', default='cpu', help="'smoke' tries the pipeline in minutes; the published run uses 'cpu'")
    ap.add_argument('--threads', type=int, help="torch's CPU threads (default: torch's); with several workers, 1 each")
    a = ap.parse_args(argv)
    for part in (HEADLINE, SWEEP):
        if a.seeds: part['seeds'] = tuple(a.seeds)
    if a.data_seeds: HEADLINE['data_seeds'] = SWEEP['data_seeds'] = tuple(a.data_seeds)
    if a.levels: SWEEP['levels'] = tuple(a.levels)
    parts = [p for name, p in (('headline', HEADLINE), ('sweep', SWEEP), ('variants', VARIANTS_PART)) if a.only in (None, name)]
    todo = runs(parts)
    t0, out, results = time.time(), Path(a.out), Path(a.results)
    warnings.simplefilter('ignore')
    if a.threads: torch.set_num_threads(a.threads)
    recorded = recorded_runs(results/'evidence.json')
    print(f"{len(todo)} runs planned; finished ones are reused ({len(recorded)} in {results/'evidence.json'})", flush=True)
    for i, (level, ds, seed, v) in enumerate(todo):
        t = time.time()
        if (level, ds, seed, v) in recorded: continue   # trained on another machine or in an earlier session
        with file_lock(out/level/f'data{ds}'/'claims'/f'{v}_seed{seed}', wait=False) as mine:
            if not mine: continue   # another worker trains it
            run_one(out, level, ds, seed, v, a.preset, a.device)
        with file_lock(out/'.results.lock'): write_evidence(out, results, argv, t0, len(todo), a.preset)
        print(f"[{i + 1}/{len(todo)}] {level} data{ds} {v} seed {seed}: {(time.time() - t) / 60:.1f} min "
              f"(total {(time.time() - t0) / 60:.1f} min)", flush=True)
    for k, v in evidence_tables(results/'evidence.json').items(): print(f"\n## {k}\n\n{v}")
    print(f"\nwrote {results/'evidence.json'} and {results/'sweep.csv'}; wall-clock {(time.time() - t0) / 60:.1f} min on "
          f"{os.cpu_count()} CPU cores", flush=True)


if __name__ == '__main__':
    main()
