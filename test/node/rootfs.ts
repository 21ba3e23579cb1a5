/**
 * Root filesystems assembled from this machine's own programs and Debian packages: files are copied with
 * the shared libraries they load (`ldd`), so an image runs without the host's `/usr`. Nothing is downloaded.
 */
import { spawn, spawnSync } from 'child_process';
import { chmodSync, chownSync, closeSync, copyFileSync, existsSync, lstatSync, mkdirSync, openSync, readlinkSync, readSync, realpathSync, symlinkSync, writeFileSync } from 'fs';
import { dirname, join } from 'path';

/** Runs a program, throwing with its stderr when it fails. */
export function run(program: string, args: string[], input?: string | Buffer): string {
  const result = spawnSync(program, args, { input, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (result.error) {
    throw new Error(`${program}: ${result.error.message}`);
  }
  if (result.status !== 0) {
    throw new Error(`${program} ${args.join(' ')} exited ${result.status}: ${result.stderr.trim()}`);
  }
  return result.stdout;
}

/** Runs a program without blocking the event loop, rejecting with its stderr when it fails. */
export function runAsync(program: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', data => { stdout += data; });
    child.stderr.on('data', data => { stderr += data; });
    child.on('error', error => reject(new Error(`${program}: ${error.message}`)));
    child.on('close', status => status === 0 ? resolve(stdout) : reject(new Error(`${program} ${args.join(' ')} exited ${status}: ${stderr.trim()}`)));
  });
}

