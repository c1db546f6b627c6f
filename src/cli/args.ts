// The command line: which command, its arguments and flags, and the help of each. Mistakes become
// UsageErrors that name the wrong word and suggest the right one.
import { parseArgs } from 'node:util';
import { UsageError } from './errors.ts';
import { closest } from './suggest.ts';

const OPTIONS = {
  namespace: { type: 'string', short: 'n' },
  'all-namespaces': { type: 'boolean', short: 'A' },
  output: { type: 'string', short: 'o' },
  kubeconfig: { type: 'string' },
  context: { type: 'string' },
  server: { type: 'string' },
  token: { type: 'string' },
  'use-kube-token': { type: 'boolean' },
  'operator-namespace': { type: 'string' },
  'operator-service': { type: 'string' },
  'operator-port': { type: 'string' },
  'operator-scheme': { type: 'string' },
  'server-ca': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  at: { type: 'string' },
  from: { type: 'string' },
  to: { type: 'string' },
  for: { type: 'string' },
  reason: { type: 'string' },
  type: { type: 'string' },
  since: { type: 'string' },
  until: { type: 'string' },
  limit: { type: 'string' },
  kinds: { type: 'string' },
  'since-seq': { type: 'string' },
  file: { type: 'string', short: 'f' },
  'data-dir': { type: 'string' },
  timeout: { type: 'string' },
  'no-activity-timeout': { type: 'string' },
  'allow-failures': { type: 'string' },
  'fail-mode': { type: 'string' },
  'unschedulable-grace': { type: 'string' },
  'no-logs': { type: 'boolean' },
  containers: { type: 'string' },
  follow: { type: 'boolean' },
  replay: { type: 'string' },
  listen: { type: 'string' },
} as const;

export type Flag = keyof typeof OPTIONS;
export type Flags = {
  [K in Flag]?: (typeof OPTIONS)[K]['type'] extends 'string' ? string : boolean;
};

/** Flags of the commands that talk to the Kubernetes API server only. */
const KUBE_CONNECTION: Flag[] = ['kubeconfig', 'context'];

/** Flags of every command that talks to the operator. */
const CONNECTION: Flag[] = [
  'kubeconfig',
  'context',
  'server',
  'token',
  'use-kube-token',
  'operator-namespace',
  'operator-service',
  'operator-port',
  'operator-scheme',
  'server-ca',
];

export interface Command {
  name: string;
  summary: string;
  usage: string;
  /** Exactly this many positional arguments, or `any` number (the command checks them). */
  args: number | 'any';
  /** What it talks to: the operator (default), the Kubernetes API server only, or nothing. */
  connection?: 'operator' | 'kube' | 'none';
  flags: Flag[];
  /** The text under the usage line: flags and examples. */
  details: string;
}

const CONNECTION_HELP = `Connection (every command but restore):
  --kubeconfig PATH        kubeconfig file; default $KUBECONFIG or ~/.kube/config
  --context NAME           kubeconfig context; default the current context
  --operator-namespace NS  namespace of the operator's Service [HINDSIGHT_OPERATOR_NAMESPACE];
                           default hindsight-system
  --operator-service NAME  the operator's Service [HINDSIGHT_OPERATOR_SERVICE]; default hindsight
  --operator-port PORT     its port name or number [HINDSIGHT_OPERATOR_PORT]; default https
  --operator-scheme S      https or http, as the operator serves [HINDSIGHT_OPERATOR_SCHEME];
                           default https
  --server URL             talk to the operator at URL instead of through the API server's
                           service proxy, e.g. after kubectl port-forward [HINDSIGHT_SERVER]
  --token TOKEN            bearer token to present [HINDSIGHT_TOKEN]; default the kube context's
                           through the API server; with --server none unless given
  --use-kube-token         with --server: present the kube context's token; only to a
                           loopback or https:// URL
  --server-ca FILE         with an https:// --server: the PEM CA its certificate is signed by
                           [HINDSIGHT_SERVER_CA]; default the system's CAs`;

const KUBE_CONNECTION_HELP = `Connection (the Kubernetes API server; no operator needed):
  --kubeconfig PATH        kubeconfig file; default $KUBECONFIG or ~/.kube/config
  --context NAME           kubeconfig context; default the current context`;

