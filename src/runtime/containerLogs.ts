// The last lines a container wrote, for explaining a failure: a one-off job's (in its failure) or a
// service instance's that failed its gate (in the worker's log only: a long-running service may print
// what it should not, and histories are shown in the Web UI).
import type Docker from 'dockerode';

/** Docker multiplexes stdout and stderr of a container without a TTY into 8-byte-headed frames. */
export function demuxLogs(buffer: Buffer): string {
  const parts: Buffer[] = [];
  let at = 0;
  while (at + 8 <= buffer.length && buffer[at]! <= 2 && buffer.readUIntBE(at + 1, 3) === 0) {
    const size = buffer.readUInt32BE(at + 4);
    parts.push(buffer.subarray(at + 8, at + 8 + size));
    at += 8 + size;
  }
  // Not framed (a TTY container), or a frame cut short: the rest is plain text.
  if (at < buffer.length) parts.push(buffer.subarray(at));
  return Buffer.concat(parts).toString('utf8');
}

/** The last `lines` lines of a container's output, or why they could not be read. */
export async function containerLogTail(docker: Docker, nameOrId: string, lines = 20): Promise<string> {
  try {
    const buffer = (await docker
      .getContainer(nameOrId)
      .logs({ stdout: true, stderr: true, tail: lines, follow: false })) as unknown as Buffer;
    return demuxLogs(buffer).trimEnd();
  } catch (error) {
    return `(no logs: ${(error as Error).message})`;
  }
}
