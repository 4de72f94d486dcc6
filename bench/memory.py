"""Peak memory and speed of a training step with each memory option (`accum_steps`, `checkpoint_blocks`).

Each configuration runs in its own process, because a process's peak resident set only grows. On a CPU the
figures are the process's peak RSS (whole process, and above what it held before the first step: activations
and gradients), measured at a reduced size; on CUDA the allocator's peak. Run by hand, never in the tests:

    .venv/bin/python bench/memory.py                      # CPU, reduced size (see --size/--ngf/--batch)
    .venv/bin/python bench/memory.py --device cuda --size 256 --ngf 64 --batch 24   # the paper preset on a GPU
"""
import argparse, json, os, resource, subprocess, sys, time

OPTIONS = [('plain', {}), ('accum_steps=2', dict(accum_steps=2)), ('accum_steps=4', dict(accum_steps=4)),
           ('checkpoint_blocks', dict(checkpoint_blocks=True)),
           ('accum_steps=4 + checkpoint_blocks', dict(accum_steps=4, checkpoint_blocks=True))]

def rss_mib(): return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB

def one(a, over):
    "Run in a child process: build the paper preset at the given size, time `steps` steps after one warm-up step."
    import torch
    from usenhance_nb.core import get_config
    from usenhance_nb.data import SAMPLE_DIR
    from usenhance_nb.trainer import Trainer
    torch.manual_seed(0)
    cfg = get_config('paper', image_size=a.size, ngf=a.ngf, ndf=a.ngf, batch_size=a.batch, lpips_net=a.lpips, **over)
    tr = Trainer(cfg, SAMPLE_DIR, '/tmp/usenhance_memory_bench', device=a.device)
    low, high = (torch.rand(a.batch, 1, a.size, a.size, device=tr.device) * 2 - 1 for _ in range(2))
    low, high = tr.to_device(low), tr.to_device(high)
    cuda = tr.device.type == 'cuda'
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    if cuda: torch.cuda.reset_peak_memory_stats()
    before = torch.cuda.memory_allocated() / 2**20 if cuda else rss_mib()
    tr.train_step(low, high); sync()
    t0 = time.perf_counter()
    for _ in range(a.steps): tr.train_step(low, high)
    sync(); dt = time.perf_counter() - t0
    peak = torch.cuda.max_memory_allocated() / 2**20 if cuda else rss_mib()
    name = torch.cuda.get_device_name() if cuda else 'cpu'
    return dict(peak_mib=peak, above_start_mib=peak - before, pairs_per_s=a.batch * a.steps / dt, device=name)

if __name__ == '__main__':
    ap = argparse.ArgumentParser()
    ap.add_argument('--device', default='cpu'); ap.add_argument('--size', type=int, default=64)
    ap.add_argument('--ngf', type=int, default=32); ap.add_argument('--batch', type=int, default=4)
    ap.add_argument('--steps', type=int, default=2); ap.add_argument('--lpips', default='vgg-untrained')
    ap.add_argument('--child', default=None)
    a = ap.parse_args()
    if a.child is not None:
        print(json.dumps(one(a, json.loads(a.child)))); sys.exit()
    print(f"paper preset at {a.size}x{a.size}, ngf=ndf={a.ngf}, 15 blocks, batch {a.batch}, LPIPS {a.lpips}, "
          f"device {a.device}, {a.steps} timed steps")
    print('| option | peak memory (MiB) | above start (MiB) | ratio to plain | pairs/s | ratio to plain |')
    print('|---|---|---|---|---|---|')
    base = None
    for label, over in OPTIONS:
        cmd = [sys.executable, __file__, '--child', json.dumps(over)] + [f'--{k}={v}' for k, v in vars(a).items() if k != 'child']
        out = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, 'USENHANCE_OFFLINE': '1'})
        if out.returncode: print(f'| {label} | failed: {out.stderr.strip().splitlines()[-1]} |'); continue
        r = json.loads(out.stdout.strip().splitlines()[-1])
        base = base or r
        print(f"| {label} | {r['peak_mib']:,.0f} | {r['above_start_mib']:,.0f} | {r['above_start_mib'] / base['above_start_mib']:.2f} "
              f"| {r['pairs_per_s']:.2f} | {r['pairs_per_s'] / base['pairs_per_s']:.2f} |", flush=True)
    print(f"device: {base['device'] if base else '?'}")