export const COMMANDS: Command[] = [
  {
    name: 'history',
    summary: 'the recorded versions of an object: when, what, who, which paths changed',
    usage: 'hindsight history KIND/NAME [-n NS] [--limit N] [-o table|json|yaml]',
    args: 1,
    flags: ['namespace', 'output', 'limit'],
    details: `Flags:
  -n, --namespace NS  namespace of the object; default the kube context's
  --limit N           show at most the N newest versions; default 100
  -o, --output FMT    table (default), json or yaml

Example:
  hindsight history deploy/web -n shop`,
  },
  {
    name: 'get',
    summary: 'an object as it was at an instant (YAML, like kubectl get -o yaml)',
    usage: 'hindsight get KIND/NAME [--at TIME] [-n NS] [-o yaml|json]',
    args: 1,
    flags: ['namespace', 'output', 'at'],
    details: `Flags:
  --at TIME           the instant: RFC 3339, 'now' (default) or a time ago such as 2h
  -n, --namespace NS  namespace of the object; default the kube context's
  -o, --output FMT    yaml (default) or json

Example:
  hindsight get deploy/web --at 2026-11-22T10:00:00Z
  hindsight get cm/settings --at 30m -o json`,
  },
  {
    name: 'diff',
    summary: 'what changed in an object between two versions or instants',
    usage: 'hindsight diff KIND/NAME [--from SEQ|TIME] [--to SEQ|TIME] [-n NS] [-o json|yaml]',
    args: 1,
    flags: ['namespace', 'output', 'from', 'to'],
    details: `Flags:
  --from SEQ|TIME     a version number (from 'hindsight history') or a time (RFC 3339, 'now',
                      or a time ago such as 1h); default the version before the last
  --to SEQ|TIME       the same; default the last version (or now, when --from is given)
  -n, --namespace NS  namespace of the object; default the kube context's
  -o, --output FMT    text (default), json or yaml

Example:
  hindsight diff deploy/web --from 1h --to now
  hindsight diff deploy/web --from 1042 --to 1187`,
  },
  {
    name: 'events',
    summary: 'Kubernetes Events recorded in a window, with their counts',
    usage:
      'hindsight events [-n NS | -A] [--for KIND/NAME] [--reason R] [--type Normal|Warning] [--since TIME] [--until TIME]',
    args: 0,
    flags: [
      'namespace',
      'all-namespaces',
      'output',
      'for',
      'reason',
      'type',
      'since',
      'until',
      'limit',
    ],
    details: `Flags:
  -n, --namespace NS      namespace; default the kube context's
  -A, --all-namespaces    every namespace
  --for KIND/NAME         only Events about this object
  --reason REASON         only this reason, such as BackOff
  --type TYPE             Normal or Warning
  --since TIME            start of the window: a time ago such as 1h (default) or RFC 3339
  --until TIME            end of the window; default now
  --limit N               at most N Events; default 500
  -o, --output FMT        table (default), json or yaml

Example:
  hindsight events -n shop --type Warning --since 6h
  hindsight events --for deploy/web`,
  },
  {
    name: 'changes',
    summary: 'every object that changed in a window, and how',
    usage: 'hindsight changes [-n NS | -A] [--since TIME] [--until TIME] [-o table|json|yaml]',
    args: 0,
    flags: ['namespace', 'all-namespaces', 'output', 'since', 'until', 'limit'],
    details: `Flags:
  -n, --namespace NS      namespace; default the kube context's
  -A, --all-namespaces    every namespace
  --since TIME            start of the window: a time ago such as 1h (default) or RFC 3339
  --until TIME            end of the window; default now
  --limit N               at most N objects; default 500
  -o, --output FMT        table (default), json or yaml

Example:
  hindsight changes -n shop --since 1h`,
  },
  {
    name: 'follow',
    summary: 'print changes and Events as they are recorded, like tail -f',
    usage: 'hindsight follow [-n NS | -A] [--kinds KIND,...] [--since-seq SEQ] [-o json]',
    args: 0,
    flags: ['namespace', 'all-namespaces', 'output', 'kinds', 'since-seq'],
    details: `Flags:
  -n, --namespace NS      namespace; default the kube context's
  -A, --all-namespaces    every namespace
  --kinds KIND,...        only these kinds (deploy,pod,...); 'event' selects Events
  --since-seq SEQ         start after this sequence number instead of now
  -o, --output FMT        text (default) or json (one JSON object per line)

Stops on Ctrl-C. A dropped connection is resumed where it stopped, without gaps or repeats.

Example:
  hindsight follow -n shop --kinds deploy,pod,event`,
  },
  {
    name: 'rollouts',
    summary:
      'the rollouts of a workload, newest first: when, how long, outcome, revision, images, who, why',
    usage:
      'hindsight rollouts [KIND/NAME] [-n NS | -A] [--since TIME] [--until TIME] [--limit N] [-o table|json|yaml]',
    args: 'any',
    flags: ['namespace', 'all-namespaces', 'output', 'since', 'until', 'limit'],
    details: `The operator derives one rollout per generation change of a Deployment, StatefulSet or
DaemonSet, and per Job run, from the history it records: its start and end, outcome (complete,
failed, superseded, deleted, in-progress), revision, images before and after, who changed the
spec, and the failure reason by the same rules as 'hindsight track'.

Flags:
  -n, --namespace NS      namespace; default the kube context's
  -A, --all-namespaces    every namespace
  --since TIME            rollouts started after this; default 7d
  --until TIME            ... and before this; default now
  --limit N               at most N rollouts; default 10
  -o, --output FMT        table (default), json or yaml

Example:
  hindsight rollouts deploy/web -n shop`,
  },
  {
    name: 'track',
    summary:
      'wait until workloads are rolled out, and fail fast with the reason when they cannot be',
    usage:
      'hindsight track KIND/NAME... | -f FILE|- [-n NS] [--timeout DURATION] [--follow] [-o text|json]',
    args: 'any',
    flags: [
      'namespace',
      'file',
      'replay',
      'output',
      'timeout',
      'no-activity-timeout',
      'allow-failures',
      'fail-mode',
      'unschedulable-grace',
      'no-logs',
      'containers',
      'follow',
    ],
    details: `Tracks Deployments, StatefulSets, DaemonSets, Jobs and Pods (and any kind with a Ready
condition) until each is ready or complete, printing its status, the Events of its whole tree
(ReplicaSets, Pods) and the logs of its new Pods from the start of tracking. Talks to the
Kubernetes API server directly: no operator needed.

Ready is decided as \`kubectl rollout status\` does (observedGeneration, then updated, old and
available replicas), with StatefulSet partitions and OnDelete, Job Complete, Pod Ready. A rollout
fails on: ProgressDeadlineExceeded, ReplicaFailure and FailedCreate (quota, LimitRange,
admission), Unschedulable Pods (after --unschedulable-grace), Job Failed (BackoffLimitExceeded,
DeadlineExceeded), ErrImageNeverPull and InvalidImageName at once; ImagePullBackOff,
ErrImagePull, CrashLoopBackOff, CreateContainerConfigError, OOMKilled, failing init containers,
probe-triggered restarts and readiness probe failures past the probe's start window count as
failures (see --allow-failures). Events dated before the start of tracking are ignored.

Flags:
  -f, --file FILE            track every workload in a manifest ('-' for standard input),
                             e.g. helm get manifest app | hindsight track -f -
  -n, --namespace NS         namespace of objects without one; default the kube context's
  --timeout DURATION         give up after this long (e.g. 10m); default no limit
  --no-activity-timeout D    give up when nothing changed for this long; default 4m, 0 = never
  --allow-failures N         counted failures tolerated per object; default 0
  --fail-mode MODE           fail-fast (default): stop at the first failure;
                             keep-going: track the others to their end
  --unschedulable-grace D    how long a Pod may stay Unschedulable; default 60s
  --no-logs                  do not stream container logs
  --containers NAME,...      stream only these containers' logs
  --follow                   never stop at ready or failed: stream status, Events and logs
                             like tail -f, until Ctrl-C
  --replay ID                print a past rollout the operator recorded (an ID of
                             'hindsight rollouts') as track printed it, and exit with its code;
                             this one goes through the operator (the connection flags below)
  -o, --output FMT           text (default; live and coloured on a terminal, timestamped
                             plain lines otherwise) or json (one JSON object per line:
                             status, event, log, warning, result)

Exit codes: 0 all ready, 1 a rollout failed, 2 usage error, 3 timeout or no activity,
4 an object was not found or was deleted, 5 API server or authorization error.

Connection: live tracking uses only --kubeconfig and --context; --replay reaches the operator
like the other commands.

Examples:
  kubectl apply -f app.yaml && hindsight track -f app.yaml --timeout 10m
  hindsight track deploy/web sts/db -n shop
  hindsight track job/migrate -o json`,
  },
  {
    name: 'backup',
    summary: "download a consistent copy of the operator's history database",
    usage: 'hindsight backup -f FILE',
    args: 0,
    flags: ['file'],
    details: `Flags:
  -f, --file FILE   where to write the SQLite file ('-' for standard output)

Example:
  hindsight backup -f hindsight-$(date +%F).db`,
  },
  {
    name: 'bundle',
    summary: 'download the history of some namespaces in a window, to serve it anywhere',
    usage: 'hindsight bundle -n NS[,NS...] --from TIME [--to TIME] -o FILE',
    args: 0,
    flags: ['namespace', 'from', 'to', 'output'],
    details: `Writes a self-contained history database of what you may read in those namespaces:
each object alive in the window with its state at the start and every version in it, the Events
that occurred in it, its gaps and the rollouts that started in it (Secret values as digests).
'hindsight serve FILE' answers from it with the same API, UI and CLI, no cluster needed.

Flags:
  -n, --namespace NS,...  the namespaces, separated by commas
  --from TIME             start of the window (RFC 3339 or a time ago such as 2h)
  --to TIME               end of the window; default now
  -o, --output FILE       where to write it

Example:
  hindsight bundle -n shop,pay --from 2h -o incident.db`,
  },
  {
    name: 'serve',
    summary: 'serve a bundle (or a backup) read-only with the API and UI, no cluster needed',
    usage: 'hindsight serve FILE [--listen HOST:PORT]',
    args: 1,
    connection: 'none',
    flags: ['listen'],
    details: `Without a cluster no one can say who may read what: it answers everyone who reaches it,
so it listens on loopback only. Point the CLI at it with --server.

Flags:
  --listen HOST:PORT  where to listen; default 127.0.0.1:8080

Example:
  hindsight serve incident.db
  hindsight --server http://127.0.0.1:8080 changes -n shop --since 2d`,
  },
  {
    name: 'restore',
    summary: "put a backup into a stopped operator's data directory (offline)",
    usage: 'hindsight restore FILE --data-dir DIR',
    args: 1,
    connection: 'none',
    flags: ['data-dir'],
    details: `Flags:
  --data-dir DIR    the operator's data directory (its --data-dir); the operator must be stopped

Example:
  hindsight restore hindsight-2026-11-22.db --data-dir /var/lib/hindsight`,
  },
];

