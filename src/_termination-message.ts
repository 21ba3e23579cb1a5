import { invalid } from './_validate';
import { ImageReference } from './image-reference';

/**
 * What the scripts write to a container's termination message, and the kubelet's limit on it: lines the kubelet
 * would cut off at run time are refused at synth time instead.
 */

/** The kubelet's limit on a termination message. */
export const TERMINATION_MESSAGE_BYTES = 4096;

/** "@sha256:" and 64 hex digits, and the newline a script writes after each line. */
const DIGEST_LINE_SUFFIX = '@'.length + 'sha256:'.length + 64 + '\n'.length;

/**
 * Fails unless a termination message of one `<line>@sha256:<64 hex>` per line of `lines` fits the kubelet's 4096
 * bytes (a longer message would lose lines at run time); `prop` and `value` name what made the lines, `what`
 * describes the lines and `allowed` says what would fit.
 */
export function checkTerminationMessage(prop: string, value: unknown, lines: string[], what: string,
  allowed: string = `fewer or shorter ${prop}`): void {
  const bytes = lines.reduce((sum, line) => sum + Buffer.byteLength(line) + DIGEST_LINE_SUFFIX, 0);
  if (bytes > TERMINATION_MESSAGE_BYTES) {
    invalid(prop, value, `expected ${allowed}: their termination message (${what}) needs ${bytes} bytes, over the kubelet's ${TERMINATION_MESSAGE_BYTES}`);
  }
}

/**
 * A builder's termination message: `<destination>@<digest>` per destination, then with several platforms one
 * `<os/arch[/variant]> <first destination's repository>@<manifest digest>` line per platform. Fails naming
 * `destinations` when it would not fit the kubelet's 4096 bytes.
 */
export function checkBuildTerminationMessage(destinations: string[], refs: ImageReference[], platforms: string[]): void {
  const repository = refs[0].name;
  checkTerminationMessage('destinations', destinations, [...refs.map(String), ...platforms.map(platform => `${platform} ${repository}`)],
    '"<destination>@sha256:<64 hex>" per destination, "<platform> <repository>@sha256:<64 hex>" per platform',
    'fewer or shorter destinations or fewer platforms');
}
