#!/usr/bin/env python3
"""The three real-frame checks of 12_enhance on every grey-image ultrasound frame of pydicom-data (first frame).

    python bench/real_frames.py                 # the bundled model -> bench/results/real_frames.md
    python bench/real_frames.py RUN/last.pt     # another checkpoint (printed only)

Fluid and tissue are picked by `enhance.fluid_tissue` (on both images, over 4 mm); a check passes when the fluid's mean
grey moves by at most 15 levels, the tissue's by at most 30 %, and the gCNR does not drop. US1_* carry no spacing: the
screen's "3cm" over 237 rows gives 30/237 mm per pixel; the others carry a Sequence of Ultrasound Regions.
"""
import os, platform, sys
from dataclasses import replace
from pathlib import Path
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from pydicom.data import get_testdata_file
from usenhance_nb.enhance import enhance_scan, fluid_tissue, load_model, read_scan
from usenhance_nb.dicom import grey_frames, grey_mask

FRAMES = ['US1_UNCR.dcm', 'US1_J2KR.dcm', 'US1_J2KI.dcm', 'OBXXXX1A.dcm', 'gdcm-US-ALOKA-16.dcm',
          'JPGLosslessP14SV1_1s_1f_8b.dcm', 'examples_ybr_color.dcm', 'examples_palette.dcm']
US1_MM = 30 / 237

def passes(ft:dict)->dict:
    (fb, fa), (tb, ta), (gb, ga) = ft['fluid'], ft['tissue'], ft['gcnr']
    return dict(fluid=abs(fa - fb) <= 15, tissue=abs(ta / tb - 1) <= 0.3, gcnr=ga >= gb)

def main():
    model = sys.argv[1] if len(sys.argv) > 1 else 'bundled'
    m = load_model(model)
    rows = ['| frame | mm per px | fluid | tissue | gCNR |', '|---|---|---|---|---|']
    for name in FRAMES:
        f = get_testdata_file(name, download=False)
        if f is None: rows.append(f'| {name} | pydicom-data lacks it | | | |'); continue
        sc = read_scan(f, mm_per_px=US1_MM if name.startswith('US1') else None)
        sc = replace(sc, frames=sc.frames[:1])
        before, after = sc.frames[0], enhance_scan(m, sc)[0]
        try: ft = fluid_tissue(grey_frames(before), grey_frames(after), sc.mask & grey_mask(before), sc.mm_per_px[0])
        except ValueError as e: rows.append(f'| {name} | {sc.mm_per_px[0]:.3f} | {e} | | |'); continue
        ok = passes(ft)
        rows.append(f'| {name} | {sc.mm_per_px[0]:.3f} | ' + ' | '.join(
            f"{b:.3g} -> {a:.3g} {'ok' if ok[k] else 'FAIL'}" for k, (b, a) in ft.items()) + ' |')
        print(rows[-1], flush=True)
    text = '\n'.join([f'# Real-frame checks: {m.describe()}', '', *rows, '',
                      f'Command: `python bench/real_frames.py`; machine: {platform.processor() or platform.machine()}, '
                      f'{os.cpu_count()} CPUs, no GPU.', ''])
    if model == 'bundled': (ROOT/'bench'/'results'/'real_frames.md').write_text(text)

if __name__ == '__main__':
    main()
