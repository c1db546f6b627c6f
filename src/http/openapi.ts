// The OpenAPI 3.1 description of /api/v1, served at /api/v1/openapi.json. A test checks the real
// responses against these schemas.

const str = { type: 'string' } as const;
const int = { type: 'integer' } as const;
const ms = { type: 'integer', description: 'milliseconds since the Unix epoch' } as const;
const nullable = (s: object) => ({ anyOf: [s, { type: 'null' }] });
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const page = (item: string) => ({
  type: 'object',
  required: ['items', 'next'],
  properties: {
    items: { type: 'array', items: ref(item) },
    next: { ...nullable(str), description: 'cursor of the next page' },
  },
});

const schemas = {
  Problem: {
    type: 'object',
    required: ['type', 'title', 'status', 'detail'],
    properties: {
      type: str,
      title: str,
      status: int,
      detail: str,
      param: { ...str, description: 'the parameter that is wrong' },
    },
  },
  Owner: {
    type: 'object',
    required: ['kind', 'name', 'uid'],
    properties: { kind: str, name: str, uid: str },
  },
  ObjectSummary: {
    type: 'object',
    required: [
      'uid',
      'group',
      'version',
      'kind',
      'resource',
      'namespace',
      'name',
      'createdAt',
      'deletedAt',
      'deletion',
      'owner',
      'node',
      'labels',
      'services',
      'versions',
      'lastChange',
    ],
    properties: {
      uid: str,
      group: str,
      version: str,
      kind: str,
      resource: str,
      namespace: { ...str, description: "'' for cluster-scoped objects" },
      name: str,
      createdAt: nullable(ms),
      deletedAt: nullable(ms),
      deletion: { enum: ['observed', 'inferred', null] },
      owner: nullable(ref('Owner')),
      node: nullable(str),
      labels: { type: 'object', additionalProperties: str },
      services: { type: 'array', items: str },
      versions: int,
      lastChange: ms,
    },
  },
  VersionSummary: {
    type: 'object',
    required: ['seq', 'rv', 'time', 'type', 'inferred', 'actor', 'paths'],
    properties: {
      seq: { ...int, description: 'global, monotonically increasing sequence number' },
      rv: { ...str, description: 'resourceVersion of the object at this version' },
      time: ms,
      type: { enum: ['added', 'modified', 'deleted'] },
      inferred: { type: 'boolean', description: 'a deletion inferred at a relist, not seen live' },
      actor: {
        ...nullable(str),
        description: 'field managers and operations that made the change',
      },
      paths: { type: 'array', items: str, description: 'changed paths' },
    },
  },
  VersionWithObject: {
    type: 'object',
    required: ['version', 'object'],
    properties: {
      version: ref('VersionSummary'),
      object: { description: 'the object as recorded' },
    },
  },
  Diff: {
    type: 'object',
    required: ['from', 'to', 'patch', 'text'],
    properties: {
      from: ref('VersionSummary'),
      to: ref('VersionSummary'),
      patch: {
        type: 'array',
        items: {
          type: 'object',
          required: ['op', 'path'],
          properties: { op: { enum: ['add', 'remove', 'replace'] }, path: str },
        },
      },
      text: { type: 'array', items: str },
    },
  },
  EventSummary: {
    type: 'object',
    required: [
      'uid',
      'namespace',
      'name',
      'involved',
      'reason',
      'type',
      'message',
      'firstTime',
      'lastTime',
      'count',
      'occurrences',
    ],
    properties: {
      uid: str,
      namespace: str,
      name: str,
      involved: { type: 'object' },
      reason: nullable(str),
      type: nullable(str),
      message: nullable(str),
      source: nullable(str),
      firstTime: ms,
      lastTime: ms,
      count: int,
      occurrences: {
        type: 'array',
        items: {
          type: 'object',
          required: ['seq', 'time', 'count'],
          properties: { seq: int, time: ms, count: int },
        },
      },
    },
  },
  Gap: {
    type: 'object',
    required: ['start', 'end', 'reason'],
    properties: {
      watch: str,
      group: str,
      resource: str,
      namespace: str,
      start: ms,
      end: ms,
      reason: str,
    },
  },
  TimelineRow: {
    type: 'object',
    required: ['uid', 'kind', 'namespace', 'name', 'ownerChain', 'lifespan', 'changes', 'events'],
    properties: {
      uid: str,
      kind: str,
      namespace: str,
      name: str,
      ownerChain: { type: 'array', items: ref('Owner') },
      lifespan: {
        type: 'object',
        required: ['start', 'end'],
        properties: { start: nullable(ms), end: nullable(ms) },
      },
      changes: {
        type: 'array',
        items: {
          type: 'object',
          required: ['seq', 'time', 'type'],
          properties: { seq: int, time: ms, type: str },
        },
      },
      events: {
        type: 'array',
        items: {
          type: 'object',
          required: ['bucket', 'normal', 'warning'],
          properties: { bucket: int, normal: int, warning: int },
        },
      },
    },
  },
  Timeline: {
    type: 'object',
    required: ['window', 'bucketMs', 'rows', 'gaps'],
    properties: {
      window: { type: 'object', required: ['from', 'to'], properties: { from: ms, to: ms } },
      bucketMs: int,
      rows: { type: 'array', items: ref('TimelineRow') },
      gaps: { type: 'array', items: ref('Gap') },
    },
  },
  NamespaceState: {
    type: 'object',
    required: ['items', 'next'],
    properties: {
      next: { ...nullable(str), description: 'cursor of the next page' },
      items: {
        type: 'array',
        items: {
          type: 'object',
          required: ['object', 'version', 'body'],
          properties: { object: ref('ObjectSummary'), version: ref('VersionSummary'), body: {} },
        },
      },
    },
  },
  Change: {
    type: 'object',
    required: ['object', 'versions', 'patch'],
    properties: {
      object: ref('ObjectSummary'),
      versions: { type: 'array', items: ref('VersionSummary') },
      patch: { type: 'array' },
    },
  },
  ObjectPage: page('ObjectSummary'),
  SinceItem: {
    type: 'object',
    description: 'one message of the live stream: a new version or an Event occurrence',
    required: ['kind', 'seq', 'time'],
    properties: {
      kind: { enum: ['version', 'occurrence'] },
      seq: { ...int, description: 'sequence number; the message id, to resume from' },
      time: ms,
      object: ref('ObjectSummary'),
      version: ref('VersionSummary'),
      event: ref('EventSummary'),
    },
  },
  VersionPage: page('VersionSummary'),
  EventPage: page('EventSummary'),
  Rollout: {
    type: 'object',
    description:
      'one rollout of a workload: a generation change of a Deployment, StatefulSet or DaemonSet, or a Job run, derived from the recorded history',
    required: ['id', 'kind', 'namespace', 'name', 'uid', 'generation', 'started', 'outcome'],
    properties: {
      id: int,
      kind: { enum: ['Deployment', 'StatefulSet', 'DaemonSet', 'Job'] },
      namespace: str,
      name: str,
      uid: str,
      generation: int,
      started: ms,
      ended: nullable(ms),
      outcome: { enum: ['in-progress', 'complete', 'failed', 'superseded', 'deleted'] },
      reason: nullable(str),
      message: nullable(str),
      oldRevision: nullable(str),
      newRevision: nullable(str),
      imagesBefore: { type: 'array', items: str },
      imagesAfter: { type: 'array', items: str },
      actor: { ...nullable(str), description: 'field managers of the spec change that started it' },
      startSeq: int,
      endSeq: nullable(int),
      problem: {
        ...nullable(str),
        description: 'the last counted problem seen (image pulls, crash loops…)',
      },
      events: {
        type: 'array',
        description: 'Events of its tree (workload, ReplicaSets, Pods) meanwhile, at most 50',
        items: {
          type: 'object',
          properties: { time: ms, type: str, reason: str, object: str, message: str },
        },
      },
      pods: { type: 'array', items: str, description: 'its new Pods, at most 50' },
    },
  },
  RolloutPage: page('Rollout'),
  ChangePage: page('Change'),
};

