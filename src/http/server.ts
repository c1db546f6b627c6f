// The operator's listeners: the main one, plain HTTP or HTTPS with a certificate re-read when its
// files change (a Secret volume swaps them in place: watchFile follows the symlinks), and an
// optional plain one that answers only health and metrics, for probes and scrapers.
import { readFileSync, unwatchFile, watchFile } from 'node:fs';
import { createServer as createHttpServer, type RequestListener, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import { createSecureContext } from 'node:tls';
import type { Logger } from '../log.ts';
import type { ListenAddress } from '../options.ts';
import { UsageError } from '../options.ts';

export interface TlsFiles {
  cert: string;
  key: string;
}

export interface Listening {
  server: Server;
  /** `host:port` actually bound. */
  address: string;
  close(): Promise<void>;
}

/** How often the certificate files are checked for a change, by default. */
const RELOAD_CHECK_MS = 5_000;

/** Reads and checks a certificate and its key; the message names the file that is wrong. */
export function loadTls(files: TlsFiles): { cert: Buffer; key: Buffer } {
  const read = (what: string, path: string) => {
    try {
      return readFileSync(path);
    } catch (err) {
      throw new UsageError(
        `cannot read the TLS ${what} ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
        { cause: err },
      );
    }
  };
  const cert = read('certificate', files.cert);
  const key = read('key', files.key);
  try {
    createSecureContext({ cert, key });
  } catch (err) {
    throw new UsageError(
      `the TLS certificate ${files.cert} and key ${files.key} do not make a usable pair (${(err as Error).message})`,
      { cause: err },
    );
  }
  return { cert, key };
}

/** The most a request line and its headers may be (Node's default). */
const MAX_HEADER_KIB = 16;

/**
 * What Node answers itself, before the app sees a request: a request line and headers too long
 * get a problem saying so (Node's own 431 has no body), anything else unparsable a bare 400.
 */
function answerClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (!socket.writable || err.code === 'ECONNRESET') {
    socket.destroy();
    return;
  }
  if (err.code === 'HPE_HEADER_OVERFLOW') {
    const body = JSON.stringify({
      type: 'about:blank',
      title: 'Request Header Fields Too Large',
      status: 431,
      detail: `the request line and headers may be at most ${MAX_HEADER_KIB} KiB: shorten the query (fewer or shorter parameters)`,
    });
    socket.end(
      `HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Type: application/problem+json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
    return;
  }
  socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
}

/** Listens on `at` with `app`, over HTTPS when `tls` is given. */
export async function listen(
  app: RequestListener,
  at: ListenAddress,
  flag: string,
  log: Logger,
  tls: TlsFiles | null = null,
  reloadCheckMs = RELOAD_CHECK_MS,
): Promise<Listening> {
  const server = tls
    ? createHttpsServer({ ...loadTls(tls), minVersion: 'TLSv1.2' }, app)
    : createHttpServer(app);
  server.on('clientError', answerClientError);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        new UsageError(
          `cannot listen on ${at.host}:${at.port} (${err.code ?? err.message}); choose another ${flag} address`,
          { cause: err },
        ),
      ),
    );
    server.listen(at.port, at.host, () => resolve());
  });
  const reload = () => {
    try {
      (server as ReturnType<typeof createHttpsServer>).setSecureContext(loadTls(tls!));
      log.info('Reloaded the TLS certificate', { cert: tls!.cert });
    } catch (err) {
      log.warn('The changed TLS certificate cannot be used; serving the previous one', {
        error: err,
      });
    }
  };
  if (tls) {
    for (const f of [tls.cert, tls.key]) {
      watchFile(f, { interval: reloadCheckMs, persistent: false }, (cur, prev) => {
        if (cur.mtimeMs !== prev.mtimeMs || cur.ino !== prev.ino || cur.size !== prev.size)
          reload();
      });
    }
  }
  const addr = server.address();
  const address = typeof addr === 'object' && addr ? `${addr.address}:${addr.port}` : String(addr);
  return {
    server,
    address,
    close: () =>
      new Promise<void>((r) => {
        if (tls) for (const f of [tls.cert, tls.key]) unwatchFile(f);
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}
