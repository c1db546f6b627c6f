// The REST API under /api/v1: validate input, authorize, call a store query, shape the answer.
import { randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Router, type Request, type Response } from 'express';
import { BackupRefused, type Backups } from '../store/backup.ts';
import {
  DEFAULT_STATE_LIMIT,
  DEFAULT_TIMELINE_ROWS,
  MAX_STATE_LIMIT,
  MAX_TIMELINE_ROWS,
  QueryError,
  ROLLOUT_OUTCOMES,
} from '../store/queries.ts';
import {
  JsonText,
  QueryTimeoutError,
  QueryUnavailableError,
  type JsonQueryService,
} from '../store/query-pool.ts';
import {
  ALLOW_ALL,
  requireCaller,
  type Access,
  type Caller,
  type KubeAuth,
  type Scope,
  type Verb,
} from './auth.ts';
import { OPENAPI } from './openapi.ts';
import * as p from './params.ts';
import { badParam, notFound, ProblemError, quote } from './problem.ts';
import { measureRequests, type ApiMetrics } from './api-metrics.ts';
import { parseStreamRequest, type StreamHub } from './stream.ts';

export interface ApiDeps {
  /** The queries, run and serialized off the event loop (QueryPool's `json`). */
  queries: JsonQueryService;
  /** Resources and namespaces history exists for (what access is computed over). */
  scopes: () => Scope[];
  /** null: no authentication (`--auth=none`, loopback only). */
  auth: KubeAuth | null;
  /** Live streams (/stream); absent: the endpoint answers 404. */
  streams?: StreamHub;
  /** Where incident bundles (/bundle) are written until sent; absent: the endpoint answers 404. */
  bundleDir?: string;
  /** Backups of the history volume (/backup); absent: the endpoint answers 404. */
  backups?: Backups;
  metrics?: ApiMetrics;
  /** Logs failures that happen after an answer started (a stream, a download). */
  logError?: (err: unknown) => void;
  now?: () => number;
}

/** The permission a backup download needs: it holds the history of every namespace. */
export const BACKUP_PERMISSION = { group: 'hindsight.dev', resource: 'backups', namespace: '' };

const MAX_BUCKETS = 1000;

/** Errors of the query service as problems: bad input 400, overload and timeouts 503. */
function toProblem(err: unknown): unknown {
  if (err instanceof QueryError) {
    return badParam(err.field, err.message.slice(err.field.length + 1));
  }
  if (err instanceof QueryUnavailableError || err instanceof QueryTimeoutError) {
    return new ProblemError(503, 'Service unavailable', err.message);
  }
  return err;
}