export function usage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return `hindsight reads the history a Hindsight operator recorded: how objects looked at any instant,
who changed what, which Events happened. Also usable as 'kubectl hindsight'.

Usage: hindsight COMMAND [ARGS] [FLAGS]

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n')}

KIND is what kubectl accepts (deploy, deployment, Deployment, po, cm, ...). Times are RFC 3339,
'now', or a time ago such as 30m, 2h or 1d.

${CONNECTION_HELP}

Run 'hindsight COMMAND --help' for a command's flags, 'hindsight --version' for the version. Exit codes: 0 ok, 1 error, 2 usage error
('track' has more: see 'hindsight track --help').
`;
}

export function commandUsage(c: Command): string {
  const how = c.connection ?? 'operator';
  const connection =
    how === 'none' ? '' : `\n${how === 'kube' ? KUBE_CONNECTION_HELP : CONNECTION_HELP}\n`;
  return `${c.summary[0]!.toUpperCase()}${c.summary.slice(1)}.

Usage: ${c.usage}

${c.details}
${connection}`;
}

export type Parsed = { help: string } | { command: Command; args: string[]; flags: Flags };

function flagName(token: string): string {
  if (token.startsWith('--')) return token;
  const short = token.slice(1);
  const long = Object.entries(OPTIONS).find(([, o]) => (o as { short?: string }).short === short);
  return long ? `--${long[0]}` : token;
}

