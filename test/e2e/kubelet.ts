/**
 * Pieces of kubelet behaviour the runner reproduces exactly, kept free of I/O so they are easy to read
 * against their upstream counterparts.
 */

/**
 * kubelet's `$(VAR)` expansion of `command`, `args` and `env` values
 * (k8s.io/kubernetes third_party/forked/golang/expansion, `Expand` and `tryReadVariableName`):
 * `$(NAME)` becomes the value when NAME is defined and stays as written otherwise, `$$` becomes `$`,
 * any other `$x` and an unterminated `$(` stay as written.
 */
export function expand(input: string, vars: ReadonlyMap<string, string>): string {
  let out = '';
  let checkpoint = 0;
  for (let cursor = 0; cursor < input.length; cursor++) {
    if (input[cursor] === '$' && cursor + 1 < input.length) {
      out += input.slice(checkpoint, cursor);
      const rest = input.slice(cursor + 1);
      let advance = 1;
      if (rest[0] === '$') {
        out += '$';
      } else if (rest[0] === '(') {
        const close = rest.indexOf(')', 1);
        if (close >= 1) {
          const name = rest.slice(1, close);
          out += vars.has(name) ? vars.get(name) : `$(${name})`;
          advance = close + 1;
        } else {
          out += '$(';
        }
      } else {
        out += `$${rest[0]}`;
      }
      cursor += advance;
      checkpoint = cursor + 1;
    }
  }
  return out + input.slice(checkpoint);
}

/** A Kubernetes quantity (`1Mi`, `2Gi`, `500M`, `1024`) in bytes. */
export function quantityBytes(quantity: string | number): number {
  const match = /^([0-9]+)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(String(quantity));
  if (!match) {
    throw new Error(`unsupported quantity ${JSON.stringify(quantity)}`);
  }
  const units: { [unit: string]: number } = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, k: 1e3, M: 1e6, G: 1e9, T: 1e12 };
  return Number(match[1]) * (match[2] ? units[match[2]] : 1);
}

/** The capabilities containerd and CRI-O give a container unless it adds or drops some. */
export const DEFAULT_CAPABILITIES = [
  'CHOWN', 'DAC_OVERRIDE', 'FSETID', 'FOWNER', 'MKNOD', 'NET_RAW', 'SETGID', 'SETUID', 'SETFCAP', 'SETPCAP',
  'NET_BIND_SERVICE', 'SYS_CHROOT', 'KILL', 'AUDIT_WRITE',
];

/** A container's capability set after `securityContext.capabilities` (`drop: [ALL]` empties it). */
export function capabilitiesOf(capabilities: { add?: string[]; drop?: string[] } | undefined): string[] {
  const strip = (c: string) => c.toUpperCase().replace(/^CAP_/, '');
  const drop = (capabilities?.drop ?? []).map(strip);
  const base = drop.includes('ALL') ? [] : DEFAULT_CAPABILITIES.filter(c => !drop.includes(c));
  return [...new Set([...base, ...(capabilities?.add ?? []).map(strip)])];
}

/** The kubelet keeps at most this many bytes (the tail) of a container's termination message. */
export const MAX_TERMINATION_MESSAGE_BYTES = 4096;

/** `FallbackToLogsOnError` reads at most this many lines (the tail) of the container's log … */
export const MAX_TERMINATION_MESSAGE_LOG_LINES = 80;

/** … and keeps at most this many bytes (the tail) of them. */
export const MAX_TERMINATION_MESSAGE_LOG_BYTES = 2048;

/** The `terminationMessagePolicy` values Kubernetes accepts. */
export const TERMINATION_MESSAGE_POLICIES = ['File', 'FallbackToLogsOnError'];

/**
 * A container's termination message as the kubelet reports it (pkg/kubelet/kuberuntime `getTerminationMessage`
 * and `readLastStringFromContainerLogs`): the tail of the termination message file; under
 * `FallbackToLogsOnError`, when the container exited non-zero and the file is empty, the tail of its log
 * (stdout and stderr interleaved as written) instead: the last 80 lines, of which the last 2048 bytes.
 */
export function terminationMessage(file: Buffer, policy: string | undefined, exitCode: number, log: Buffer): string {
  const message = file.subarray(Math.max(0, file.length - MAX_TERMINATION_MESSAGE_BYTES));
  if (policy !== 'FallbackToLogsOnError' || exitCode === 0 || message.length > 0) {
    return message.toString();
  }
  let start = log.length;
  // the last 80 lines: a final line without its newline counts as a line
  for (let lines = 0; start > 0 && lines < MAX_TERMINATION_MESSAGE_LOG_LINES; lines++) {
    const newline = log.lastIndexOf(0x0a, start - 2);
    start = newline < 0 ? 0 : newline + 1;
  }
  const tail = log.subarray(start);
  return tail.subarray(Math.max(0, tail.length - MAX_TERMINATION_MESSAGE_LOG_BYTES)).toString();
}
