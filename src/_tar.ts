import { createHash } from 'crypto';
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'fs';
import { isAbsolute, join, relative, resolve, sep } from 'path';
import { gzipSync } from 'zlib';
import { IgnoreMatcher } from './_dockerignore';
import { invalid } from './_validate';

/** A directory packed as a deterministic `.tar.gz`. */
export interface PackedDirectory {
  /** The gzip-compressed tar archive. */
  readonly archive: Buffer;
  /** The sha256 of `archive`, hex. */
  readonly sha256: string;
  /** Every path in the archive ("/"-separated, directories end with "/"), in archive order. */
  readonly entries: string[];
}

interface Entry {
  readonly path: string;
  readonly type: 'file' | 'directory' | 'symlink';
  readonly mode: number;
  readonly data?: Buffer;
  readonly linkname?: string;
}

/** Files a Docker build always sends, even when `.dockerignore` lists them. */
const ALWAYS_SENT = ['Dockerfile', '.dockerignore'];

/**
 * Packs `root` the same way every time: entries sorted by name, mtime 0, uid/gid 0, no user names, modes
 * 0755 (directories, executables) or 0644, `.dockerignore` and `exclude` honoured. Symlinks are stored as
 * symlinks when they point inside `root`; links that escape it are refused, because the pod would not
 * have their targets.
 *
 * @param prop the prop named in errors
 */
export function packDirectory(prop: string, root: string, exclude: string[]): PackedDirectory {
  let stat;
  try {
    stat = lstatSync(root);
  } catch {
    return invalid(prop, root, 'expected an existing directory');
  }
  if (!stat.isDirectory()) {
    invalid(prop, root, 'expected a directory');
  }
  const ignoreFile = join(root, '.dockerignore');
  const ignoreLines = isFile(ignoreFile) ? readFileSync(ignoreFile, 'utf8').split(/\r?\n/) : [];
  const matcher = new IgnoreMatcher([...ignoreLines, ...exclude]);
  const entries: Entry[] = [];
  walk(prop, resolve(root), '', matcher, entries);
  const tar = Buffer.concat([...entries.flatMap(toBlocks), Buffer.alloc(1024)]);
  const archive = gzipSync(tar, { level: 9 });
  // the OS byte of the gzip header differs between zlib builds (3 on Linux, 19 on macOS): fix it
  archive[9] = 3;
  return {
    archive,
    sha256: createHash('sha256').update(archive).digest('hex'),
    entries: entries.map(e => e.path),
  };
}

/** Whether `path` is a regular file (not following a symlink). */
export function isFile(path: string): boolean {
  try {
    return lstatSync(path).isFile();
  } catch {
    return false;
  }
}

