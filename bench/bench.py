#!/usr/bin/env python3
"""Speed benchmark of usenhance-nb: prints one table of what it measured on this machine.

    python bench/bench.py                 # all rows, on the best device (CUDA if present, else CPU)
    python bench/bench.py --device cpu --quick

Rows: the machine's measured matmul peak (fp32, bf16) and one 3x3 conv at the generator's main shape; generator
forward FLOPs at 256x256 (paper: 15 blocks); a full CycleGAN+PL training step (both generators, both
discriminators, LPIPS) for the `cpu` preset and for `paper` at batch 1, in pairs/s and achieved GFLOP/s as a
fraction of the measured peak; inference (enhance) in images/s and ms per 256x256 image, fp32 and bf16 (CPU) /
fp16 (GPU). On a CPU each row runs in a fresh process: "before" with direct convolutions and glibc's default
malloc, then the Winograd copy of the generator (notebook 09a), "after" also with freed memory reused as the
console commands do (`reuse_freed_memory`). Peak memory of each row: CUDA's max allocated; on a CPU the row's
process's peak RSS (including about 0.75 GB for Python, torch and the package).
Not part of the test suite.
"""
import argparse, gc, multiprocessing, os, platform, resource, sys, time, warnings
from concurrent.futures import ProcessPoolExecutor
os.environ.setdefault('USENHANCE_OFFLINE', '1')  # never wait on a weight download while timing
import torch
from torch.utils.flop_counter import FlopCounterMode

from usenhance_nb.core import get_config
from usenhance_nb.data import SAMPLE_DIR
from usenhance_nb.generator import Generator
from usenhance_nb.trainer import Trainer
from usenhance_nb.enhance import enhance_batch
from usenhance_nb.trainer import autocast
from usenhance_nb.winograd import winograd_generator, reuse_freed_memory

def cpu_name()->str:
    "The CPU's model name (Linux), else what `platform` knows."
    try: return next(l.split(':', 1)[1].strip() for l in open('/proc/cpuinfo') if l.startswith('model name'))
    except (OSError, StopIteration): return platform.processor() or platform.machine()

def sync(device):
    if device.type == 'cuda': torch.cuda.synchronize()

def timeit(fn, device, min_time=2.0, warmup=2, max_iters=200):
    "Seconds per call of fn: warm up, then repeat until min_time has passed."
    for _ in range(warmup): fn()
    sync(device); n, t0 = 0, time.perf_counter()
    while True:
        fn(); n += 1
        sync(device)
        if time.perf_counter() - t0 >= min_time or n >= max_iters: return (time.perf_counter() - t0) / n

def count_flops(fn)->int:
    with FlopCounterMode(display=False) as fc: fn()
    return fc.get_total_flops()

def peak_mem(device)->str:
    if device.type == 'cuda':
        mb = torch.cuda.max_memory_allocated() / 2**20; torch.cuda.reset_peak_memory_stats(); return f"{mb:.0f} MiB (alloc)"
    return f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB (RSS)"

def matmul_peak(device, dtype, n):
    a, b = torch.randn(n, n, device=device, dtype=dtype), torch.randn(n, n, device=device, dtype=dtype)
    s = min(timeit(lambda: a @ b, device, min_time=0.3, warmup=1) for _ in range(5))  # a peak: the best of 5
    return 2 * n**3 / s / 1e9

