import { invalid } from './_validate';
import { ImageReference } from './image-reference';

/**
 * What the build scripts write to a container's termination message, and the kubelet's limit on it: lines the
 * kubelet would cut off at run time are refused at synth time instead.
 */

/** The kubelet's limit on a termination message. */
export const TERMINATION_MESSAGE_BYTES = 4096;

/** "@sha256:" and 64 hex digits, and the newline the script writes after each line. */
export const DIGEST_LINE_SUFFIX = '@'.length + 'sha256:'.length + 64 + '\n'.length;

/** The bytes of `<line>@sha256:<64 hex>\n` for every line. */
export function digestLinesBytes(lines: string[]): number {
  return lines.reduce((sum, line) => sum + Buffer.byteLength(line) + DIGEST_LINE_SUFFIX, 0);
}

/**
 * A builder's termination message: `<destination>@<digest>` per destination, then with several platforms one
 * `<os/arch[/variant]> <first destination's repository>@<manifest digest>` line per platform. Fails naming
 * `destinations` when it would not fit the kubelet's 4096 bytes.
 */
export function checkBuildTerminationMessage(destinations: string[], refs: ImageReference[], platforms: string[]): void {
  const repository = refs[0].name;
  const bytes = digestLinesBytes([...refs.map(String), ...platforms.map(platform => `${platform} ${repository}`)]);
  if (bytes > TERMINATION_MESSAGE_BYTES) {
    invalid('destinations', destinations, `expected fewer or shorter destinations or fewer platforms: their termination message ("<destination>@sha256:<64 hex>" per destination, "<platform> <repository>@sha256:<64 hex>" per platform) needs ${bytes} bytes, over the kubelet's ${TERMINATION_MESSAGE_BYTES}`);
  }
}