/** Whether `path` is a directory (not following a symlink). */
export function isDirectory(path: string): boolean {
  try {
    return lstatSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** Adds the entries below `dir`; returns whether anything was added. */
function walk(prop: string, root: string, dir: string, matcher: IgnoreMatcher, out: Entry[]): boolean {
  const names = readdirSync(join(root, dir)).sort(byBytes);
  let added = false;
  for (const name of names) {
    const path = dir === '' ? name : `${dir}/${name}`;
    const abs = join(root, path);
    const stat = lstatSync(abs);
    const ignored = matcher.ignores(path) && !(dir === '' && ALWAYS_SENT.includes(name));
    if (stat.isDirectory()) {
      if (ignored && !matcher.hasExclusions) {
        continue;
      }
      const at = out.length;
      const dirEntry: Entry = { path: `${path}/`, type: 'directory', mode: 0o755 };
      out.push(dirEntry);
      const childAdded = walk(prop, root, path, matcher, out);
      if (ignored && !childAdded) {
        out.splice(at, 1);
      } else {
        added = true;
      }
      continue;
    }
    if (ignored) {
      continue;
    }
    if (stat.isSymbolicLink()) {
      const linkname = readlinkSync(abs);
      const target = resolve(join(root, dir), linkname);
      const inside = relative(root, target);
      if (isAbsolute(linkname) || inside === '..' || inside.startsWith(`..${sep}`)) {
        invalid(prop, `${path} -> ${linkname}`, 'expected symlinks that stay inside the directory (relative targets); the pod would not have this target');
      }
      out.push({ path, type: 'symlink', mode: 0o777, linkname });
    } else if (stat.isFile()) {
      out.push({ path, type: 'file', mode: isExecutable(stat.mode) ? 0o755 : 0o644, data: readFileSync(abs) });
    } else {
      invalid(prop, path, 'expected regular files, directories and symlinks only (no sockets, pipes or devices)');
    }
    added = true;
  }
  return added;
}

/** Any execute bit (owner, group or other) set. */
function isExecutable(mode: number): boolean {
  return (mode % 0o1000).toString(8).split('').some(digit => Number(digit) % 2 === 1);
}

/** Orders names by their UTF-8 bytes, the same on every platform and locale. */
export function byBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

const BLOCK = 512;

/** The tar blocks of one entry: a PAX header when a name does not fit ustar, the header, the data. */
function toBlocks(entry: Entry): Buffer[] {
  const blocks: Buffer[] = [];
  const pax: [string, string][] = [];
  if (Buffer.byteLength(entry.path) > 100 || !isAscii(entry.path)) {
    pax.push(['path', entry.path]);
  }
  if (entry.linkname !== undefined && (Buffer.byteLength(entry.linkname) > 100 || !isAscii(entry.linkname))) {
    pax.push(['linkpath', entry.linkname]);
  }
  if (pax.length > 0) {
    const body = Buffer.from(pax.map(([key, value]) => paxRecord(key, value)).join(''));
    blocks.push(header('PaxHeader', 'x', 0o644, body.length, ''), ...padded(body));
  }
  const size = entry.data?.length ?? 0;
  const typeflag = entry.type === 'file' ? '0' : entry.type === 'directory' ? '5' : '2';
  blocks.push(header(asciiPrefix(entry.path), typeflag, entry.mode, size, asciiPrefix(entry.linkname ?? '')));
  if (entry.data) {
    blocks.push(...padded(entry.data));
  }
  return blocks;
}

function isAscii(value: string): boolean {
  return /^[\x20-\x7e]*$/.test(value);
}

/** The ustar field value when the real one travels in a PAX record: its ASCII start, at most 100 bytes. */
function asciiPrefix(value: string): string {
  return value.replace(/[^\x20-\x7e]/g, '_').slice(0, 100);
}

/** A PAX record: "<length> <key>=<value>\n", where the length counts itself. */
function paxRecord(key: string, value: string): string {
  const rest = ` ${key}=${value}\n`;
  const restLength = Buffer.byteLength(rest);
  let length = restLength + 1;
  while (String(length).length + restLength !== length) {
    length++;
  }
  return `${length}${rest}`;
}

function padded(data: Buffer): Buffer[] {
  const remainder = data.length % BLOCK;
  return remainder === 0 ? [data] : [data, Buffer.alloc(BLOCK - remainder)];
}

/** A ustar header with uid/gid 0, mtime 0 and no user or group names. */
function header(name: string, typeflag: string, mode: number, size: number, linkname: string): Buffer {
  const block = Buffer.alloc(BLOCK);
  block.write(name, 0, 100, 'ascii');
  octal(block, 100, 8, mode);
  octal(block, 108, 8, 0);
  octal(block, 116, 8, 0);
  octal(block, 124, 12, size);
  octal(block, 136, 12, 0);
  block.fill(' ', 148, 156);
  block.write(typeflag, 156, 1, 'ascii');
  block.write(linkname, 157, 100, 'ascii');
  block.write('ustar\u000000', 257, 8, 'ascii');
  octal(block, 329, 8, 0);
  octal(block, 337, 8, 0);
  let sum = 0;
  for (const byte of block) {
    sum += byte;
  }
  block.write(`${sum.toString(8).padStart(6, '0')}\u0000 `, 148, 8, 'ascii');
  return block;
}

/** A zero-padded octal number and a NUL, filling `width` bytes. */
function octal(block: Buffer, offset: number, width: number, value: number): void {
  const digits = value.toString(8);
  if (digits.length > width - 1) {
    invalid('BuildContext.fromLocalDirectory', value, `expected a file smaller than 8 GiB (tar field of ${width} bytes)`);
  }
  block.write(`${digits.padStart(width - 1, '0')}\u0000`, offset, width, 'ascii');
}