def conv_rate(device, dtype, size):
    "One 3x3 conv at the residual blocks' shape: 256 -> 256 channels at (size/4)^2."
    conv = torch.nn.Conv2d(256, 256, 3, padding=1).to(device, dtype)
    x = torch.randn(1, 256, size // 4, size // 4, device=device, dtype=dtype)
    with torch.inference_mode():
        s = min(timeit(lambda: conv(x), device, min_time=0.3) for _ in range(5))
        f = count_flops(lambda: conv(x))
    return f / s / 1e9

def free(device):
    gc.collect()
    if device.type == 'cuda': torch.cuda.empty_cache(); torch.cuda.reset_peak_memory_stats()

def train_step_row(preset, device, batch, peak, note='', **over):
    "Pairs/s and achieved GFLOP/s of Trainer.train_step (both generators, both discriminators, LPIPS)."
    free(device)
    try: return _train_step_row(preset, device, batch, peak, note, **over)
    except torch.OutOfMemoryError:
        return dict(row=f"train step {preset} (batch {batch}) {note}", value='out of memory', extra=str(over), mem='')

def _train_step_row(preset, device, batch, peak, note='', **over):
    cfg = get_config(preset, 'ours', batch_size=batch, **over)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        tr = Trainer(cfg, SAMPLE_DIR, '/tmp/usenhance_bench', device=device)
    s_ = cfg.image_size
    low, high = (tr.to_device(torch.rand(batch, 1, s_, s_) * 2 - 1) for _ in range(2))
    step = lambda: tr.train_step(low, high)
    step()  # compile / warm up before counting
    flops = count_flops(step)
    sec = timeit(step, device, min_time=5.0 if device.type == 'cpu' else 3.0, warmup=1)
    gf = flops / sec / 1e9
    opts = f"amp={tr.amp}, channels_last={tr.memory_format == torch.channels_last}, compile={cfg.compile}"
    return dict(row=f"train step {preset} ({s_}px, batch {batch}) {note}", value=f"{batch / sec:.3g} pairs/s",
                extra=f"{opts}; {flops / batch / 1e9:.1f} GFLOP/pair, {gf:.0f} GFLOP/s = {100 * gf / peak:.0f}% of peak",
                mem=peak_mem(device))

def enhance_row(device, amp, n_blocks=15, size=256, batch=1, ngf=64, label='paper generator', winograd=False, note=''):
    free(device)
    g = Generator(ngf=ngf, n_blocks=n_blocks).to(device).eval()
    with torch.inference_mode(): flops = count_flops(lambda: g(torch.zeros(1, 1, size, size, device=device)))
    if winograd: g = winograd_generator(g)
    imgs = torch.randint(0, 256, (batch, size, size), dtype=torch.uint8).numpy()
    def run():
        with autocast(device, amp): return enhance_batch(g, imgs)
    sec = timeit(run, device, min_time=3.0)
    dt = {'cuda': 'fp16', 'cpu': 'bf16'}.get(device.type, 'amp') if amp else 'fp32'
    dt += f', Winograd{note}' if winograd else (', direct (before)' if device.type == 'cpu' else '')
    # the direct convolution's FLOPs per second of wall time: Winograd does fewer multiplications for the same work
    rate = flops * batch / sec / 1e9
    return dict(row=f"enhance {size}px, {label}, batch {batch}, {dt}", value=f"{batch / sec:.2f} img/s",
                extra=f"{1000 * sec / batch:.0f} ms/img ({rate:.0f} direct-GFLOP/s)", mem=peak_mem(device))

def add(rows, r):
    "Record a row and print it at once, so a run cut short still shows what it measured."
    rows.append(r)
    print(f"| {r['row']:<58} | {r['value']} | {r['extra']} | {r['mem']} |", flush=True)

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    ap.add_argument('--quick', action='store_true', help='skip the paper-size training step')
    ap.add_argument('--cpu_batch', type=int, default=8, help='batch of the cpu-preset training step')
    args = ap.parse_args()
    device = torch.device(args.device)
    gpu = torch.cuda.get_device_name() if device.type == 'cuda' else None
    print(f"# usenhance-nb benchmark, {time.strftime('%Y-%m-%d %H:%M')}, torch {torch.__version__}, "
          f"{gpu or cpu_name()}, {torch.get_num_threads()} threads\n")
    rows = []
    w = 58
    print(f"| {'what':<{w}} | value | detail | peak memory |\n|{'-' * (w + 2)}|---|---|---|", flush=True)
    p32 = matmul_peak(device, torch.float32, 4096 if device.type == 'cuda' else 1024)
    add(rows, dict(row='matmul fp32 peak', value=f"{p32:.0f} GFLOP/s", extra='', mem=''))
    p16 = matmul_peak(device, torch.bfloat16, 4096 if device.type == 'cuda' else 256)
    add(rows, dict(row='matmul bf16 peak', value=f"{p16:.1f} GFLOP/s", extra='', mem=''))
    slow_bf16 = device.type == 'cpu' and p16 < 0.25 * p32  # no native bf16 (e.g. AVX2-only CPUs): emulated, slow
    add(rows, dict(row='conv3x3 256ch @64x64 fp32', value=f"{conv_rate(device, torch.float32, 256):.0f} GFLOP/s", extra='', mem=''))
    g = Generator().to(device).eval()
    with torch.inference_mode(): f = count_flops(lambda: g(torch.zeros(1, 1, 256, 256, device=device)))
    add(rows, dict(row='generator forward, 256px, 15 blocks', value=f"{f / 1e9:.1f} GFLOP/img", extra='', mem=''))
    peak = p16 if device.type == 'cuda' else p32  # fraction of the bf16/fp16 peak on GPU (AMP), of fp32 on CPU
    base = dict(amp=False, channels_last=False)  # "before": plain fp32, NCHW
    if device.type == 'cuda': gpu_rows(rows, device, peak, base, args.quick, args.cpu_batch)
    else: cpu_rows(rows, device, peak, base, args.quick, args.cpu_batch, bf16=not slow_bf16, p16=p16, p32=p32)

def gpu_rows(rows, device, peak, base, quick, cpu_batch):
    add(rows, train_step_row('cpu', device, cpu_batch, peak, 'before', **base))
    add(rows, train_step_row('cpu', device, cpu_batch, peak, 'after'))
    if not quick:
        add(rows, train_step_row('paper', device, 1, peak, 'before', **base))
        add(rows, train_step_row('paper', device, 1, peak, 'after'))
    add(rows, enhance_row(device, amp=False))
    add(rows, enhance_row(device, amp=False, n_blocks=3, ngf=16, label='cpu-preset generator'))
    add(rows, enhance_row(device, amp=True))
    add(rows, train_step_row('paper', device, 24, peak, 'before', **base))
    add(rows, train_step_row('paper', device, 24, peak, 'after'))
    add(rows, train_step_row('paper', device, 24, peak, 'after + compile', compile=True))
    add(rows, enhance_row(device, amp=True, batch=32))

def _row_child(fn, reuse, args, kw):
    if reuse: reuse_freed_memory()
    return fn(*args, **kw)

def in_fresh_process(fn, *args, reuse=False, **kw):
    "One row in a new process: its peak RSS is its own, and so is glibc's malloc setting (`reuse`)."
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context('spawn')) as ex:
        return ex.submit(_row_child, fn, reuse, args, kw).result()

