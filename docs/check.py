#!/usr/bin/env python
"""Check the built docs site in a real browser: headless Chromium (Debian's `chromium`), driven by Playwright.

    .venv/bin/python docs/check.py [--site _site] [--shots _site_check]

Serves `--site` on 127.0.0.1 (a free port), opens the home page, and visits every page its sidebar links to.
Requests that leave 127.0.0.1 are blocked (the check runs offline; the only external things on the site are
the Colab badges, and they are reported, not checked). A page passes when:

- it answers HTTP 200 and none of the site's own requests fails (404, aborted), and no script throws;
- its text is not trivial (more than --min-text characters in the article) and no raw quarto/markdown leaked;
- every one of its images (the site's own and inline data: images) is decoded (naturalWidth > 0), and it
  shows at least as many figures as its executed notebook made (docs-manifest.json, written by build.py);
- the API reference (show_doc) of its notebook is rendered, and its maths is typeset when it has any;
- every link in its article to a page of the site resolves (HTTP 200, and the #anchor exists).

The sidebar itself must list every page of the manifest, in teaching order (index, then 01_motivation ... 12_enhance, then the appendices A1_core ... A10, numbers in number order).
Full-page screenshots of the home page and of one notebook page with figures go to --shots. Prints one line
per page, then 'docs: N passed, M failed'; exits 1 on any failure.
"""
import argparse, functools, json, os, re, shutil, sys, threading, time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urljoin, urldefrag, urlparse

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM_ARGS = ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking',
                 '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-default-apps',
                 '--disable-extensions', '--mute-audio', '--no-default-browser-check']
LEAKS = ('{target="_blank"', '```python', '#| echo', '#| output', 'output-file:', '<!-- WARNING')


class Handler(SimpleHTTPRequestHandler):
    requests = []  # (path, status) of every request the site answered
    def log_request(self, code='-', size='-'):
        try: code = int(code)
        except (TypeError, ValueError): code = 0
        Handler.requests.append((self.path, code))
    def log_message(self, *a): pass


def serve(site):
    srv = ThreadingHTTPServer(('127.0.0.1', 0), functools.partial(Handler, directory=str(site)))
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv, f'http://127.0.0.1:{srv.server_address[1]}/'


def find_chromium(given):
    for c in [given, os.environ.get('CHROMIUM'), '/usr/bin/chromium', shutil.which('chromium'),
              shutil.which('chromium-browser'), shutil.which('google-chrome')]:
        if c and Path(c).exists(): return c
    sys.exit("docs check: no Chromium found; install Debian's: apt-get install -y chromium (or pass --chromium PATH)")


