// Config files into Docker containers: rendered per instance, secret references resolved here (on
// the worker or the host's agent, never in a workflow), copied into the container after it is
// created and before it first starts. Each container carries a digest of what it was given, so
// `status` can tell a file edited by hand (drift) from its revision's.
import { createHash } from 'node:crypto';
import type Docker from 'dockerode';
import { extract, pack } from 'tar-stream';
import type { RenderedConfigFile } from '../record/configFiles';
import { resolveSecretRefs } from '../record/template';
import { LABEL } from '../record/identity';
import { resolveSecretRef } from './secrets';

/** The files with their secret references replaced by the values (throws PREFLIGHT_FAILED if one cannot be). */
export function resolveConfigFiles(files: RenderedConfigFile[]): RenderedConfigFile[] {
  return files.map((f) => ({
    ...f,
    content: resolveSecretRefs(f.content, (ref) => resolveSecretRef(ref, `in config file ${f.path}`)),
  }));
}

function sha(text: string | Buffer): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

/**
 * The label value that records what a container was given: path -> short sha256 of the content.
 * It stays on the host (a container label); `status` reads back only which paths differ.
 */
export function configDigest(files: RenderedConfigFile[]): string {
  return JSON.stringify(Object.fromEntries(files.map((f) => [f.path, sha(f.content)])));
}

/** A tar of the files at their absolute paths (no directory entries: existing ones keep their owner). */
export async function configArchive(files: RenderedConfigFile[]): Promise<Buffer> {
  const tar = pack();
  for (const f of files) {
    tar.entry(
      { name: f.path.replace(/^\//, ''), mode: f.mode, uid: f.uid, gid: f.gid, mtime: new Date(0) },
      f.content,
    );
  }
  tar.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of tar) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Copies the files into a created (not yet started) container; repeating it writes the same bytes. */
export async function deliverConfigFiles(
  docker: Docker,
  containerId: string,
  files: RenderedConfigFile[],
): Promise<void> {
  if (files.length === 0) return;
  await docker.getContainer(containerId).putArchive(await configArchive(files), { path: '/' });
}

/** The content of one file in a container, or null if it is not there. */
async function readContainerFile(docker: Docker, containerId: string, path: string): Promise<Buffer | null> {
  let stream: NodeJS.ReadableStream;
  try {
    stream = await docker.getContainer(containerId).getArchive({ path });
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return null;
    throw error;
  }
  const tar = extract();
  const content = new Promise<Buffer | null>((resolve, reject) => {
    let found: Buffer | null = null;
    tar.on('entry', (header, body, next) => {
      const chunks: Buffer[] = [];
      body.on('data', (c: unknown) => chunks.push(c as Buffer));
      body.on('end', () => {
        if (found === null && header.type === 'file') found = Buffer.concat(chunks);
        next();
      });
      body.resume();
    });
    tar.on('finish', () => resolve(found));
    tar.on('error', reject);
  });
  stream.pipe(tar);
  return content;
}

/**
 * Which of a container's config files differ from what it was given (its digest label): "<path>
 * changed" or "<path> missing". Containers without config files have nothing to differ.
 */
export async function driftedConfigFiles(
  docker: Docker,
  containerId: string,
  labels: Record<string, string>,
): Promise<string[]> {
  const recorded = labels[LABEL.configDigest];
  if (!recorded) return [];
  let digest: Record<string, string>;
  try {
    digest = JSON.parse(recorded) as Record<string, string>;
  } catch {
    return [`label ${LABEL.configDigest} unreadable`];
  }
  const drift: string[] = [];
  for (const [path, expected] of Object.entries(digest)) {
    const content = await readContainerFile(docker, containerId, path);
    if (content === null) drift.push(`${path} missing`);
    else if (sha(content) !== expected) drift.push(`${path} changed`);
  }
  return drift;
}