def cpu_rows(rows, device, peak, base, quick, cpu_batch, bf16, p16, p32):
    "Each row in a fresh process; 'after' reuses freed memory as the console commands do."
    before = lambda fn, *a, **k: add(rows, in_fresh_process(fn, *a, **k))
    after = lambda fn, *a, **k: add(rows, in_fresh_process(fn, *a, reuse=True, **k))
    before(train_step_row, 'cpu', device, cpu_batch, peak, 'before', **base)
    after(train_step_row, 'cpu', device, cpu_batch, peak, 'after + reused memory')
    if not quick:
        before(train_step_row, 'paper', device, 1, peak, 'before', **base)
        after(train_step_row, 'paper', device, 1, peak, 'after + reused memory')
    for batch in (1, 8):
        before(enhance_row, device, amp=False, batch=batch)
        before(enhance_row, device, amp=False, batch=batch, winograd=True)
        after(enhance_row, device, amp=False, batch=batch, winograd=True, note=' + reused memory (after)')
    before(enhance_row, device, amp=False, n_blocks=3, ngf=16, label='cpu-preset generator')
    after(enhance_row, device, amp=False, n_blocks=3, ngf=16, label='cpu-preset generator', winograd=True,
          note=' + reused memory (after)')
    if bf16: before(enhance_row, device, amp=True)
    else: add(rows, dict(row='enhance 256px, bf16', value='skipped', mem='',
                         extra=f"bf16 runs at {p16:.1f} vs {p32:.0f} GFLOP/s fp32 here: emulated, ~{p32 / p16:.0f}x slower"))

if __name__ == '__main__':
    main()
