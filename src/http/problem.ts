// RFC 9457 problem details: every error of the API is `application/problem+json` naming what is
// wrong, and no input produces a 500.
import type { ErrorRequestHandler, RequestHandler, Response } from 'express';

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

/** A bad parameter: 400 naming it and what is allowed. */
export function badParam(param: string, detail: string): ProblemError {
  return new ProblemError(400, 'Invalid parameter', `${param}: ${detail}`, param);
}

export function sendProblem(res: Response, p: Problem): void {
  res.status(p.status).type('application/problem+json').json(p);
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

/** Maps errors to problems; anything unexpected is logged and answered without internals. */
export function errorHandler(log: (err: unknown) => void): ErrorRequestHandler {
  return (err: unknown, _req, res, next) => {
    if (res.headersSent) return next(err);
    if (err instanceof ProblemError) return sendProblem(res, toProblem(err));
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