const param = (name: string, description: string, required = false, where = 'query') => ({
  name,
  in: where,
  required,
  description,
  schema: str,
});
const TIME = 'RFC 3339, milliseconds since the epoch, now, or relative such as -1h';
const windowParams = [
  param('from', `start of the window (${TIME}); default: an hour before to`),
  param('to', `end of the window (${TIME}); default: now`),
];
const pageParams = [
  param('limit', 'page size, 1 to 1,000'),
  param('cursor', 'the next cursor of the previous page'),
];
const uidParam = param('uid', 'uid of the object', true, 'path');

function op(summary: string, schema: string, parameters: object[]) {
  return {
    get: {
      summary,
      parameters,
      responses: {
        200: { description: 'OK', content: { 'application/json': { schema: ref(schema) } } },
        400: {
          description: 'a parameter is invalid',
          content: { 'application/problem+json': { schema: ref('Problem') } },
        },
        401: {
          description: 'no or an invalid bearer token',
          content: { 'application/problem+json': { schema: ref('Problem') } },
        },
        404: {
          description: 'not recorded, or not readable by the caller',
          content: { 'application/problem+json': { schema: ref('Problem') } },
        },
      },
    },
  };
}

const problem = (description: string) => ({
  description,
  content: { 'application/problem+json': { schema: ref('Problem') } },
});