/** The absolute path of a program on PATH, or an error naming it and the Debian package that has it. */
export function hostProgram(name: string, debianPackage: string): string {
  for (const dir of (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/sbin'])) {
    const candidate = join(dir, name);
    if (dir && existsSync(candidate)) {
      return candidate;
    }
  }
  throw new Error(`${name} not found on PATH: install the Debian package ${debianPackage}`);
}

/** The shared libraries (with the dynamic loader) that the given files load, as host paths; non-ELF files are skipped. */
export function librariesOf(files: string[]): string[] {
  const elf = files.filter(file => {
    try {
      const fd = openSync(file, 'r');
      const magic = Buffer.alloc(4);
      readSync(fd, magic, 0, 4, 0);
      closeSync(fd);
      return magic.toString('latin1') === '\x7fELF';
    } catch {
      return false;
    }
  });
  const libraries = new Set<string>();
  // one ldd for all files: it prints a section per file, and fails only because some are static
  for (let i = 0; i < elf.length; i += 200) {
    const result = spawnSync('ldd', elf.slice(i, i + 200), { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    for (const line of result.stdout.split('\n')) {
      const match = /^\s+(?:\S+ => )?(\/\S+)\s+\(0x/.exec(line);
      if (match) {
        libraries.add(match[1]);
      }
    }
  }
  return [...libraries].sort();
}

/** A root filesystem being assembled in a directory. */
export class Rootfs {
  constructor(public readonly dir: string) {
    mkdirSync(dir, { recursive: true });
  }

  /** Creates directories (mode 0755 unless given). */
  public mkdir(path: string, mode = 0o755): void {
    mkdirSync(this.at(path), { recursive: true });
    chmodSync(this.at(path), mode);
  }

  /** Sets an image path's mode. */
  public chmod(path: string, mode: number): void {
    chmodSync(this.at(path), mode);
  }

  /** Sets an image path's owner (numeric, as the layer tar records it). */
  public chown(path: string, uid: number, gid: number): void {
    chownSync(this.at(path), uid, gid);
  }

  /** Replaces a file's setuid/setgid bits by file capabilities (`setcap` text form, e.g. `cap_setuid=ep`). */
  public setFileCapability(path: string, capabilities: string): void {
    chmodSync(this.at(path), 0o755);
    run('setcap', [capabilities, this.at(path)]);
  }

  /** Writes a file (mode 0644 unless given), creating its directory. */
  public write(path: string, content: string | Buffer, mode = 0o644): void {
    mkdirSync(dirname(this.at(path)), { recursive: true });
    writeFileSync(this.at(path), content);
    chmodSync(this.at(path), mode);
  }

  /** Creates a symbolic link `path` -> `target`. */
  public symlink(target: string, path: string): void {
    mkdirSync(dirname(this.at(path)), { recursive: true });
    symlinkSync(target, this.at(path));
  }

  /** Copies host files to the same paths in the image, keeping modes (setuid included), as root-owned. */
  public copyHostFiles(files: string[]): void {
    this.copy(files.map(file => [file, file]));
  }

  /** Copies host file `from` to image path `to`, keeping its mode. */
  public copyFile(from: string, to: string): void {
    this.copy([[from, to]]);
  }

  /**
   * Copies host programs (`{ imagePath: hostPath }`) and every library they load.
   */
  public copyWithLibraries(programs: { [imagePath: string]: string }): void {
    this.copy(Object.entries(programs).map(([to, from]) => [from, to]));
    this.copyLibraries(Object.values(programs));
  }

  /** Copies the libraries the given host ELF files load (symlinks resolved) to the paths `ldd` names. */
  public copyLibraries(hostFiles: string[]): void {
    this.copy(librariesOf(hostFiles).map(library => [realpathSync(library), library]));
  }

  /**
   * Copies host programs into one self-contained directory of the image (`dir/<name>`, libraries in `dir/lib`)
   * whose ELF interpreter and search path point into that directory: they keep working when everything else
   * in the root is replaced, as kaniko does to its own container while it builds.
   */
  public copySelfContained(dir: string, programs: string[]): void {
    const libDir = `${dir}/lib`;
    this.mkdir(libDir);
    let loader = '';
    for (const library of librariesOf(programs)) {
      const name = library.split('/').pop()!;
      this.copyFile(realpathSync(library), `${libDir}/${name}`);
      if (name.startsWith('ld-linux')) {
        loader = `${libDir}/${name}`;
      }
    }
    for (const program of programs) {
      const target = `${dir}/${program.split('/').pop()}`;
      this.copyFile(program, target);
      if (loader) {
        run('patchelf', ['--set-interpreter', loader, '--force-rpath', '--set-rpath', libDir, this.at(target)]);
      }
    }
  }

  /** Links every applet of the host's busybox (copied to `busyboxPath` in the image) in `appletDir`. */
  public installBusyboxApplets(busyboxPath: string, appletDir: string): void {
    const applets = run(hostProgram('busybox', 'busybox'), ['--list']).split('\n').filter(applet => applet && applet !== 'busybox');
    this.mkdir(appletDir);
    for (const applet of applets) {
      if (!existsSync(this.at(`${appletDir}/${applet}`))) {
        this.symlink(busyboxPath, `${appletDir}/${applet}`);
      }
    }
  }

  /** Copies every file of installed Debian packages (as `dpkg -L` lists them), except documentation. */
  public copyDebianPackages(packages: string[]): string[] {
    const files = new Set<string>();
    for (const pkg of packages) {
      const listed = spawnSync('dpkg', ['-L', pkg], { encoding: 'utf8' });
      if (listed.status !== 0) {
        throw new Error(`Debian package ${pkg} is not installed (dpkg -L ${pkg}): install it`);
      }
      for (const path of listed.stdout.split('\n')) {
        if (path.startsWith('/') && !/^\/usr\/share\/(doc|man|info|locale|lintian|bash-completion|zsh|fish)\//.test(path)) {
          files.add(path);
        }
      }
    }
    const regular = [...files].filter(path => {
      const kind = lstatSync(path);
      return kind.isFile() || kind.isSymbolicLink();
    });
    // usr-merged Debian: /bin etc. are symlinks into /usr, so copy to the real path of each file's directory.
    this.copy(regular.map(path => {
      const real = join(realpathSync(dirname(path)), path.split('/').pop()!);
      return [real, real];
    }));
    return regular.map(path => join(realpathSync(dirname(path)), path.split('/').pop()!));
  }

  /** The usr-merge symlinks of Debian 12 (`/bin` -> `usr/bin`, ...). */
  public usrMerge(): void {
    for (const dir of ['bin', 'sbin', 'lib', 'lib64']) {
      this.mkdir(`/usr/${dir}`);
      this.symlink(`usr/${dir}`, `/${dir}`);
    }
  }

  /** The host path of an image path. */
  public at(path: string): string {
    return join(this.dir, path);
  }

  private copy(pairs: [string, string][]): void {
    for (const [from, to] of pairs) {
      const target = this.at(to);
      if (existsSync(target) || isDanglingLink(target)) {
        continue;
      }
      mkdirSync(dirname(target), { recursive: true });
      const source = lstatSync(from);
      if (source.isSymbolicLink()) {
        symlinkSync(readlinkSync(from), target);
      } else {
        copyFileSync(from, target);
        chmodSync(target, source.mode % 0o10000); // permission, setuid, setgid and sticky bits
      }
    }
  }
}

function isDanglingLink(path: string): boolean {
  try {
    readlinkSync(path);
    return true;
  } catch {
    return false;
  }
}
