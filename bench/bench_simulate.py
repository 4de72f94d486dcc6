"""Throughput of the synthetic data generator at 256x256 (goal: >= 20 pairs/s on 2 CPU cores).

    python bench/bench_simulate.py [--pairs-per-organ 10] [--size 256] [--workers 1 2]

Prints pairs/s for simulating alone and for `write_dataset` (simulate + four PNG writes per pair: low, high,
registered truth, region map),
for each number of worker threads.
"""
import argparse, os, platform, tempfile, time
from pathlib import Path

from usenhance_nb.data import ORGANS
from usenhance_nb.simulate import simulate_pair, write_dataset


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--pairs-per-organ', type=int, default=10)
    ap.add_argument('--size', type=int, default=256)
    ap.add_argument('--workers', type=int, nargs='+', default=[1, 2])
    a = ap.parse_args()
    n = a.pairs_per_organ * len(ORGANS)
    print(f'{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs; {n} pairs at {a.size}x{a.size}')
    simulate_pair('liver', 0, a.size)  # warm up (imports, FFT plans)

    t = time.perf_counter()
    for o in ORGANS:
        for i in range(a.pairs_per_organ): simulate_pair(o, i, a.size)
    print(f'simulate_pair only:          {n / (time.perf_counter() - t):6.1f} pairs/s')

    for w in a.workers:
        with tempfile.TemporaryDirectory() as d:
            t = time.perf_counter()
            write_dataset(Path(d), n_per_organ=a.pairs_per_organ, size=a.size, workers=w, progress=False)
            dt = time.perf_counter() - t
        print(f'write_dataset, {w} thread(s):  {n / dt:6.1f} pairs/s')


if __name__ == '__main__': main()
