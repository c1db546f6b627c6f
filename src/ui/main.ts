// The UI's entry: a small router over two pages (the timeline at /, an object at /objects/UID)
// using the History API, so every view has a URL that can be shared.
import './style.css';
import { storedToken, storeToken } from './api.ts';
import { empty, TOKEN_CHANGED } from './status.ts';
import { link } from './dom.ts';
import { ObjectView } from './object.ts';
import { TimelineView } from './timeline.ts';

interface View {
  readonly el: HTMLElement;
  update(search: string): void;
  destroy(): void;
}

const app = document.getElementById('app')!;
const forget = document.getElementById('forget-token') as HTMLButtonElement;
let current: { path: string; view: View } | null = null;

function navigate(url: string, replace = false): void {
  if (replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  route();
}

function route(): void {
  forget.hidden = storedToken() === null;
  const path = location.pathname;
  if (current?.path !== path) {
    current?.view.destroy();
    const view = viewFor(path);
    current = view ? { path, view } : null;
    app.replaceChildren(
      view?.el ??
        empty(
          'No such page',
          `The UI has no page at ${path}. `,
          link('/', {}, 'Open the timeline'),
        ),
    );
    window.scrollTo(0, 0);
  }
  if (path === '/') sessionStorage.setItem('hindsight.timeline', location.search);
  current?.view.update(location.search);
}

function viewFor(path: string): View | null {
  if (path === '/') return new TimelineView(navigate);
  const m = /^\/objects\/([^/]+)\/?$/.exec(path);
  if (m) return new ObjectView(decodeURIComponent(m[1]!), navigate);
  return null;
}

// Internal links navigate without reloading; modified clicks (new tab) keep the browser's way.
document.addEventListener('click', (e) => {
  if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey)
    return;
  const a = e.target instanceof Element ? e.target.closest('a[data-nav]') : null;
  if (!(a instanceof HTMLAnchorElement) || a.origin !== location.origin) return;
  e.preventDefault();
  navigate(a.pathname + a.search);
});
window.addEventListener('popstate', route);
window.addEventListener(TOKEN_CHANGED, () => {
  forget.hidden = storedToken() === null;
});
forget.addEventListener('click', () => {
  storeToken(null);
  // Start over so nothing read with the old token stays on screen.
  current?.view.destroy();
  current = null;
  route();
});

route();
