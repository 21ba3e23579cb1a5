/**
 * `.dockerignore` matching with Docker's semantics (moby/patternmatcher): patterns are relative to the
 * context root (a leading "/" or "./" is dropped), `*` and `?` stay within one path segment, `**` spans
 * any number of segments, `!` re-includes, the last matching pattern wins, and a pattern that matches a
 * directory matches everything below it.
 */

interface Pattern {
  readonly exclusion: boolean;
  readonly regexp: RegExp;
}

/** Decides whether a context path (relative, "/"-separated) is left out of the build context. */
export class IgnoreMatcher {
  private readonly patterns: Pattern[];

  /** @param lines `.dockerignore` lines followed by extra patterns; comments and blank lines are skipped */
  constructor(lines: string[]) {
    this.patterns = lines.map(l => l.trim()).filter(l => l !== '' && !l.startsWith('#')).map(parsePattern).filter((p): p is Pattern => p !== undefined);
  }

  /** True when the path, or one of its parent directories, is excluded by the last pattern that matches. */
  public ignores(path: string): boolean {
    const segments = path.split('/');
    let matched = false;
    for (const pattern of this.patterns) {
      // an exclusion can only re-include something matched before, an inclusion only match what is not yet
      if (pattern.exclusion !== matched) {
        continue;
      }
      let match = pattern.regexp.test(path);
      for (let i = 1; !match && i < segments.length; i++) {
        match = pattern.regexp.test(segments.slice(0, i).join('/'));
      }
      if (match) {
        matched = !pattern.exclusion;
      }
    }
    return matched;
  }

  /** True when some pattern re-includes paths (then an excluded directory must still be walked). */
  public get hasExclusions(): boolean {
    return this.patterns.some(p => p.exclusion);
  }
}

function parsePattern(line: string): Pattern | undefined {
  let exclusion = false;
  let text = line;
  if (text.startsWith('!')) {
    exclusion = true;
    text = text.slice(1).trim();
  }
  const cleaned = cleanPath(text);
  if (cleaned === '' || cleaned === '.') {
    return undefined;
  }
  return { exclusion, regexp: toRegExp(cleaned) };
}

/** Go's filepath.Clean for "/"-separated patterns, relative to the root: no leading "/", "./", "//" or "..". */
function cleanPath(path: string): string {
  const out: string[] = [];
  for (const segment of path.split('/')) {
    if (segment === '' || segment === '.') {
      continue;
    }
    if (segment === '..') {
      out.pop();
      continue;
    }
    out.push(segment);
  }
  return out.join('/');
}

/** The pattern as an anchored regular expression, the way patternmatcher translates it. */
function toRegExp(pattern: string): RegExp {
  let source = '^';
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i];
    if (ch === '*') {
      if (pattern[i + 1] === '*') {
        i++;
        if (pattern[i + 1] === '/') {
          // "**/" matches zero or more whole directories
          i++;
          source += '(.*/)?';
        } else {
          source += '.*';
        }
      } else {
        source += '[^/]*';
      }
    } else if (ch === '?') {
      source += '[^/]';
    } else if (ch === '\\' && i + 1 < pattern.length) {
      i++;
      source += escapeRegExp(pattern[i]);
    } else if (ch === '[') {
      const end = pattern.indexOf(']', i + 2);
      if (end < 0) {
        source += '\\[';
      } else {
        // a character class passes through, as in patternmatcher ("[^a]" negates)
        source += `[${pattern.slice(i + 1, end)}]`;
        i = end;
      }
    } else {
      source += escapeRegExp(ch);
    }
  }
  return new RegExp(`${source}$`, 's');
}

function escapeRegExp(ch: string): string {
  return ch.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
