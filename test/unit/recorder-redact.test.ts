import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decodeJson, encodeJson } from '../../src/recorder/codec.ts';
import { diff } from '../../src/recorder/diff.ts';
import { LAST_APPLIED_ANNOTATION, redactSecret } from '../../src/recorder/redact.ts';
import { pod, secret, SECRET_VALUES, type JsonObject } from './fixtures/objects.ts';

function sha256(text: string): string {
  return 'sha256:' + createHash('sha256').update(text, 'utf8').digest('hex');
}

/** Every form a secret byte could take in the output. */
const FORBIDDEN = [
  ...Object.values(SECRET_VALUES),
  // base64 of the username without padding, in case something re-encodes it
  SECRET_VALUES.usernameBase64.replace(/=+$/, ''),
];

function expectNoSecret(serialized: string): void {
  for (const value of FORBIDDEN) expect(serialized).not.toContain(value);
}

describe('redactSecret', () => {
  it('the fixture really holds the secret in data, stringData and the annotation', () => {
    // Guards the leak checks below against a fixture that has nothing to leak.
    const raw = JSON.stringify(secret());
    expect(Buffer.from(SECRET_VALUES.passwordBase64, 'base64').toString()).toBe(
      SECRET_VALUES.password,
    );
    for (const value of [
      SECRET_VALUES.passwordBase64,
      SECRET_VALUES.username,
      SECRET_VALUES.usernameBase64,
    ]) {
      expect(raw).toContain(value);
    }
    const annotation = (secret().metadata as { annotations: Record<string, string> }).annotations[
      LAST_APPLIED_ANNOTATION
    ];
    expect(annotation).toContain(SECRET_VALUES.passwordBase64);
    expect(annotation).toContain(SECRET_VALUES.username);
  });

  it('replaces data, stringData and last-applied-configuration by digests of the given value', () => {
    const input = secret();
    const lastApplied = (input.metadata as { annotations: Record<string, string> }).annotations[
      LAST_APPLIED_ANNOTATION
    ] as string;
    const out = redactSecret(input);
    expect(out.data).toEqual({
      password: sha256(SECRET_VALUES.passwordBase64),
      username: sha256(SECRET_VALUES.usernameBase64),
    });
    expect(out.stringData).toEqual({ username: sha256(SECRET_VALUES.username) });
    expect((out.metadata as JsonObject).annotations).toEqual({
      [LAST_APPLIED_ANNOTATION]: sha256(lastApplied),
    });
    // Everything else is kept.
    expect(out.type).toBe('Opaque');
    expect((out.metadata as JsonObject).name).toBe('db-credentials');
    expect((out.metadata as JsonObject).managedFields).toEqual(
      (secret().metadata as JsonObject).managedFields,
    );
  });

  it('leaves no secret byte in the serialized result, stored form or diff', () => {
    const out = redactSecret(secret());
    expectNoSecret(JSON.stringify(out));
    expectNoSecret(JSON.stringify(decodeJson(encodeJson(out))));
    const changed = secret();
    (changed.data as JsonObject).password = 'bmV3LXBhc3N3b3Jk';
    expectNoSecret(JSON.stringify(diff(redactSecret(secret()), redactSecret(changed))));
  });

  it('makes a change visible without its content', () => {
    const a = redactSecret(secret());
    const changed = secret();
    (changed.data as JsonObject).password = 'bmV3LXBhc3N3b3Jk';
    const b = redactSecret(changed);
    const ops = diff(a, b);
    expect(ops).toEqual([
      { op: 'replace', path: '/data/password', value: sha256('bmV3LXBhc3N3b3Jk') },
    ]);
    // The same content gives the same digest: no spurious change.
    expect(diff(a, redactSecret(secret()))).toEqual([]);
  });

  it('redacts in place and returns the same object', () => {
    const input = secret();
    expect(redactSecret(input)).toBe(input);
    expectNoSecret(JSON.stringify(input));
  });

  it('redacts a Secret that carries no kind when told its kind (List items)', () => {
    const item = secret();
    delete item.kind;
    expect(redactSecret(item)).toStrictEqual(
      (() => {
        const s = secret();
        delete s.kind;
        return s;
      })(),
    );
    expectNoSecret(JSON.stringify(redactSecret(item, 'Secret')));
  });

  it('digests data that is not a map instead of keeping it', () => {
    const odd = secret();
    odd.data = [SECRET_VALUES.passwordBase64];
    odd.stringData = SECRET_VALUES.username;
    const out = redactSecret(odd);
    expect(out.data).toBe(sha256(JSON.stringify([SECRET_VALUES.passwordBase64])));
    expect(out.stringData).toBe(sha256(SECRET_VALUES.username));
    expectNoSecret(JSON.stringify(out));
  });

  it('handles Secrets without data, annotations or metadata', () => {
    expect(redactSecret({ kind: 'Secret' })).toEqual({ kind: 'Secret' });
    expect(redactSecret({ kind: 'Secret', data: null, metadata: {} })).toEqual({
      kind: 'Secret',
      data: null,
      metadata: {},
    });
  });

  it('leaves other kinds untouched, even with the same fields', () => {
    const p = pod();
    expect(redactSecret(p)).toStrictEqual(pod());
    const cm = { kind: 'ConfigMap', data: { password: 'visible' } };
    expect(redactSecret(cm)).toStrictEqual({ kind: 'ConfigMap', data: { password: 'visible' } });
  });
});
