// Structured JSON logging: one object per line on stderr, with time, level, message and fields.

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export type Fields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: Fields): void;
  info(msg: string, fields?: Fields): void;
  warn(msg: string, fields?: Fields): void;
  error(msg: string, fields?: Fields): void;
  /** A logger that adds `fields` to every line. */
  child(fields: Fields): Logger;
}

export function createLogger(
  level: LogLevel,
  write: (line: string) => void = (line) => process.stderr.write(line),
  base: Fields = {},
): Logger {
  const min = LOG_LEVELS.indexOf(level);
  const emit = (lvl: LogLevel, msg: string, fields?: Fields) => {
    if (LOG_LEVELS.indexOf(lvl) < min) return;
    const line = { time: new Date().toISOString(), level: lvl, msg, ...base, ...fields };
    write(JSON.stringify(line, errorReplacer) + '\n');
  };
  return {
    debug: (msg, fields) => emit('debug', msg, fields),
    info: (msg, fields) => emit('info', msg, fields),
    warn: (msg, fields) => emit('warn', msg, fields),
    error: (msg, fields) => emit('error', msg, fields),
    child: (fields) => createLogger(level, write, { ...base, ...fields }),
  };
}

// Errors have no enumerable properties; log their message (and cause) instead of `{}`.
function errorReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) {
    const out: Fields = { message: value.message, name: value.name };
    if (value.cause !== undefined) out.cause = value.cause;
    return out;
  }
  return value;
}
