#!/usr/bin/env python3
"""The three real-frame checks of 12_enhance on every grey-image ultrasound frame of pydicom-data (first frame).

    python bench/real_frames.py                 # the bundled model -> bench/results/real_frames.md
    python bench/real_frames.py RUN/last.pt     # another checkpoint (printed only)

The checks, the pass rule and the frame list are `usenhance_nb.realframes`'s (appendix A13_realframes, which shows the
same table for the bundled model); this script runs them for any checkpoint and writes the bundled model's table.
"""
import os, platform, sys
from pathlib import Path
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from pydicom.data import get_testdata_file
from usenhance_nb.enhance import load_model
from usenhance_nb.realframes import PYDICOM_US_FRAMES, US1_MM_PER_PX, fluid_tissue_passes, frame_checks

def main():
    model = sys.argv[1] if len(sys.argv) > 1 else 'bundled'
    m = load_model(model)
    rows = ['| frame | mm per px | fluid | tissue | gCNR |', '|---|---|---|---|---|']
    for name in PYDICOM_US_FRAMES:
        f = get_testdata_file(name, download=False)
        if f is None: rows.append(f'| {name} | pydicom-data lacks it | | | |'); continue
        try: sc, _, ft = frame_checks(m, f, US1_MM_PER_PX if name.startswith('US1') else None)
        except ValueError as e: rows.append(f'| {name} | | {e} | | |'); continue
        ok = fluid_tissue_passes(ft)
        rows.append(f'| {name} | {sc.mm_per_px[0]:.3f} | ' + ' | '.join(
            f"{b:.3g} -> {a:.3g} {'ok' if ok[k] else 'FAIL'}" for k, (b, a) in ft.items()) + ' |')
        print(rows[-1], flush=True)
    text = '\n'.join([f'# Real-frame checks: {m.describe()}', '', *rows, '',
                      f'Command: `python bench/real_frames.py`; machine: {platform.processor() or platform.machine()}, '
                      f'{os.cpu_count()} CPUs, no GPU.', ''])
    if model == 'bundled': (ROOT/'bench'/'results'/'real_frames.md').write_text(text)

if __name__ == '__main__':
    main()
