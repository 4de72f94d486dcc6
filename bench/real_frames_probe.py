#!/usr/bin/env python3
"""Why the bundled model fails some real-frame checks of A13_realframes: the same frames, one inference change at a time.

    python bench/real_frames_probe.py        # -> bench/results/real_frames_probe.md (about a minute on 2 CPU cores)

Each variant changes only how a frame is fed to the bundled model, never the model or the checks:
- 'by mm' (the package's way): each region resampled to the model's 0.15 mm per pixel;
- 'no resampling': the frame's pixels taken as the model's (its own scale ignored);
- 'by speckle grain': resampled so that the speckle grain spans as many pixels as in the training images;
- 'display gain kept': the region's grey levels scaled so that its median is the training images' before the model, and
  scaled back after (a scanner's gain knob, undone);
- 'sector black left out': black pixels connected to the declared region's edge (the screen around a sector) neither
  enhanced nor counted as fluid.
The last section scores 'display gain kept' on the package's simulated sample pairs, against the registered truth.
"""
import os, platform, sys, warnings
from dataclasses import replace
from pathlib import Path
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
import numpy as np
from scipy import ndimage as ndi
from torch import nn
from pydicom.data import get_testdata_file
from usenhance_nb.data import SAMPLE_DIR, find_pairs, registered_pairs
from usenhance_nb.dicom import grey_frames, grey_mask, round_u8
from usenhance_nb.enhance import enhance_image, enhance_scan, image_statistics, load_model, read_scan
from usenhance_nb.files import read_gray
from usenhance_nb.metrics import lp_metrics, read_regions, region_metrics
from usenhance_nb.realframes import PYDICOM_US_FRAMES, US1_MM_PER_PX, fluid_tissue, fluid_tissue_passes


class Gained(nn.Module):
    "A generator seen through a gain: grey levels times k before it, divided by k after (tensors in [-1, 1])."
    def __init__(self, g, k): super().__init__(); self.g, self.k = g, k
    def forward(self, x): return ((self.g(((x + 1) * self.k - 1).clamp(-1, 1)) + 1) / self.k - 1).clamp(-1, 1)


def outer_black(frame, mask, black=2):
    "Black pixels (<= `black`) inside the mask connected to the mask's edge."
    g = frame.max(-1) if frame.ndim == 3 else frame
    blk = mask & (g <= black)
    lab, _ = ndi.label(blk)
    edge = lab[mask & ~ndi.binary_erosion(mask)]
    return np.isin(lab, edge[edge > 0])


def variants(model, sc):
    "(name, model, scan) for each way of feeding the frame."
    frame, ref = sc.frames[0], model.data_stats
    st = image_statistics(frame, sc.mm_per_px, sc.mask)
    p = sc.mm_per_px[0]
    grain = ref['grain_mm'] * p / st['grain_mm'] if np.isfinite(st['grain_mm']) else p
    k = ref['median'] / np.median(grey_frames(frame)[sc.mask & grey_mask(frame) & (grey_frames(frame) > 0)])
    return [('by mm', model, sc), ('no resampling', model, replace(sc, mm_per_px=(model.mm_per_px,) * 2)),
            ('by speckle grain', model, replace(sc, mm_per_px=(grain, grain))),
            ('display gain kept', replace(model, g_h=Gained(model.g_h, k)), sc),
            ('sector black left out', model, replace(sc, mask=sc.mask & ~outer_black(frame, sc.mask)))]


def real_rows(model):
    rows, passed = [], {}
    for name in PYDICOM_US_FRAMES:
        f = get_testdata_file(name, download=False)
        if f is None: continue
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            sc = read_scan(f, mm_per_px=US1_MM_PER_PX if name.startswith('US1') else None)
        sc = replace(sc, frames=sc.frames[:1])
        for label, m, s in variants(model, sc):
            before, after = s.frames[0], enhance_scan(m, s)[0]
            try: ft = fluid_tissue(grey_frames(before), grey_frames(after), s.mask & grey_mask(before), sc.mm_per_px[0])
            except ValueError as e: rows.append(f'| {name} | {label} | {e} | | | |'); continue
            ok = fluid_tissue_passes(ft)
            passed[label] = passed.get(label, 0) + sum(ok.values())
            rows.append(f'| {name} | {label} | ' + ' | '.join(
                f"{b:.3g} -> {a:.3g} {'ok' if ok[c] else 'FAIL'}" for c, (b, a) in ft.items()) + f' | {sum(ok.values())} |')
            print(rows[-1], flush=True)
    return rows, passed


def sample_rows(model):
    "gCNR by the region map and low-passed SSIM against the registered truth, on the simulated sample pairs."
    scores = {'input': [], 'by mm': [], 'display gain kept': []}
    for p in registered_pairs(find_pairs(SAMPLE_DIR)):
        low, reg, truth = read_gray(p.low), read_regions(p), read_gray(p.high)
        k = model.data_stats['median'] / np.median(low[(reg != 254) & (low > 0)])
        for label, img in (('input', low), ('by mm', enhance_image(model.g_h, low)),
                           ('display gain kept', enhance_image(Gained(model.g_h, k), low))):
            scores[label].append((region_metrics(img, reg)['gcnr'], lp_metrics(img, truth, 0.15)['lp_ssim']))
    return [f'| {k} | {np.mean(v, 0)[0]:.3f} | {np.mean(v, 0)[1]:.3f} |' for k, v in scores.items()]


def main():
    model = load_model('bundled')
    rows, passed = real_rows(model)
    text = '\n'.join([
        f'# Real-frame checks, one inference change at a time: {model.describe()}', '',
        '| frame | variant | fluid | tissue | gCNR | checks passed |', '|---|---|---|---|---|---|', *rows, '',
        '| variant | checks passed (of 3 per frame) |', '|---|---|', *[f'| {k} | {v} |' for k, v in passed.items()], '',
        '## Display gain kept, on the simulated sample pairs (registered truth)', '',
        '| images | gCNR (region map) | SSIM low-passed |', '|---|---|---|', *sample_rows(model), '',
        f'Command: `python bench/real_frames_probe.py`; machine: {platform.processor() or platform.machine()}, '
        f'{os.cpu_count()} CPUs, no GPU.', ''])
    (ROOT/'bench'/'results'/'real_frames_probe.md').write_text(text)
    print(text)


if __name__ == '__main__':
    main()
