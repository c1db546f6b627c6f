// Kubernetes API and connection errors, mapped once into errors the rest of Hindsight can test.

export type KubeErrorReason =
  | 'NotFound'
  | 'Conflict'
  | 'Gone'
  | 'Forbidden'
  | 'Unauthorized'
  | 'Invalid'
  | 'Unreachable'
  | 'Other';

export class KubeError extends Error {
  override name = 'KubeError';
  readonly reason: KubeErrorReason;
  readonly status: number | undefined;

  constructor(message: string, reason: KubeErrorReason, status?: number, options?: ErrorOptions) {
    super(message, options);
    this.reason = reason;
    this.status = status;
  }
}

const BY_STATUS: Record<number, KubeErrorReason> = {
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  409: 'Conflict',
  410: 'Gone',
  422: 'Invalid',
};

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_SOCKET',
]);

function errorCode(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/** Maps an error thrown by the client library (HTTP status or network failure) to a KubeError. */
export function toKubeError(err: unknown, what: string): KubeError {
  if (err instanceof KubeError) return err;
  const status = (err as { code?: unknown; statusCode?: unknown }).code;
  const httpStatus =
    typeof status === 'number'
      ? status
      : typeof (err as { statusCode?: unknown }).statusCode === 'number'
        ? (err as { statusCode: number }).statusCode
        : undefined;
  if (httpStatus !== undefined) {
    const body = (err as { body?: unknown }).body;
    const detail = apiMessage(body) ?? `HTTP ${httpStatus}`;
    return new KubeError(`${what}: ${detail}`, BY_STATUS[httpStatus] ?? 'Other', httpStatus, {
      cause: err,
    });
  }
  const code = errorCode(err);
  if (code && NETWORK_CODES.has(code)) {
    return new KubeError(`${what}: ${code}`, 'Unreachable', undefined, { cause: err });
  }
  return new KubeError(`${what}: ${causeChain(err)}`, 'Other', undefined, { cause: err });
}

/** "fetch failed: bad port" rather than the bare "fetch failed" of the outermost error. */
function causeChain(err: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = err, depth = 0; e !== undefined && e !== null && depth < 5; depth++) {
    parts.push(e instanceof Error ? e.message : JSON.stringify(e));
    e = e instanceof Error ? e.cause : undefined;
  }
  return parts.join(': ');
}

function apiMessage(body: unknown): string | undefined {
  let parsed = body;
  if (typeof body === 'string') {
    try {
      parsed = JSON.parse(body);
    } catch {
      return body.trim() || undefined;
    }
  }
  const message = (parsed as { message?: unknown } | undefined)?.message;
  return typeof message === 'string' ? message : undefined;
}
