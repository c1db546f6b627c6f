// Readiness checks: named functions that say whether a part of the operator can do its job.

export interface CheckResult {
  ok: boolean;
  message?: string;
}

export type ReadinessCheck = () => CheckResult;

export class Readiness {
  private readonly checks = new Map<string, ReadinessCheck>();

  /** Adds or replaces the check called `name`. */
  set(name: string, check: ReadinessCheck): void {
    this.checks.set(name, check);
  }

  evaluate(): { ready: boolean; checks: Record<string, CheckResult> } {
    const checks: Record<string, CheckResult> = {};
    let ready = true;
    for (const [name, check] of this.checks) {
      let result: CheckResult;
      try {
        result = check();
      } catch (err) {
        result = { ok: false, message: `check failed: ${(err as Error).message}` };
      }
      checks[name] = result;
      ready &&= result.ok;
    }
    return { ready, checks };
  }
}
