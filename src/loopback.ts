// Whether a host names this machine only: 127.0.0.0/8, ::1 or localhost (case-insensitive, IPv6
// with or without brackets). Used where Hindsight relaxes a rule for loopback: --auth=none,
// the CLI's --use-kube-token, and the Host check against DNS rebinding.
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/** The host of a Host header value (`name`, `name:port`, `[v6]:port`), or '' when malformed. */
export function hostOfHeader(value: string | undefined): string {
  if (!value) return '';
  const v6 = /^\[([^\]]+)\](?::\d+)?$/.exec(value);
  if (v6) return v6[1]!;
  const m = /^([^:[\]]+)(?::\d+)?$/.exec(value);
  return m ? m[1]! : '';
}
