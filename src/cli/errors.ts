// The CLI's errors. Each message is one line naming what is wrong and what to do; the exit code
// says whose mistake it was.

/** A mistake in the command line: exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** Anything else that stops a command (unreachable operator, refused credentials, nothing recorded): exit code 1. */
export class CliError extends Error {
  override name = 'CliError';
}

/** A CliError that ends the command with its own exit code (`track`'s 3, 4 and 5). */
export class ExitError extends CliError {
  override name = 'ExitError';
  readonly code: number;

  constructor(code: number, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}
