#!/usr/bin/env python
"""Check the explorer of 12_enhance in a real JupyterLab, in headless Chromium (Debian's `chromium`), driven by Playwright.

    .venv/bin/python docs/check_explorer.py [--shots _explorer_check] [--timeout 900] [--jupyter .venv/bin/jupyter]

Starts `jupyter lab` on 127.0.0.1 (a free port, a random token, no browser) in a temporary folder holding a copy of
nbs/12_enhance.ipynb (JupyterLab saves the notebooks it opens: the repository's stays as it is), opens it, runs all its
cells (Run > Run All Cells: the explorer cell needs the cells above it), and waits for the explorer's widgets to render.
It passes when:

- the explorer's image widget shows a decoded image (naturalWidth > 0) and its sliders are rendered;
- dragging the wipe slider's handle changes the value it shows and the image (the kernel redrew it);
- no cell of the notebook ends in an error.

Screenshots of the explorer before and after the drag go to --shots. Prints one line per check, then
'explorer: N passed, M failed'; exits 1 on any failure. Requests that leave 127.0.0.1 are blocked.
"""
import argparse, os, secrets, shutil, socket, subprocess, sys, tempfile, time, urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
from check import CHROMIUM_ARGS, find_chromium   # the site check's browser settings


def free_port()->int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0)); return s.getsockname()[1]


def find_jupyter(given)->str:
    for c in [given, ROOT/'.venv'/'bin'/'jupyter', Path(sys.executable).parent/'jupyter', shutil.which('jupyter')]:
        if c and Path(c).exists(): return str(c)
    sys.exit("explorer check: no jupyter found; install the project (pip install -e .) or pass --jupyter PATH")


def start_lab(jupyter:str, port:int, token:str, log:Path, root:Path)->subprocess.Popen:
    "jupyter lab on 127.0.0.1:port, serving `root`, with `token`; its output goes to `log`."
    env = {**os.environ, 'USENHANCE_OFFLINE': '1', 'JUPYTER_PLATFORM_DIRS': '1'}
    cmd = [str(jupyter), 'lab', '--no-browser', '--ip=127.0.0.1', f'--port={port}', f'--IdentityProvider.token={token}',
           f'--ServerApp.root_dir={root}', '--ServerApp.open_browser=False'] + (['--allow-root'] if os.geteuid() == 0 else [])
    return subprocess.Popen(cmd, stdout=open(log, 'w'), stderr=subprocess.STDOUT, env=env, cwd=root)


def wait_http(url:str, timeout:float=120)->None:
    end = time.time() + timeout
    while time.time() < end:
        try:
            with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(url, timeout=5) as r:   # no proxy for 127.0.0.1
                if r.status == 200: return
        except Exception: time.sleep(1)
    raise SystemExit(f"explorer check: JupyterLab did not answer at {url} within {timeout:.0f} s")