const STREAM = {
  get: {
    summary: 'Live stream (Server-Sent Events) of new versions and Event occurrences',
    description:
      'Each message has `id` (its sequence number), `event` (version or occurrence) and `data` (a SinceItem as JSON). A message with only an `id` moves the resume position past records the caller may not read; `: keepalive` comments come every 15 s. Reconnect with Last-Event-ID to resume without gaps or duplicates; a stream ends after 30 minutes so credentials are checked again.',
    parameters: [
      param('namespace', 'namespace'),
      param('kinds', 'kinds, separated by commas; Event selects Event occurrences'),
      param('since', 'sequence number to resume after, or now (the default)'),
      param('Last-Event-ID', 'sequence number to resume after; wins over since', false, 'header'),
    ],
    responses: {
      200: {
        description: 'the stream',
        content: {
          'text/event-stream': { schema: { type: 'string' }, itemSchema: ref('SinceItem') },
        },
      },
      400: problem('a parameter is invalid, or since is past the newest record'),
      401: problem('no or an invalid bearer token'),
      503: problem('too many streams are open'),
    },
  },
};

const BACKUP = {
  get: {
    summary: 'A consistent copy of the history database, taken while recording goes on',
    description:
      'Needs get on backups.hindsight.dev cluster-wide (the hindsight-backup ClusterRole). Restore it with `hindsight restore` or the operator flag --restore.',
    parameters: [],
    responses: {
      200: {
        description:
          'a SQLite database; X-Hindsight-Sequence is the newest sequence number it holds, X-Hindsight-Schema its schema version',
        content: { 'application/vnd.sqlite3': { schema: { type: 'string', format: 'binary' } } },
      },
      401: problem('no or an invalid bearer token'),
      403: problem('the caller may not download backups'),
      503: problem('another backup is being taken'),
    },
  },
};

const BUNDLE = {
  get: {
    summary:
      'The history of some namespaces in a window, as a database `hindsight serve` answers from',
    description:
      'Of what the caller may list in those namespaces: each object alive in the window with its state at the start and every version in it, the Events that occurred in it, its gaps and the rollouts that started in it.',
    parameters: [
      param(
        'namespace',
        'a namespace; repeat it or separate namespaces with commas (at most 50)',
        true,
      ),
      ...windowParams,
    ],
    responses: {
      200: {
        description: 'a SQLite database; X-Hindsight-Objects and X-Hindsight-Versions count them',
        content: { 'application/vnd.sqlite3': { schema: { type: 'string', format: 'binary' } } },
      },
      400: problem('a bad parameter'),
      401: problem('no or an invalid bearer token'),
      503: problem('the query threads are busy'),
    },
  },
};

