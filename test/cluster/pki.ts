// Certificates and keys for the local control plane, made with the system's openssl: a CA, the
// API server's serving certificate, an admin client certificate (group system:masters) and the
// service-account signing key.
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const DAYS = '3650';

export interface Pki {
  caCert: string;
  caKey: string;
  servingCert: string;
  servingKey: string;
  adminCert: string;
  adminKey: string;
  serviceAccountKey: string;
  serviceAccountPub: string;
}

async function openssl(args: string[], cwd: string): Promise<void> {
  try {
    await run('openssl', args, { cwd });
  } catch (err) {
    throw new Error(
      `openssl ${args[0] ?? ''} failed while making the local control plane's certificates; install openssl (apt-get install openssl)`,
      { cause: err },
    );
  }
}

/** Writes a fresh PKI into `dir` and returns the file paths. */
export async function makePki(dir: string): Promise<Pki> {
  const p = (name: string) => join(dir, name);
  const pki: Pki = {
    caCert: p('ca.crt'),
    caKey: p('ca.key'),
    servingCert: p('apiserver.crt'),
    servingKey: p('apiserver.key'),
    adminCert: p('admin.crt'),
    adminKey: p('admin.key'),
    serviceAccountKey: p('sa.key'),
    serviceAccountPub: p('sa.pub'),
  };
  await openssl(['genrsa', '-out', pki.caKey, '2048'], dir);
  await openssl(
    [
      'req',
      '-x509',
      '-new',
      '-key',
      pki.caKey,
      '-subj',
      '/CN=hindsight-test-ca',
      '-days',
      DAYS,
      '-out',
      pki.caCert,
    ],
    dir,
  );

  await writeFile(
    p('apiserver.ext'),
    [
      'basicConstraints=CA:FALSE',
      'keyUsage=digitalSignature,keyEncipherment',
      'extendedKeyUsage=serverAuth',
      'subjectAltName=IP:127.0.0.1,IP:10.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local',
      '',
    ].join('\n'),
  );
  await signed(dir, pki, {
    key: pki.servingKey,
    cert: pki.servingCert,
    subject: '/CN=kube-apiserver',
    ext: 'apiserver.ext',
  });

  await writeFile(
    p('client.ext'),
    'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n',
  );
  await signed(dir, pki, {
    key: pki.adminKey,
    cert: pki.adminCert,
    subject: '/O=system:masters/CN=hindsight-test-admin',
    ext: 'client.ext',
  });

  await openssl(['genrsa', '-out', pki.serviceAccountKey, '2048'], dir);
  await openssl(
    ['rsa', '-in', pki.serviceAccountKey, '-pubout', '-out', pki.serviceAccountPub],
    dir,
  );
  return pki;
}

interface Leaf {
  key: string;
  cert: string;
  subject: string;
  ext: string;
}

async function signed(dir: string, pki: Pki, { key, cert, subject, ext }: Leaf): Promise<void> {
  const csr = `${cert}.csr`;
  await openssl(['genrsa', '-out', key, '2048'], dir);
  await openssl(['req', '-new', '-key', key, '-subj', subject, '-out', csr], dir);
  await openssl(
    [
      'x509',
      '-req',
      '-in',
      csr,
      '-CA',
      pki.caCert,
      '-CAkey',
      pki.caKey,
      '-CAcreateserial',
      '-days',
      DAYS,
      '-extfile',
      ext,
      '-out',
      cert,
    ],
    dir,
  );
}

/**
 * A serving certificate and key for `name`, valid for the IP addresses and DNS names given and
 * signed by a CA of its own, in a new directory under `dir`: what an operator's TLS Secret holds.
 */
export async function servingCertificate(
  dir: string,
  name: string,
  ips: string[],
  dns: string[] = [],
): Promise<{ ca: string; cert: string; key: string }> {
  const p = (f: string) => join(dir, `${name}-${f}`);
  const ca = { caCert: p('ca.crt'), caKey: p('ca.key') } as Pki;
  await openssl(['genrsa', '-out', ca.caKey, '2048'], dir);
  await openssl(
    [
      'req',
      '-x509',
      '-new',
      '-key',
      ca.caKey,
      '-subj',
      `/CN=${name}-ca`,
      '-days',
      DAYS,
      '-out',
      ca.caCert,
    ],
    dir,
  );
  const sans = [...ips.map((i) => `IP:${i}`), ...dns.map((d) => `DNS:${d}`)].join(',');
  await writeFile(
    p('serving.ext'),
    `basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=${sans}\n`,
  );
  const leaf = {
    key: p('tls.key'),
    cert: p('tls.crt'),
    subject: `/CN=${name}`,
    ext: `${name}-serving.ext`,
  };
  await signed(dir, ca, leaf);
  return { ca: ca.caCert, cert: leaf.cert, key: leaf.key };
}
