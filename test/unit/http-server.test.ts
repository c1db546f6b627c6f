// The operator's listener over HTTPS: it serves the certificate it was given, takes a renewed one
// when the files change (as a Secret volume updates them) without a restart, keeps serving the
// old one when the new files are unusable, and names the file that is wrong at start-up.
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listen, loadTls, type Listening } from '../../src/http/server.ts';
import { createLogger } from '../../src/log.ts';
import { waitFor } from '../cluster/control-plane.ts';
import { servingCertificate } from '../cluster/pki.ts';

type Issued = Awaited<ReturnType<typeof servingCertificate>>;

/** The CN of the certificate the server presents now. */
function presented(port: number, cas: Buffer[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, ca: cas }, () => {
      const cn = s.getPeerCertificate().subject.CN;
      s.end();
      resolve(String(Array.isArray(cn) ? cn.join(',') : cn));
    });
    s.on('error', reject);
  });
}

describe('listen with TLS', () => {
  let dir: string;
  let a: Issued;
  let b: Issued;
  let live: Listening;
  const files = () => ({ cert: join(dir, 'tls.crt'), key: join(dir, 'tls.key') });
  const install = (c: Issued) => {
    copyFileSync(c.cert, files().cert);
    copyFileSync(c.key, files().key);
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hindsight-tls-'));
    a = await servingCertificate(dir, 'first', ['127.0.0.1']);
    b = await servingCertificate(dir, 'second', ['127.0.0.1']);
    install(a);
    live = await listen(
      (_req, res) => res.end('ok'),
      { host: '127.0.0.1', port: 0 },
      '--listen',
      createLogger('error'),
      files(),
      50,
    );
  }, 30_000);
  afterAll(async () => {
    await live?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves its certificate, takes a renewed one without a restart, and keeps it when the next is unusable', async () => {
    const port = Number(live.address.split(':').at(-1));
    const cas = [readFileSync(a.ca), readFileSync(b.ca)];
    expect(await presented(port, cas)).toBe('first');
    install(b);
    await waitFor(
      'the renewed certificate',
      10_000,
      async () => (await presented(port, cas)) === 'second',
    );
    writeFileSync(files().cert, 'not a certificate');
    await new Promise((r) => setTimeout(r, 300));
    expect(await presented(port, cas)).toBe('second');
  });

  it('names the file that is wrong', () => {
    expect(() => loadTls({ cert: join(dir, 'missing.crt'), key: b.key })).toThrow(
      /^cannot read the TLS certificate .*missing\.crt \(ENOENT\)$/,
    );
    expect(() => loadTls({ cert: a.cert, key: b.key })).toThrow(
      /^the TLS certificate .*first-tls\.crt and key .*second-tls\.key do not make a usable pair/,
    );
  });
});

describe('listen: requests Node refuses before the app', () => {
  it('answers a request line past 16 KiB with a 431 problem saying what to shorten', async () => {
    const live = await listen(
      (_req, res) => res.end('ok'),
      { host: '127.0.0.1', port: 0 },
      '--listen',
      createLogger('error'),
    );
    try {
      const base = `http://${live.address}`;
      expect((await fetch(`${base}/?q=${'x'.repeat(1000)}`)).status).toBe(200);
      const res = await fetch(`${base}/?q=${'x'.repeat(20_000)}`);
      expect(res.status).toBe(431);
      expect(res.headers.get('content-type')).toBe('application/problem+json');
      expect(await res.json()).toMatchObject({
        status: 431,
        detail: expect.stringMatching(/at most 16 KiB: shorten the query/) as unknown,
      });
    } finally {
      await live.close();
    }
  });
});