JS_READY = """() => {
  const imgs = Array.from(document.querySelectorAll('.jp-OutputArea-output .widget-image'));
  const i = imgs[imgs.length - 1];
  return !!(i && i.complete && i.naturalWidth > 0);
}"""
JS_CHANGED = """(src) => {
  const imgs = Array.from(document.querySelectorAll('.jp-OutputArea-output .widget-image'));
  const i = imgs[imgs.length - 1];
  return !!(i && i.src !== src && i.complete && i.naturalWidth > 0);
}"""
JS_IMAGE = """() => {
  const imgs = Array.from(document.querySelectorAll('.jp-OutputArea-output .widget-image'));
  const i = imgs[imgs.length - 1];
  return i ? {src: i.src, w: i.naturalWidth, h: i.naturalHeight} : null;
}"""
JS_ERRORS = """() => Array.from(document.querySelectorAll('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'))
  .map(e => e.innerText).filter(t => /Error|Traceback/.test(t)).map(t => t.slice(0, 300))"""


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--shots', default='_explorer_check', help='folder for the screenshots (default: _explorer_check)')
    ap.add_argument('--chromium', help='Chromium executable (default: /usr/bin/chromium, else chromium on PATH)')
    ap.add_argument('--jupyter', help='jupyter executable with the project installed (default: .venv/bin/jupyter)')
    ap.add_argument('--timeout', type=float, default=900, help='seconds to wait for the notebook to run (default: 900)')
    a = ap.parse_args(argv)
    from playwright.sync_api import sync_playwright
    shots = Path(a.shots); shots.mkdir(parents=True, exist_ok=True)
    port, token = free_port(), secrets.token_hex(16)
    work = Path(tempfile.mkdtemp(prefix='explorer-check-'))   # a copy: JupyterLab saves what it opens, never into nbs/
    shutil.copy(ROOT/'nbs'/'12_enhance.ipynb', work/'12_enhance.ipynb')
    lab = start_lab(find_jupyter(a.jupyter), port, token, shots/'jupyterlab.log', work)
    base = f'http://127.0.0.1:{port}'
    results = []
    def check(name, ok, detail=''):
        results.append(ok); print(f"{'PASS' if ok else 'FAIL'} {name}" + (f": {detail}" if detail else ''))
    try:
      try:
        wait_http(f'{base}/api/status?token={token}')
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=find_chromium(a.chromium), headless=True, args=CHROMIUM_ARGS)
            pg = browser.new_page(viewport={'width': 1400, 'height': 1400})
            pg.route('**/*', lambda r: r.continue_() if r.request.url.startswith(base) else r.abort())
            pg.goto(f'{base}/lab/tree/12_enhance.ipynb?token={token}')
            pg.wait_for_selector('.jp-NotebookPanel .jp-Cell', timeout=120_000)
            try:   # JupyterLab asks which kernel when the notebook's kernelspec is not an exact match: take the one it offers
                pg.get_by_role('button', name='Select', exact=True).click(timeout=15_000)
            except Exception: pass
            try: pg.wait_for_selector('.jp-Notebook-ExecutionIndicator[data-status="idle"]', timeout=120_000, state='attached')
            except Exception: pg.wait_for_timeout(10_000)   # no indicator in this JupyterLab: give the kernel time to start
            pg.get_by_role('menuitem', name='Run', exact=True).click()
            pg.get_by_text('Run All Cells', exact=True).click()
            print('running all cells of 12_enhance ...', flush=True)
            try: pg.wait_for_selector('.jp-OutputArea-output .widget-image', timeout=a.timeout * 1000)
            except Exception:
                pg.screenshot(path=str(shots/'failure.png'), full_page=False)
                errors = pg.evaluate(JS_ERRORS)
                check('explorer rendered', False, f"no explorer image after {a.timeout:.0f} s; errors: {'; '.join(errors)[:800]}; "
                      f"screenshot {shots/'failure.png'}")
                raise
            pg.wait_for_function(JS_READY, timeout=60_000)
            explorer = pg.locator('.jp-OutputArea-output .widget-vbox').last
            explorer.scroll_into_view_if_needed()
            before = pg.evaluate(JS_IMAGE)
            check('explorer image drawn', bool(before and before['w'] > 0), f"{before and before['w']}x{before and before['h']}")
            sliders = explorer.locator('.widget-slider')
            check('sliders rendered', sliders.count() >= 4, f'{sliders.count()} sliders')
            explorer.screenshot(path=str(shots/'explorer_before.png'))
            wipe = sliders.first
            readout = wipe.locator('.widget-readout')
            value0 = readout.inner_text()
            handle = wipe.locator('.noUi-handle').first
            handle.scroll_into_view_if_needed()                # the image is tall: bring the slider on screen first
            box = handle.bounding_box()
            pg.mouse.move(box['x'] + box['width'] / 2, box['y'] + box['height'] / 2)
            pg.mouse.down(); pg.mouse.move(box['x'] - 80, box['y'] + box['height'] / 2, steps=10); pg.mouse.up()
            if readout.inner_text() == value0:                 # the drag did not take: the keyboard, as a user could
                handle.focus()
                for _ in range(10): pg.keyboard.press('ArrowLeft')
            pg.wait_for_function(JS_CHANGED, arg=before['src'], timeout=60_000)
            value1 = readout.inner_text()
            check('wipe slider moved', value1 != value0, f'{value0} -> {value1}')
            check('image redrawn after the drag', pg.evaluate(JS_IMAGE)['src'] != before['src'])
            explorer.screenshot(path=str(shots/'explorer_after.png'))
            errors = pg.evaluate(JS_ERRORS)
            check('no cell ended in an error', not errors, '; '.join(errors)[:500])
            browser.close()
      except Exception as e:
        if not results or all(results): check('explorer check ran', False, f'{type(e).__name__}: {str(e)[:300]}')
    finally:
        shutil.rmtree(work, ignore_errors=True)
        lab.terminate()
        try: lab.wait(timeout=20)
        except subprocess.TimeoutExpired: lab.kill()
    print(f"explorer: {sum(results)} passed, {len(results) - sum(results)} failed (screenshots in {shots})")
    return 0 if results and all(results) else 1


if __name__ == '__main__': sys.exit(main())
