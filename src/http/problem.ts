// RFC 9457 problem details: every error of the API is `application/problem+json` naming what is
// wrong, and no input produces a 500.
import type { ErrorRequestHandler, RequestHandler, Response } from 'express';
import { OPENAPI } from './openapi.ts';

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  /** The query or path parameter that is wrong, when one is. */
  param?: string;
}

export class ProblemError extends Error {
  override name = 'ProblemError';
  readonly status: number;
  readonly title: string;
  readonly param: string | undefined;

  constructor(status: number, title: string, detail: string, param?: string) {
    super(detail);
    this.status = status;
    this.title = title;
    this.param = param;
  }
}

/** The most characters of a caller's value a message quotes. */
const QUOTE_CHARS = 60;
/** A problem's detail at most: it says what is wrong, it does not echo a whole request. */
const MAX_DETAIL = 1000;
/** Characters that break a message's line or hide its text: controls, separators, bidi. */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const INVISIBLE = /[\u0000-\u001f\u007f-\u009f\u2028-\u202e\u2066-\u2069]/g;

function escapeInvisible(s: string): string {
  return s.replace(INVISIBLE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * A caller's value as a message quotes it: invisible characters escaped, so it prints as one
 * plain line, and a long one cut short, with its length.
 */
export function quote(value: string): string {
  const chars = Array.from(value);
  const shown = escapeInvisible(chars.slice(0, QUOTE_CHARS).join(''));
  return chars.length <= QUOTE_CHARS ? `'${shown}'` : `'${shown}…' (${chars.length} characters)`;
}

/** A detail fit to send whatever it quotes: one plain line, its start and end kept when long. */
function readable(detail: string): string {
  const d = escapeInvisible(detail);
  if (d.length <= MAX_DETAIL) return d;
  return `${d.slice(0, MAX_DETAIL - 250)} … ${d.slice(-200)}`;
}

/** A bad parameter: 400 naming it and what is allowed. */
export function badParam(param: string, detail: string): ProblemError {
  return new ProblemError(400, 'Invalid parameter', `${param}: ${detail}`, param);
}

export function sendProblem(res: Response, p: Problem): void {
  res
    .status(p.status)
    .type('application/problem+json')
    .json({ ...p, detail: readable(p.detail) });
}

function toProblem(err: ProblemError): Problem {
  return {
    type: 'about:blank',
    title: err.title,
    status: err.status,
    detail: err.message,
    ...(err.param ? { param: err.param } : {}),
  };
}

/** Unknown API paths answer 404 as problems rather than express's HTML page. */
export const notFound: RequestHandler = (req, res) => {
  sendProblem(res, {
    type: 'about:blank',
    title: 'Not found',
    status: 404,
    detail: `no API endpoint ${req.method} ${req.path}; see /api/v1/openapi.json`,
  });
};

function decodes(segment: string): boolean {
  try {
    decodeURIComponent(segment);
    return true;
  } catch {
    return false;
  }
}

/**
 * The path parameter of an API path (by the OpenAPI document's paths) whose segment is not valid
 * percent-encoding: the router refuses it before any handler could name it.
 */
function undecodableParam(path: string): ProblemError | undefined {
  const segments = path.split('/');
  for (const template of Object.keys(OPENAPI.paths)) {
    const parts = template.split('/');
    if (parts.length !== segments.length) continue;
    let bad: ProblemError | undefined;
    const matches = parts.every((part, i) => {
      const segment = segments[i] ?? '';
      const param = /^\{(.+)\}$/.exec(part)?.[1];
      if (param === undefined) return part === segment;
      if (!bad && !decodes(segment)) {
        bad = badParam(
          param,
          `${quote(segment)} is not valid percent-encoding (a % starts an escape such as %2F; send % itself as %25)`,
        );
      }
      return segment !== '';
    });
    if (matches && bad) return bad;
  }
  return undefined;
}

/** Maps errors to problems; anything unexpected is logged and answered without internals. */
export function errorHandler(log: (err: unknown) => void): ErrorRequestHandler {
  return (err: unknown, req, res, next) => {
    if (res.headersSent) return next(err);
    if (err instanceof ProblemError) return sendProblem(res, toProblem(err));
    const undecodable = err instanceof URIError && undecodableParam(req.originalUrl.split('?')[0]!);
    if (undecodable) return sendProblem(res, toProblem(undecodable));
    // express's body parser and friends set `status` on client errors.
    const status = (err as { status?: unknown }).status;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      return sendProblem(res, {
        type: 'about:blank',
        title: 'Bad request',
        status,
        detail: (err as Error).message,
      });
    }
    log(err);
    sendProblem(res, {
      type: 'about:blank',
      title: 'Internal error',
      status: 500,
      detail: 'the request failed inside Hindsight; the operator log has the details',
    });
  };
}
