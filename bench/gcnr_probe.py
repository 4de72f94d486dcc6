#!/usr/bin/env python3
"""Which training setting keeps the contrast of fluid against tissue (gCNR)? Resumable.

    python bench/gcnr_probe.py            # every probe below, then bench/results/gcnr_probe.md and nbs/results/gcnr_probe.csv
    python bench/gcnr_probe.py --real     # the same, with the real frame scored again by the current code

Every model the `cpu` preset trains (64x64 patches, 12 epochs) lowers gCNR on the simulated test pairs (by the region
map) and on a real frame, while the high-end device's own image of the same anatomy raises it. Each probe changes one setting of the preset's run (`cpu`
preset, variant ours, simulated data set 0 at 2.5 mm, seed 42; it reuses bench/evidence.py's data and that run)
and is scored on the run's 30 test pairs (gCNR and CNR by the region map, SSIM low-passed, grain ratio) and on US1_UNCR.dcm from pydicom-data (`realframes.frame_checks`).
"""
import json, os, platform, sys, time
os.environ.setdefault('USENHANCE_OFFLINE', '1')
from pathlib import Path
import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT/'bench')]
from evidence import config, data_folder, MAIN_LEVEL
from dataclasses import replace
from usenhance_nb.core import check_config
from usenhance_nb.evaluate import evaluate_runs
from usenhance_nb.enhance import load_model
from usenhance_nb.realframes import US1_MM_PER_PX, frame_checks

PROBES = {   # name -> Config overrides of the preset's run
    '64 px crops, 12 epochs (the preset)': {},
    '64 px crops, 36 epochs': dict(epochs=36, step_size=18),
    '64 px crops, identity weight 6': dict(lambda_id=6.0),
    '128 px crops': dict(crop=128, batch_size=2),   # the same pixels per step, four times the context and the steps
    '128 px crops, 36 epochs': dict(crop=128, batch_size=2, epochs=36, step_size=18),
    '128 px crops, 36 epochs, gain x0.5-2': dict(crop=128, batch_size=2, epochs=36, step_size=18, gain=2.0),
}
# 'gain': not a Config field. Both images of a training pair times one random factor in [1/gain, gain] (log-uniform):
# a scanner's gain knob is arbitrary, so the model should change brightness by the devices' ratio, not to a level.


def gain_augment(limit: float):
    "Wrap PairedDataset.__getitem__ so that, when it augments, both images get the same random gain (a probe only)."
    import math, torch
    from usenhance_nb.data import PairedDataset
    plain = PairedDataset.__getitem__
    def item(self, i):
        low, high = plain(self, i)
        if not self.augment: return low, high
        k = math.exp((torch.rand(1, generator=self.rng).item() * 2 - 1) * math.log(limit))
        return (((low + 1) * k - 1).clamp(-1, 1), ((high + 1) * k - 1).clamp(-1, 1))
    PairedDataset.__getitem__ = item
EVIDENCE, OUT, SEED = ROOT/'runs'/'evidence', ROOT/'runs'/'gcnr_probe', 42


def slug(name: str) -> str: return name.replace(',', '').replace(' ', '_')


def run_folder(name: str) -> Path:
    if not PROBES[name]: return EVIDENCE/MAIN_LEVEL/'data0'/f'ours_seed{SEED}'   # the evidence's own run
    return OUT/slug(name)


def real_frame(ckpt: Path) -> dict:
    from pydicom.data import get_testdata_file
    src = get_testdata_file('US1_UNCR.dcm', download=False)
    if src is None: return {}
    ft = frame_checks(load_model(ckpt), src, US1_MM_PER_PX)[2]
    return {f'real_{k}_{w}': v for k, (b, a) in ft.items() for w, v in (('in', b), ('out', a))}


def region_means(rows: pd.DataFrame) -> dict:
    return {k: rows[k].mean() for k in ('gcnr', 'cnr', 'lp_ssim', 'grain_ratio') if k in rows}


def probe(name: str) -> dict:
    from usenhance_nb.trainer import Trainer
    cache = OUT/'scores'/f"{slug(name)}.json"
    if cache.exists():
        out = json.loads(cache.read_text())
        if '--real' in sys.argv:   # the real frame scored again with the current code (region detection, grey pixels)
            out.update(real_frame(run_folder(name)/'last.pt')); cache.write_text(json.dumps(out, indent=1))
        return out
    data, run = data_folder(EVIDENCE, MAIN_LEVEL, 0), run_folder(name)
    over = dict(PROBES[name]); gain = over.pop('gain', None)
    if gain: gain_augment(gain)
    cfg = check_config(replace(config('cpu', 'ours', SEED), **over))
    t0 = time.time()
    Trainer(cfg, data, run, resume=True).fit()
    rows = pd.DataFrame(evaluate_runs({'probe': run/'last.pt'}, data, 'test', baselines=True))
    reg = rows[rows.reference == 'registered']
    out = dict(probe=name, overrides=PROBES[name], **{f'{c}_{k}': v for c, key in (('model', 'probe'), ('input', 'low-quality input'),
               ('ideal', 'ideal enhancer')) for k, v in region_means(reg[reg.config == key]).items()},
               **real_frame(run/'last.pt'), minutes=round((time.time() - t0) / 60, 1))
    cache.parent.mkdir(parents=True, exist_ok=True); cache.write_text(json.dumps(out, indent=1))
    return out


def report(results: list) -> str:
    df = pd.DataFrame(results).set_index('probe')
    cols = {'model_gcnr': 'gCNR (map)', 'model_cnr': 'CNR (map)', 'model_lp_ssim': 'SSIM low-passed', 'model_grain_ratio': 'grain ratio',
            'real_gcnr_out': 'real frame gCNR', 'real_fluid_out': 'real fluid grey', 'real_tissue_out': 'real tissue grey'}
    t = df[[c for c in cols if c in df]].rename(columns=cols).round(3)
    first = results[0]
    ref = (f"On the same test pairs the input scores gCNR {first['input_gcnr']:.3f}, CNR {first['input_cnr']:.3f}, and the "
           f"high-end image of the anatomy (ideal enhancer) {first['ideal_gcnr']:.3f}, {first['ideal_cnr']:.3f}.")
    if 'real_gcnr_in' in first:
        ref += (f" The real frame before enhancement: gCNR {first['real_gcnr_in']:.3f}, fluid {first['real_fluid_in']:.1f}, "
                f"tissue {first['real_tissue_in']:.1f} (fluid and tissue are picked on the input and the enhanced image "
                f"together, so these move a little from probe to probe).")
    return '\n'.join(['# gCNR probe', '', __doc__.split('\n\n')[2].strip(), '', t.to_markdown(), '', ref, '',
                      f"Command: `python bench/gcnr_probe.py`; machine: {platform.processor() or platform.machine()}, "
                      f"{os.cpu_count()} CPUs, no GPU; minutes per probe (training and scoring, shared CPU): "
                      + ', '.join(f"{r['probe']} {r['minutes']}" for r in results), ''])


if __name__ == '__main__':
    results = []
    for name in PROBES:
        results.append(probe(name)); print(json.dumps(results[-1]), flush=True)
        (ROOT/'bench'/'results'/'gcnr_probe.md').write_text(report(results))
        pd.DataFrame(results).drop(columns='overrides').to_csv(ROOT/'nbs'/'results'/'gcnr_probe.csv', index=False, float_format='%.4g')
