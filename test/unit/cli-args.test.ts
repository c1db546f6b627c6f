// The CLI's command line: commands, flags and the one-line usage errors with suggestions.
import { describe, expect, it } from 'vitest';
import { parseCommandLine, COMMANDS } from '../../src/cli/args.ts';
import { UsageError } from '../../src/cli/errors.ts';
import { run } from '../../src/cli/main.ts';
import type { Out } from '../../src/cli/output.ts';

function usageError(argv: string[]): string {
  try {
    parseCommandLine(argv);
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return (err as Error).message;
  }
  throw new Error(`${argv.join(' ')} was accepted`);
}

describe('parseCommandLine', () => {
  it('parses a command, its argument and flags, short or long, before or after', () => {
    const p = parseCommandLine(['-n', 'shop', 'get', 'deploy/web', '--at', '1h', '-o', 'json']);
    expect(p).toMatchObject({
      command: { name: 'get' },
      args: ['deploy/web'],
      flags: { namespace: 'shop', at: '1h', output: 'json' },
    });
  });

  it('takes a value starting with a dash as the value of the flag before it', () => {
    const p = parseCommandLine(['events', '--since', '-2h', '--until', '-1h']);
    expect(p).toMatchObject({ flags: { since: '-2h', until: '-1h' } });
  });

  it('answers --help, help and help COMMAND with usage text', () => {
    for (const argv of [['--help'], ['help'], ['-h']]) {
      const p = parseCommandLine(argv);
      expect('help' in p && p.help).toMatch(/^hindsight reads the history/);
    }
    for (const c of COMMANDS) {
      for (const argv of [
        [c.name, '--help'],
        ['help', c.name],
      ]) {
        const p = parseCommandLine(argv);
        expect('help' in p && p.help).toContain(`Usage: ${c.usage}`);
      }
    }
  });

  it('suggests the closest command for an unknown one', () => {
    expect(usageError(['histroy', 'deploy/web'])).toBe(
      "unknown command 'histroy'; did you mean 'history'? Run 'hindsight --help' to see the commands",
    );
    expect(usageError(['frobnicate'])).toBe(
      "unknown command 'frobnicate'; run 'hindsight --help' to see the commands",
    );
  });

  it('suggests the closest flag for an unknown one', () => {
    expect(usageError(['events', '--reasn', 'X'])).toBe(
      "unknown flag --reasn; did you mean --reason? Run 'hindsight events --help' to see the flags",
    );
    expect(usageError(['events', '-x'])).toBe(
      "unknown flag -x; run 'hindsight events --help' to see the flags",
    );
  });

  it('refuses flags of other commands, missing values and wrong argument counts', () => {
    expect(usageError(['history', 'deploy/web', '--at', 'now'])).toBe(
      "--at does not apply to 'history'; run 'hindsight history --help' to see its flags",
    );
    expect(usageError(['history', 'deploy/web', '-A'])).toMatch(
      /^--all-namespaces does not apply to 'history'/,
    );
    expect(usageError(['events', '-n'])).toMatch(/^--namespace needs a value/);
    expect(usageError(['history'])).toMatch(
      /^'history' needs an argument; usage: hindsight history/,
    );
    expect(usageError(['history', 'a/b', 'c/d'])).toMatch(/^unexpected argument 'c\/d'/);
    expect(usageError(['events', '-n', 'a', '-A'])).toMatch(/either -n\/--namespace or -A/);
    expect(usageError([])).toMatch(/^no command given/);
  });
});

function capture(): Out & { text: () => string } {
  let text = '';
  return { write: (t) => void (text += t), columns: undefined, color: false, text: () => text };
}

describe('run', () => {
  const io = () => ({
    stdout: capture(),
    stderr: capture(),
    env: {},
    signal: new AbortController().signal,
    now: () => Date.parse('2026-11-22T10:00:00Z'),
  });

  it('exits 0 with the help on stdout', async () => {
    const x = io();
    expect(await run(['--help'], x)).toBe(0);
    expect(x.stdout.text()).toContain('Commands:');
    expect(x.stderr.text()).toBe('');
  });

  it('exits 2 with one line on stderr for usage errors, before any network use', async () => {
    for (const argv of [
      ['histroy'],
      ['history', 'frob/x'],
      ['get', 'deploy/web', '--at', 'yesterday'],
      ['diff', 'deploy/web', '--to', 'now'],
      ['events', '--type', 'Error'],
      ['history', 'deploy/web', '-o', 'xml'],
      ['follow', '--since-seq', 'abc'],
      ['backup'],
    ]) {
      const x = io();
      expect(await run(argv, x), argv.join(' ')).toBe(2);
      expect(x.stdout.text()).toBe('');
      expect(x.stderr.text()).toMatch(/^error: [^\n]+\n$/);
    }
  });

  it('exits 1 with one line when the operator cannot be reached', async () => {
    const x = io();
    const code = await run(['history', 'deploy/web', '--kubeconfig', '/nonexistent/kubeconfig'], x);
    expect(code).toBe(1);
    expect(x.stderr.text()).toBe(
      'error: the kubeconfig file /nonexistent/kubeconfig does not exist; pass --kubeconfig or --context, or reach the operator directly with --server URL --token TOKEN\n',
    );
  });
});