/** Parses argv (without node and the script). */
export function parseCommandLine(argv: string[]): Parsed {
  let parsed;
  try {
    parsed = parseArgs({
      args: joinNegativeValues(argv),
      options: OPTIONS,
      allowPositionals: true,
      strict: true,
      tokens: true,
    });
  } catch (err) {
    throw usageFromParseError(err as Error & { code?: string }, argv);
  }
  const { values, positionals, tokens } = parsed;
  const [name, ...args] = positionals;
  if (name === undefined || name === 'help') {
    if (name === 'help' && args[0] !== undefined)
      return { help: commandUsage(findCommand(args[0])) };
    if (values.help || name === 'help') return { help: usage() };
    throw new UsageError("no command given; run 'hindsight --help' to see the commands");
  }
  const command = findCommand(name);
  if (values.help) return { help: commandUsage(command) };
  const connection = command.connection ?? 'operator';
  const allowed = new Set<string>([
    ...command.flags,
    ...(connection === 'operator' ? CONNECTION : connection === 'kube' ? KUBE_CONNECTION : []),
    'help',
  ]);
  for (const t of tokens) {
    if (t.kind === 'option' && !allowed.has(t.name)) {
      throw new UsageError(
        `${flagName(t.rawName)} does not apply to '${command.name}'; run 'hindsight ${command.name} --help' to see its flags`,
      );
    }
  }
  if (command.args !== 'any' && args.length !== command.args) {
    throw new UsageError(
      args.length < command.args
        ? `'${command.name}' needs ${command.args === 1 ? 'an argument' : `${command.args} arguments`}; usage: ${command.usage}`
        : `unexpected argument '${args[command.args]}'; usage: ${command.usage}`,
    );
  }
  if (values.namespace !== undefined && values['all-namespaces']) {
    throw new UsageError('give either -n/--namespace or -A/--all-namespaces, not both');
  }
  return { command, args, flags: values };
}

