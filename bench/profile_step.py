#!/usr/bin/env python3
"""Where the time of one CycleGAN+PL training step goes: torch.profiler over a few `Trainer.train_step` calls.

    python bench/profile_step.py --device cuda                       # the paper preset, batch 24, 256x256
    python bench/profile_step.py --device cpu --size 64 --batch 2 --ngf 16 --blocks 3   # a quick look on a CPU

Prints the time per step, then the profiled device time grouped by kind of work (convolutions, instance norm,
the perceptual network's layers are convolutions too, elementwise, optimizer, copies, other) and the step's
idle share: wall time the device spent without a kernel running (launch gaps, Python, synchronisation). Writes a
Chrome trace (`--trace FILE`, open it at ui.perfetto.dev) when asked. Not part of the test suite.
"""
import argparse, os, re, time, warnings
from collections import defaultdict
os.environ.setdefault('USENHANCE_OFFLINE', '1')
import torch
from torch.profiler import ProfilerActivity, profile

from usenhance_nb.core import get_config
from usenhance_nb.data import SAMPLE_DIR
from usenhance_nb.trainer import Trainer

# first match wins: cuDNN's layout transposes and batch-norm kernels (instance norm runs as batch norm) carry "cudnn" too
KINDS = [('instance norm', r'instance_norm|batch_norm|welford|norm'),
         ('copy / layout', r'nchwtonhwc|nhwctonchw|copy|contiguous|to_copy|cat|pad|reflection|clone|transpose|permute'),
         ('convolution', r'conv|cudnn|implicit_gemm|winograd|sm\d+_xmma|cutlass|gemm|mm\b|addmm'),
         ('optimizer', r'adam|foreach|multi_tensor|fused'),
         ('elementwise', r'add|mul|sub|div|relu|tanh|sigmoid|mean|sum|abs|pow|sqrt|exp|log|elementwise|vectorized|reduce|fill|where|clamp')]

def kind(name:str)->str:
    n = name.lower()
    return next((k for k, pat in KINDS if re.search(pat, n)), 'other')

def time_by_kind(prof, device, steps:int)->tuple[dict, float]:
    "Device time per step (s) of the leaf kernels (CUDA) or leaf aten ops (CPU), grouped by `kind`; and their total."
    by, total = defaultdict(float), 0.0
    for e in prof.key_averages():
        t = e.self_device_time_total if device.type == 'cuda' else e.self_cpu_time_total
        if t <= 0 or (device.type != 'cuda' and not e.key.startswith('aten::')): continue
        by[kind(e.key)] += t / steps / 1e6; total += t / steps / 1e6
    return dict(by), total

def print_kinds(prof, device, steps:int, wall:float)->float:
    "Print the table of `time_by_kind` and the idle share of `wall` seconds per step; returns the busy seconds per step."
    by, busy = time_by_kind(prof, device, steps)
    print(f'\n| kind of work | ms per step | share of busy time |\n|---|---|---|')
    for k, t in sorted(by.items(), key=lambda kv: -kv[1]):
        print(f'| {k} | {1000 * t:.1f} | {100 * t / busy:.0f}% |')
    print(f'\nbusy {1000 * busy:.1f} ms of {1000 * wall:.1f} ms wall per step: idle {100 * max(0, 1 - busy / wall):.0f}%'
          + ('' if device.type == 'cuda' else ' (CPU: op self-times, threads overlap)'))
    return busy

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    ap.add_argument('--preset', default='paper'); ap.add_argument('--variant', default='ours')
    ap.add_argument('--size', type=int, default=None); ap.add_argument('--batch', type=int, default=None)
    ap.add_argument('--ngf', type=int, default=None); ap.add_argument('--blocks', type=int, default=None)
    ap.add_argument('--set', nargs='*', default=[], help='more Config fields, e.g. amp=False compile=True accum_steps=4')
    ap.add_argument('--steps', type=int, default=5); ap.add_argument('--trace', default=None)
    a = ap.parse_args()
    over = {k: v for k, v in dict(image_size=a.size, batch_size=a.batch, ngf=a.ngf, ndf=a.ngf, n_blocks=a.blocks).items() if v}
    for kv in a.set:
        k, v = kv.split('=', 1)
        over[k] = {'True': True, 'False': False}.get(v, int(v) if v.isdigit() else v)
    cfg = get_config(a.preset, a.variant, **over)
    device = torch.device(a.device)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        tr = Trainer(cfg, SAMPLE_DIR, '/tmp/usenhance_profile', device=device, overwrite=True)
    s, b = cfg.image_size, cfg.batch_size
    low, high = (tr.to_device(torch.rand(b, 1, s, s) * 2 - 1) for _ in range(2))
    sync = torch.cuda.synchronize if device.type == 'cuda' else (lambda: None)
    for _ in range(2): tr.train_step(low, high)  # warm up (cuDNN autotuning, compile)
    sync(); t0 = time.perf_counter()
    for _ in range(a.steps): tr.train_step(low, high)
    sync(); wall = (time.perf_counter() - t0) / a.steps
    name = torch.cuda.get_device_name() if device.type == 'cuda' else 'CPU'
    print(f'{name}, torch {torch.__version__}: {a.preset} preset, {s}px, batch {b}, ngf {cfg.ngf}, {cfg.n_blocks} blocks, '
          f'amp={tr.amp}, channels_last={tr.memory_format == torch.channels_last}, compile={cfg.compile}, '
          f'accum_steps={cfg.accum_steps}, checkpoint_blocks={cfg.checkpoint_blocks}')
    print(f'step: {1000 * wall:.1f} ms = {b / wall:.2f} pairs/s (mean of {a.steps} steps)')

    acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == 'cuda' else [])
    with profile(activities=acts) as prof:
        for _ in range(a.steps): tr.train_step(low, high)
        sync()
    if a.trace: prof.export_chrome_trace(a.trace); print('trace:', a.trace)
    print_kinds(prof, device, a.steps, wall)
    print('\ntop 12 by self time:')
    key = 'self_device_time_total' if device.type == 'cuda' else 'self_cpu_time_total'
    print(prof.key_averages().table(sort_by=key, row_limit=12, max_name_column_width=60))

if __name__ == '__main__':
    main()