export const OPENAPI = {
  openapi: '3.1.0',
  info: {
    title: 'Hindsight history API',
    version: 'v1',
    description:
      'Recorded history of a Kubernetes cluster. Callers authenticate with a Kubernetes bearer token and see only what their RBAC lets them get or list now.',
  },
  paths: {
    '/api/v1/resources': op('Search recorded objects', 'ObjectPage', [
      param('kind', 'kind, such as Pod'),
      param('group', 'API group'),
      param('namespace', 'namespace'),
      param('name', 'exact name'),
      param('namePrefix', 'name prefix'),
      param('labelSelector', 'Kubernetes label selector'),
      param('includeDeleted', 'include deleted objects (true or false)'),
      ...windowParams,
      ...pageParams,
    ]),
    '/api/v1/objects/{uid}': op('One object', 'ObjectSummary', [uidParam]),
    '/api/v1/objects/{uid}/versions': op("One object's history", 'VersionPage', [
      uidParam,
      ...windowParams,
      ...pageParams,
    ]),
    '/api/v1/objects/{uid}/versions/{seq}': op('A version and its body', 'VersionWithObject', [
      uidParam,
      param('seq', 'version sequence number', true, 'path'),
    ]),
    '/api/v1/objects/{uid}/at': op('The object as of an instant', 'VersionWithObject', [
      uidParam,
      param('time', TIME, true),
    ]),
    '/api/v1/objects/{uid}/diff': op('What changed between two versions or instants', 'Diff', [
      uidParam,
      param('from', `start instant (${TIME})`),
      param('fromSeq', 'start version'),
      param('to', `end instant (${TIME})`),
      param('toSeq', 'end version'),
    ]),
    '/api/v1/rollouts': op('Rollouts that started in the window, newest first', 'RolloutPage', [
      param('namespace', 'only this namespace'),
      param('kind', 'Deployment, StatefulSet, DaemonSet or Job'),
      param('name', 'only the workload of this name'),
      param('outcome', 'in-progress, complete, failed, superseded or deleted'),
      param('from', `start of the window (${TIME}); default: 7 days before to`),
      param('to', `end of the window (${TIME}); default: now`),
      ...pageParams,
    ]),
    '/api/v1/rollouts/{id}': op('One rollout', 'Rollout', [
      param('id', 'the rollout id', true, 'path'),
    ]),
    '/api/v1/events': op('Kubernetes Events with their occurrences in a window', 'EventPage', [
      param('namespace', 'namespace'),
      param('involvedUid', 'uid of the object the Events are about'),
      param('reason', 'reason, such as BackOff'),
      param('type', 'Normal or Warning'),
      ...windowParams,
      ...pageParams,
    ]),
    '/api/v1/timeline': op('Timeline rows of a namespace', 'Timeline', [
      param('namespace', 'namespace', true),
      param('kinds', 'kinds, separated by commas'),
      param('buckets', 'number of Event buckets, 1 to 1000'),
      param(
        'limit',
        'rows at most, 1 to 50,000; default 2,000 (truncated says when more objects were alive)',
      ),
      ...windowParams,
    ]),
    '/api/v1/namespaces/{namespace}/state': op(
      'Every object of a namespace as of an instant',
      'NamespaceState',
      [
        param('namespace', 'namespace', true, 'path'),
        param('at', `the instant (${TIME}); default now`),
        param('kinds', 'kinds, separated by commas'),
        param(
          'limit',
          'objects per page, 1 to 1,000; default 500 (a page also ends once its bodies reach 8 MiB)',
        ),
        param('cursor', 'the next cursor of the previous page'),
      ],
    ),
    '/api/v1/stream': STREAM,
    '/api/v1/backup': BACKUP,
    '/api/v1/bundle': BUNDLE,
    '/api/v1/changes': op('Everything that changed between two instants', 'ChangePage', [
      param('namespace', 'namespace'),
      ...windowParams,
      ...pageParams,
    ]),
  },
  components: {
    schemas,
    securitySchemes: {
      kubernetes: { type: 'http', scheme: 'bearer', description: 'a Kubernetes bearer token' },
    },
  },
  security: [{ kubernetes: [] }],
};