/** `--since -1h` is a flag and its value (a time ago), not two flags: join it as `--since=-1h`. */
function joinNegativeValues(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const next = argv[i + 1];
    const long = a.startsWith('--') ? a.slice(2) : undefined;
    if (
      long !== undefined &&
      next !== undefined &&
      /^-\d/.test(next) &&
      (OPTIONS as Record<string, { type: string }>)[long]?.type === 'string'
    ) {
      out.push(`${a}=${next}`);
      i++;
    } else out.push(a);
  }
  return out;
}

function findCommand(name: string): Command {
  const command = COMMANDS.find((c) => c.name === name);
  if (command) return command;
  const guess = closest(
    name,
    COMMANDS.map((c) => c.name),
  );
  throw new UsageError(
    `unknown command '${name}'${guess ? `; did you mean '${guess}'? Run` : '; run'} 'hindsight --help' to see the commands`,
  );
}

function usageFromParseError(err: Error & { code?: string }, argv: string[]): UsageError {
  const option = /'(-[^',]*)/.exec(err.message)?.[1] ?? '';
  const command = argv.find((a) => !a.startsWith('-')) ?? '';
  const helpCmd = COMMANDS.some((c) => c.name === command)
    ? `hindsight ${command} --help`
    : 'hindsight --help';
  if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const guess = option.startsWith('--')
      ? closest(option.slice(2), Object.keys(OPTIONS))
      : undefined;
    return new UsageError(
      `unknown flag ${option}${guess ? `; did you mean --${guess}? Run` : '; run'} '${helpCmd}' to see the flags`,
      { cause: err },
    );
  }
  if (err.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    const long = /--([a-z-]+)/.exec(err.message)?.[1];
    if (/ambiguous/.test(err.message)) {
      const i = argv.findIndex((a) => a === `--${long}` || a === option);
      const value = argv[i + 1] ?? '';
      return new UsageError(
        `--${long} ${value}: a value that starts with '-' must be joined to its flag, as in --${long}=${value}${/^-\d/.test(value) ? ` (or write --${long} ${value.slice(1)}, which means the same)` : ''}`,
        { cause: err },
      );
    }
    return new UsageError(
      `${long ? `--${long}` : option} ${/argument missing/.test(err.message) ? 'needs a value' : 'takes no value'}; run '${helpCmd}' to see the flags`,
      { cause: err },
    );
  }
  return new UsageError(`${err.message}; run '${helpCmd}'`, { cause: err });
}
