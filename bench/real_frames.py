#!/usr/bin/env python3
"""The three real-frame checks of 12_enhance on every grey-image ultrasound frame of pydicom-data (first frame).

    python bench/real_frames.py                 # the bundled model -> bench/results/real_frames.md
    python bench/real_frames.py RUN/last.pt     # another checkpoint (printed only)

The table is `usenhance_nb.realframes.frames_table` (appendix A13_realframes shows it for the bundled model); this script
makes it for any checkpoint and writes the bundled model's.
"""
import os, platform, sys
from pathlib import Path
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from usenhance_nb.enhance import load_model
from usenhance_nb.realframes import frames_table

def main():
    model = sys.argv[1] if len(sys.argv) > 1 else 'bundled'
    m = load_model(model)
    table = frames_table(m)
    print(table.to_string(), flush=True)
    text = '\n'.join([f'# Real-frame checks: {m.describe()}', '', table.to_markdown(), '',
                      f'Command: `python bench/real_frames.py`; machine: {platform.processor() or platform.machine()}, '
                      f'{os.cpu_count()} CPUs, no GPU.', ''])
    if model == 'bundled': (ROOT/'bench'/'results'/'real_frames.md').write_text(text)

if __name__ == '__main__':
    main()