JS_PAGE = """async () => {
  const imgs = Array.from(document.images);
  await Promise.all(imgs.map(i => i.complete ? 0 : new Promise(r => { i.onload = i.onerror = r; setTimeout(r, 10000); })));
  const art = document.querySelector('article') || document.body;
  const img = i => ({src: i.currentSrc || i.src, w: i.naturalWidth, out: !!i.closest('.jp-OutputArea-output')});
  const links = Array.from(art.querySelectorAll('a[href]')).map(a => a.href);
  const nav = Array.from(document.querySelectorAll('nav.md-nav--primary a.md-nav__link[href]'))
                   .map(a => ({href: a.href, text: a.textContent.trim()}));
  return {
    title: document.title,
    text: art.innerText,
    imgs: imgs.map(img),
    links, nav,
    ids: Array.from(document.querySelectorAll('[id]')).map(e => e.id),
    api: art.querySelectorAll('.jp-OutputArea-output.jp-RenderedMarkdown :is(h2, h3, h4)').length,
    mathjax_script: !!document.querySelector('script[src*="MathJax.js"]'),
  };
}"""
JS_MATH = """async () => {
  // after MathJax is done: how many formulas it found, how many it drew, and any $...$ left as raw TeX in prose
  const art = (document.querySelector('article') || document.body).cloneNode(true);
  art.querySelectorAll('pre, code, script, .MathJax_Preview, .MJX_Assistive_MathML').forEach(e => e.remove());
  const raw = (art.textContent.match(/\\$[^$\\n]{1,80}\\$/g) || []).slice(0, 3);
  if (typeof MathJax === 'undefined' || !MathJax.Hub) return {loaded: false, found: 0, typeset: 0, raw};
  await new Promise(r => { MathJax.Hub.Queue(r); setTimeout(r, 15000); });
  const art2 = (document.querySelector('article') || document.body).cloneNode(true);
  art2.querySelectorAll('pre, code, script, .MathJax_Preview, .MJX_Assistive_MathML, .MathJax, .MathJax_Display').forEach(e => e.remove());
  return {loaded: true, found: document.querySelectorAll('script[type^="math/tex"]').length,
          typeset: document.querySelectorAll('.MathJax').length,
          raw: (art2.textContent.match(/\\$[^$\\n]{1,80}\\$/g) || []).slice(0, 3)};
}"""


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--site', default='_site', help='the built site (default: _site)')
    ap.add_argument('--shots', default='_site_check', help='folder for the screenshots (default: _site_check)')
    ap.add_argument('--chromium', help='Chromium executable (default: /usr/bin/chromium, else chromium on PATH)')
    ap.add_argument('--min-text', type=int, default=500, help='least characters of text an article must have')
    a = ap.parse_args(argv)
    site, shots = (ROOT/a.site).resolve(), (ROOT/a.shots).resolve()
    if not (site/'index.html').exists(): sys.exit(f'docs check: no {site}/index.html; build it first: .venv/bin/python docs/build.py')
    mf = site/'docs-manifest.json'
    manifest = json.loads(mf.read_text()) if mf.exists() else {'executed': False, 'pages': []}
    expect = {p['page']: p for p in manifest['pages']}
    shots.mkdir(parents=True, exist_ok=True)
    for old in shots.glob('*.png'): old.unlink()

    from playwright.sync_api import sync_playwright
    srv, base = serve(site)
    t0 = time.time()
    results, external, seen_ids, page_links = {}, set(), {}, []
    with sync_playwright() as p:
        exe = find_chromium(a.chromium)
        browser = p.chromium.launch(executable_path=exe, headless=True, args=CHROMIUM_ARGS)
        ctx = browser.new_context(viewport={'width': 1280, 'height': 900}, device_scale_factor=1)

        def route(r):
            if r.request.url.startswith(base) or r.request.url.startswith('data:'): r.continue_()
            else: external.add(r.request.url); r.abort()
        ctx.route('**/*', route)
        pg = ctx.new_page()
        events = []
        pg.on('console', lambda m: events.append(('console', m.type, m.text, (m.location or {}).get('url', ''))))
        pg.on('pageerror', lambda e: events.append(('pageerror', 'error', str(e), '')))
        pg.on('requestfailed', lambda r: events.append(('requestfailed', r.failure or '', r.url, r.url)))
        pg.on('response', lambda r: r.status >= 400 and events.append(('http', str(r.status), r.url, r.url)))

        def visit(url, name):
            events.clear()
            fails, notes = [], []
            resp = pg.goto(url, wait_until='load', timeout=60000)
            status = resp.status if resp else 0
            if status != 200: fails.append(f'HTTP {status}')
            info = pg.evaluate(JS_PAGE)
            m = pg.evaluate(JS_MATH) if info['mathjax_script'] else None  # let MathJax finish before judging
            try: pg.wait_for_load_state('networkidle', timeout=15000)
            except Exception: pass
            own = lambda u: u.startswith(base) or u.startswith('data:')
            for kind, typ, text, u in events:
                if kind == 'pageerror': fails.append(f'script error: {text[:200]}')
                elif kind in ('requestfailed', 'http') and own(u): fails.append(f'{kind} {typ} {u[len(base)-1:] if u.startswith(base) else u[:60]}')
                elif kind == 'console' and typ == 'error' and (own(u) or not u) and 'net::ERR_FAILED' not in text \
                        and "font at 'about:blank'" not in text:  # MathJax 2's blank-font probe, harmless
                    fails.append(f'console error: {text[:200]}')
            ext_imgs = [i for i in info['imgs'] if not own(i['src'])]
            own_imgs = [i for i in info['imgs'] if own(i['src'])]
            broken = [i['src'][:80] for i in own_imgs if i['w'] <= 0]
            if broken: fails.append(f'{len(broken)} image(s) not rendered: {broken[:3]}')
            figs = sum(1 for i in own_imgs if i['out'] and i['w'] > 0)
            want = expect.get(name, {}).get('figures', 0)
            if figs < want: fails.append(f'{figs} figures shown, the notebook made {want}')
            n_text = len(info['text'].strip())
            if n_text < a.min_text: fails.append(f'only {n_text} characters of text')
            leaked = [s for s in LEAKS if s in info['text']]
            if leaked: fails.append(f'unrendered source in the page: {leaked}')
            want_api = expect.get(name, {}).get('api', 0)
            if info['api'] < min(want_api, 1) or (want_api and info['api'] < want_api):
                fails.append(f'API docs: {info["api"]} rendered, the notebook has {want_api} show_doc entries')
            math = ''
            if m is not None:
                if not m['loaded']: fails.append('MathJax did not load')
                elif m['typeset'] < m['found']: fails.append(f'maths: {m["typeset"]} of {m["found"]} formulas typeset')
                if m['raw']: fails.append(f'raw TeX left in the text: {m["raw"]}')
                if m['found']: math = f', {m["typeset"]}/{m["found"]} formulas typeset'
            fails = list(dict.fromkeys(fails))  # one line per distinct problem
            seen_ids[name] = set(info['ids'])
            page_links.extend((name, l) for l in info['links'])
            line = (f'HTTP {status}, {n_text} chars, {len(own_imgs)} images ({figs} figures, expected >= {want})'
                    f'{f", {len(ext_imgs)} external not checked" if ext_imgs else ""}, {info["api"]} API entries{math}')
            return info, fails, line

        # the home page and its sidebar
        info, fails, line = visit(base + 'index.html', 'index.html')
        results['index.html'] = (fails, line)
        pg.screenshot(path=str(shots/'index.png'), full_page=True)
        nav = []
        for n in info['nav']:
            u = urldefrag(n['href'])[0]
            if u.startswith(base) and u not in [x[0] for x in nav]: nav.append((u, n['text']))
        nav_pages = [u[len(base):] or 'index.html' for u, _ in nav]
        site_fails = []
        if not nav_pages: site_fails.append('the sidebar has no links')
        order = [p['page'] for p in manifest['pages']]
        if order and nav_pages != order:
            site_fails.append(f'sidebar order {nav_pages} is not the teaching order {order}')
        nbs = [p['notebook'] for p in manifest['pages']]
        if nbs and nbs != sorted(nbs, key=lambda s: (not s.endswith('/index.ipynb'), re.sub(r'\d+', lambda m: m.group().zfill(4), s))):
            site_fails.append(f'manifest pages are not in teaching order: {nbs}')
        print(f'sidebar: {len(nav_pages)} links: ' + ' | '.join(t for _, t in nav), flush=True)

        shot = None
        for u, _ in nav:
            name = u[len(base):] or 'index.html'
            if name in results: continue
            try: info, fails, line = visit(u, name)
            except Exception as e: info, fails, line = None, [f'{type(e).__name__}: {str(e)[:200]}'], 'not loaded'
            results[name] = (fails, line)
            if shot is None and not fails and expect.get(name, {}).get('figures', 0):
                pg.screenshot(path=str(shots/f'{Path(name).stem}.png'), full_page=True)
                shot = name

        # links inside the articles: every target on this site answers 200, every #anchor exists
        bad_links = {}
        checked = {}
        for name, l in page_links:
            if not l.startswith(base): continue
            u, frag = urldefrag(l)
            tgt = u[len(base):] or 'index.html'
            if tgt not in checked:
                r = ctx.request.get(u)
                checked[tgt] = r.status
            if checked[tgt] != 200: bad_links.setdefault(name, []).append(f'{l[len(base)-1:]} (HTTP {checked[tgt]})')
            elif frag and tgt in seen_ids and frag not in seen_ids[tgt]: bad_links.setdefault(name, []).append(f'{l[len(base)-1:]} (no such anchor)')
        for name, bl in bad_links.items():
            if name in results: results[name][0].append(f'{len(bl)} broken link(s): {sorted(set(bl))[:4]}')
        missing = [p for p in order if p not in results]
        if missing: site_fails.append(f'pages of the manifest not reachable from the sidebar: {missing}')
        if not manifest['executed']: print('note: the site was built with --no-execute: no figures were expected', flush=True)
        if not mf.exists(): print('note: no docs-manifest.json (not built by docs/build.py?): figure counts not checked', flush=True)
        browser.close()
    srv.shutdown()

    n_ok = n_bad = 0
    for name, (fails, line) in results.items():
        ok = not fails
        n_ok += ok; n_bad += not ok
        print(f'{"ok  " if ok else "FAIL"} {name:22} {line}', flush=True)
        for f in fails: print(f'       - {f}')
    print(f'{"ok  " if not site_fails else "FAIL"} {"(sidebar)":22} {len(nav_pages)} pages in teaching order, '
          f'{len(checked)} link targets checked')
    for f in site_fails: print(f'       - {f}')
    n_ok += not site_fails; n_bad += bool(site_fails)
    if external: print(f'external requests blocked (offline check, not counted): {len(external)}, e.g. {sorted(external)[0]}')
    print(f'screenshots: {", ".join(str(s.relative_to(ROOT) if s.is_relative_to(ROOT) else s) for s in sorted(shots.glob("*.png")))}')
    print(f'checked in {time.time() - t0:.0f} s with {exe}')
    print(f'docs: {n_ok} passed, {n_bad} failed')
    return 1 if n_bad else 0


if __name__ == '__main__':
    sys.exit(main())