export function apiRouter(deps: ApiDeps): Router {
  const r = Router();
  const now = deps.now ?? Date.now;
  const auth = deps.auth;

  if (deps.metrics) r.use(measureRequests(deps.metrics));
  r.get('/openapi.json', (_req, res) => {
    res.json(OPENAPI);
  });
  if (auth) r.use(requireCaller(auth));

  /**
   * The caller's access to the scopes a request touches, and only those, so a request asks
   * SubjectAccessReviews for what it may show: one namespace's resources for a query of one
   * namespace, one scope for one object. `touched` defaults to every scope history exists for.
   */
  const access = async (
    res: Response,
    verb: Verb,
    touched: (s: Scope) => boolean = () => true,
  ): Promise<Access> => {
    if (!auth) return ALLOW_ALL;
    const caller = res.locals.caller as Caller;
    const granted = await auth.access(caller, verb, deps.scopes().filter(touched));
    return { allows: (s) => granted.allows(s), caller: caller.user };
  };
  const inNamespace = (ns: string | undefined) => (s: Scope) =>
    ns === undefined || s.namespace === ns;
  const events = (s: Scope) => s.group === '' && s.resource === 'events';
  /** Access to the one scope an object's or a rollout's reading is decided on. */
  const accessTo = async (
    res: Response,
    of: { uid: string } | { rollout: number },
  ): Promise<Access> => {
    if (!auth) return ALLOW_ALL;
    const caller = res.locals.caller as Caller;
    const scope = await deps.queries.scopeOf(of, { allows: () => false, caller: caller.user });
    const s = scope && (JSON.parse(scope.text) as Scope);
    if (!s) return { allows: () => false, caller: caller.user };
    return access(
      res,
      'get',
      (t) => t.group === s.group && t.resource === s.resource && t.namespace === s.namespace,
    );
  };
  /** Wraps an async handler: its errors go to the problem handler. */
  const handle =
    (f: (req: Request, res: Response) => Promise<unknown>) =>
    (req: Request, res: Response, next: (err?: unknown) => void) => {
      f(req, res).then(
        (body) => {
          if (body === undefined)
            next(
              new ProblemError(
                404,
                'Not found',
                `nothing recorded at ${req.path} that you may read`,
              ),
            );
          else if (body instanceof JsonText) res.type('application/json').send(body.text);
          else res.json(body);
        },
        (err: unknown) => {
          if (err instanceof QueryUnavailableError) {
            res.set('Retry-After', String(err.retryAfterSeconds));
          }
          next(toProblem(err));
        },
      );
    };
  const q = (req: Request) => req.query as p.Query;

  r.get(
    '/resources',
    handle(async (req, res) => {
      const query = q(req);
      const hasWindow = query.from !== undefined || query.to !== undefined;
      return deps.queries.searchResources(
        {
          kind: p.kind(query),
          group: p.str(query, 'group'),
          namespace: p.namespace(query),
          name: p.objectName(query, 'name'),
          namePrefix: p.objectName(query, 'namePrefix'),
          labelSelector: p.labelSelector(query),
          window: hasWindow ? p.window(query, now()) : undefined,
          includeDeleted: p.bool(query, 'includeDeleted', false),
          limit: p.limit(query),
          cursor: p.str(query, 'cursor'),
        },
        await access(res, 'list', inNamespace(p.namespace(query))),
      );
    }),
  );

  r.get(
    '/objects/:uid',
    handle(async (req, res) => {
      const uid = p.uid(req.params.uid as string);
      return deps.queries.object(uid, await accessTo(res, { uid }));
    }),
  );

  r.get(
    '/objects/:uid/versions',
    handle(async (req, res) => {
      const query = q(req);
      const hasWindow = query.from !== undefined || query.to !== undefined;
      const uid = p.uid(req.params.uid as string);
      return deps.queries.versions(
        uid,
        {
          limit: p.limit(query),
          cursor: p.str(query, 'cursor'),
          window: hasWindow ? p.window(query, now()) : undefined,
        },
        await accessTo(res, { uid }),
      );
    }),
  );

  r.get(
    '/objects/:uid/versions/:seq',
    handle(async (req, res) => {
      const uid = p.uid(req.params.uid as string);
      const seq = p.seq(req.params.seq as string, 'seq');
      return deps.queries.version(uid, seq, await accessTo(res, { uid }));
    }),
  );

  r.get(
    '/objects/:uid/at',
    handle(async (req, res) => {
      const uid = p.uid(req.params.uid as string);
      const t = p.time(q(req), 'time', now());
      return deps.queries.at(uid, t, await accessTo(res, { uid }));
    }),
  );

  r.get(
    '/objects/:uid/diff',
    handle(async (req, res) => {
      const query = q(req);
      const end = (which: 'from' | 'to') => {
        const bySeq = p.str(query, `${which}Seq`);
        const byTime = p.str(query, which);
        if ((bySeq === undefined) === (byTime === undefined)) {
          throw badParam(
            which,
            `give exactly one of '${which}' (a time) or '${which}Seq' (a version sequence number)`,
          );
        }
        return bySeq !== undefined
          ? { seq: p.seq(bySeq, `${which}Seq`) }
          : { time: p.parseTime(byTime!, which, now()) };
      };
      const uid = p.uid(req.params.uid as string);
      return deps.queries.diff(uid, end('from'), end('to'), await accessTo(res, { uid }));
    }),
  );

  r.get(
    '/events',
    handle(async (req, res) => {
      const query = q(req);
      const uid = p.str(query, 'involvedUid');
      const ns = p.namespace(query);
      return deps.queries.events(
        {
          namespace: ns,
          involvedUid: uid === undefined ? undefined : p.uid(uid, 'involvedUid'),
          reason: p.objectName(query, 'reason'),
          type: p.oneOf(query, 'type', ['Normal', 'Warning'] as const),
          window: p.window(query, now()),
          limit: p.limit(query),
          cursor: p.str(query, 'cursor'),
        },
        await access(res, 'list', (s) => events(s) && inNamespace(ns)(s)),
      );
    }),
  );

  r.get(
    '/rollouts',
    handle(async (req, res) => {
      const query = q(req);
      const ns = p.namespace(query);
      return deps.queries.rollouts(
        {
          namespace: ns,
          kind: p.oneOf(query, 'kind', ['Deployment', 'StatefulSet', 'DaemonSet', 'Job'] as const),
          name: p.objectName(query, 'name'),
          outcome: p.oneOf(query, 'outcome', ROLLOUT_OUTCOMES),
          window: p.window(query, now(), 7 * 86_400_000),
          limit: p.limit(query, 20),
          cursor: p.str(query, 'cursor'),
        },
        await access(res, 'list', inNamespace(ns)),
      );
    }),
  );

  r.get(
    '/rollouts/:id',
    handle(async (req, res) => {
      const id = String(req.params.id);
      if (!/^\d{1,15}$/.test(id)) throw badParam('id', `${quote(id)} is not a rollout id`);
      return deps.queries.rollout(Number(id), await accessTo(res, { rollout: Number(id) }));
    }),
  );

  r.get(
    '/timeline',
    handle(async (req, res) => {
      const query = q(req);
      const ns = p.namespace(query);
      if (ns === undefined) throw badParam('namespace', 'is required');
      return deps.queries.timeline(
        {
          namespace: ns,
          kinds: p.kinds(query),
          window: p.window(query, now()),
          buckets: p.int(query, 'buckets', { min: 1, max: MAX_BUCKETS, fallback: 60 }),
          limit: p.int(query, 'limit', {
            min: 1,
            max: MAX_TIMELINE_ROWS,
            fallback: DEFAULT_TIMELINE_ROWS,
          }),
        },
        await access(res, 'list', inNamespace(ns)),
      );
    }),
  );

  r.get(
    '/namespaces/:namespace/state',
    handle(async (req, res) => {
      const query = q(req);
      const ns = p.namespace({ namespace: req.params.namespace });
      return deps.queries.namespaceState(
        ns!,
        p.time(query, 'at', now(), now()),
        {
          kinds: p.kinds(query),
          limit: p.int(query, 'limit', {
            min: 1,
            max: MAX_STATE_LIMIT,
            fallback: DEFAULT_STATE_LIMIT,
          }),
          cursor: p.str(query, 'cursor'),
        },
        await access(res, 'list', inNamespace(ns)),
      );
    }),
  );

  r.get(
    '/changes',
    handle(async (req, res) => {
      const query = q(req);
      const ns = p.namespace(query);
      return deps.queries.changes(
        {
          namespace: ns,
          window: p.window(query, now()),
          limit: p.limit(query, 50),
          cursor: p.str(query, 'cursor'),
        },
        await access(res, 'list', inNamespace(ns)),
      );
    }),
  );

  r.get('/stream', (req, res, next) => {
    const streams = deps.streams;
    if (!streams) return next(new ProblemError(404, 'Not found', 'this server has no live stream'));
    let query;
    try {
      query = parseStreamRequest(req);
    } catch (err) {
      return next(err);
    }
    streams
      // Over every scope, not only the stream's namespace: a kind or namespace recorded after
      // the stream opened is then still judged by the cluster-wide reviews of its resource.
      .serve(req, res, query, () => access(res, 'list'))
      .catch((err: unknown) => (res.headersSent ? deps.logError?.(err) : next(err)));
  });

  r.get('/bundle', (req, res, next) => {
    const send = async () => {
      const dir = deps.bundleDir;
      if (!dir) throw new ProblemError(404, 'Not found', 'this server has no history volume');
      const query = q(req);
      const raw = query.namespace;
      const given = (Array.isArray(raw) ? raw : raw === undefined ? [] : [raw])
        .flatMap((v) => String(v).split(','))
        .filter(Boolean);
      if (given.length === 0) {
        throw badParam('namespace', 'is required: repeat it, or separate namespaces with commas');
      }
      if (given.length > 50)
        throw badParam('namespace', `names ${given.length} namespaces, at most 50`);
      const namespaces = [...new Set(given.map((v) => p.namespace({ namespace: v })!))];
      const window = p.window(query, now());
      const granted = await access(res, 'list', (s) => namespaces.includes(s.namespace));
      await mkdir(dir, { recursive: true });
      const file = join(dir, `bundle-${randomBytes(6).toString('hex')}.db`);
      const summary = await deps.queries
        .bundle({ namespaces, window, file }, granted)
        .catch((err: unknown) => {
          if (err instanceof QueryUnavailableError) {
            res.set('Retry-After', String(err.retryAfterSeconds));
          }
          throw toProblem(err);
        });
      const counts = JSON.parse(summary!.text) as { objects: number; versions: number };
      const stamp = new Date(now()).toISOString().replace(/[:.]/g, '-');
      res.sendFile(
        file,
        {
          headers: {
            'Content-Type': 'application/vnd.sqlite3',
            'Content-Disposition': `attachment; filename="hindsight-bundle-${stamp}.db"`,
            'Cache-Control': 'no-store',
            'X-Hindsight-Objects': String(counts.objects),
            'X-Hindsight-Versions': String(counts.versions),
          },
        },
        (err) => {
          void rm(file, { force: true });
          if (err) {
            if (res.headersSent) deps.logError?.(err);
            else next(err);
          }
        },
      );
    };
    send().catch(next);
  });

  r.get('/backup', (_req, res, next) => {
    const backups = deps.backups;
    const send = async () => {
      if (!backups) throw new ProblemError(404, 'Not found', 'this server has no history volume');
      if (auth) {
        const caller = res.locals.caller as Caller;
        if (!(await auth.can(caller, 'get', BACKUP_PERMISSION))) {
          deps.metrics?.backup('forbidden');
          throw new ProblemError(
            403,
            'Forbidden',
            `a backup holds the history of every namespace, so it needs permission to get backups.hindsight.dev cluster-wide, which ${caller.user} does not have (see the hindsight-backup ClusterRole)`,
          );
        }
      }
      if (backups.busy) {
        deps.metrics?.backup('busy');
        res.set('Retry-After', '30');
        throw new ProblemError(
          503,
          'Backup in progress',
          'another backup is being taken; try again when it is done',
        );
      }
      const b = await backups.take().catch((err: unknown) => {
        if (!(err instanceof BackupRefused)) throw err;
        deps.metrics?.backup(err.status === 507 ? 'no-room' : 'busy');
        if (err.status === 503) res.set('Retry-After', '30');
        throw new ProblemError(
          err.status,
          err.status === 507 ? 'Insufficient storage' : 'Backup in progress',
          err.message,
        );
      });
      const stamp = new Date(now()).toISOString().replace(/[:.]/g, '-');
      res.sendFile(
        b.file,
        {
          headers: {
            'Content-Type': 'application/vnd.sqlite3',
            'Content-Disposition': `attachment; filename="hindsight-${stamp}.db"`,
            'Cache-Control': 'no-store',
            'X-Hindsight-Sequence': String(b.seq),
            'X-Hindsight-Schema': String(b.schema),
          },
        },
        (err) => {
          void b.release();
          deps.metrics?.backup(err ? 'failed' : 'sent', err ? 0 : b.bytes);
          if (err) {
            if (res.headersSent) deps.logError?.(err);
            else next(err);
          }
        },
      );
    };
    send().catch(next);
  });

  r.use(notFound);
  return r;
}
