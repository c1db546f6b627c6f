// Loading, empty and error states that say what happened and what to do, and the token prompt
// shown when the API answers 401.
import { ApiError, storedToken, storeToken } from './api.ts';
import { h } from './dom.ts';

/** Dispatched on window when the reader gives a token. */
export const TOKEN_CHANGED = 'hindsight:token';

export function loading(what: string): HTMLElement {
  return h('p', { class: 'state loading', role: 'status' }, `Loading ${what}…`);
}

export function empty(title: string, ...lines: (string | Node)[]): HTMLElement {
  return h(
    'section',
    { class: 'state empty', role: 'status' },
    h('h2', {}, title),
    ...lines.map((l) => h('p', {}, l)),
  );
}

/** What an error means for the reader, in one sentence plus what to do. */
function explain(err: unknown): { title: string; detail: string } {
  if (!(err instanceof ApiError)) {
    return { title: 'Something went wrong in the page', detail: String(err) };
  }
  switch (err.kind) {
    case 'forbidden':
      return {
        title: 'Not allowed',
        detail: `Your token was accepted, but Kubernetes RBAC does not let you read this (${err.message}). Ask for a role that can get and list these resources.`,
      };
    case 'not-found':
      return {
        title: 'Nothing recorded here',
        detail: `${err.message}. It may be outside retained history, in a namespace no HistoryPolicy records, or not readable with your token.`,
      };
    case 'bad-request':
      return { title: 'The API refused the request', detail: err.message };
    case 'network':
      return { title: 'The API cannot be reached', detail: err.message };
    case 'server':
      return {
        title: `The API failed (${err.status})`,
        detail: `${err.message}. The operator log has the details; try again in a moment.`,
      };
    case 'auth':
      return { title: 'A bearer token is needed', detail: err.message };
  }
}

/** The state for a failed load: a token prompt for 401, an explanation otherwise. */
export function failure(err: unknown, retry: () => void): HTMLElement {
  if (err instanceof ApiError && err.kind === 'auth') return tokenPrompt(retry);
  const { title, detail } = explain(err);
  return h(
    'section',
    { class: 'state error', role: 'alert' },
    h('h2', {}, title),
    h('p', {}, detail),
    h('button', { type: 'button', onclick: () => retry() }, 'Try again'),
  );
}

function tokenPrompt(retry: () => void): HTMLElement {
  const rejected = storedToken() !== null;
  const input = h('input', {
    type: 'password',
    name: 'token',
    id: 'token',
    autocomplete: 'off',
    required: true,
    placeholder: 'eyJhbGciOi…',
  });
  const form = h(
    'form',
    {
      class: 'state auth',
      role: 'alert',
      onsubmit: (e: Event) => {
        e.preventDefault();
        storeToken(input.value);
        window.dispatchEvent(new Event(TOKEN_CHANGED));
        retry();
      },
    },
    h('h2', {}, rejected ? 'The token was not accepted' : 'The API needs a bearer token'),
    h(
      'p',
      {},
      rejected
        ? 'The Kubernetes API server did not accept the token you gave (it may have expired). Paste a new one.'
        : 'This Hindsight answers only callers with a Kubernetes token, and shows what their RBAC lets them read. Paste a token, for example from ',
      rejected ? null : h('code', {}, 'kubectl create token <service-account> -n <namespace>'),
      rejected ? null : '.',
    ),
    h('p', {}, 'The token is kept in this browser tab only (session storage).'),
    h('label', { for: 'token' }, 'Bearer token'),
    input,
    h('button', { type: 'submit' }, 'Use token'),
  );
  return form;
}
