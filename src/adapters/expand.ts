// Template expansion on disk: template lines → the set of files to protect.
//
// Symlink policy (docs/template.md#symlinks), one rule like `find -P`: inside a folder or glob walk, symlinks
// are not followed into folders. A symlink to a regular file is listed under its own path and hashed through
// the link (what `sha256sum -c` reads). A symlinked folder or a dangling symlink inside a protected tree is
// refused: it would let files in or out of protection unseen. A path written literally in the template is
// the user's explicit choice and is followed, file or folder.

import fg from 'fast-glob';
import { lstatSync, statSync } from 'node:fs';
import { isAbsolute, relative, resolve } from 'node:path';
import { comparePaths } from '../core/manifest.js';
import type { TemplateLine } from '../core/template.js';

export interface ExpandProblem {
  readonly kind: 'no-match' | 'symlink-folder' | 'dangling-symlink' | 'unreadable';
  readonly line: number;
  readonly source: string;
  readonly path?: string;
}

export interface Expansion {
  /** Manifest paths (relative to base for relative lines, absolute for absolute lines), sorted, unique. */
  readonly files: string[];
  readonly problems: ExpandProblem[];
}

export interface ExpandOptions {
  /** The template's folder: relative lines resolve against it. */
  readonly base: string;
  /** Absolute paths never listed (the manifest itself, the main entry). */
  readonly skip?: ReadonlySet<string>;
}

/** Expands template lines into the files they protect, collecting (not throwing) every problem. */
export async function expandTemplate(lines: readonly TemplateLine[], options: ExpandOptions): Promise<Expansion> {
  const { base } = options;
  const excludes = lines.filter((l) => l.exclude).flatMap((l) => [l.pattern, `${l.pattern}/**`]);
  const found = new Set<string>();
  const problems: ExpandProblem[] = [];
  const fgOptions = {
    cwd: base,
    dot: true,
    onlyFiles: false,
    followSymbolicLinks: false,
    objectMode: true as const,
    ignore: excludes,
    suppressErrors: false,
    unique: true,
  };

  for (const line of lines) {
    if (line.exclude) continue;
    const before = found.size;
    const hadProblems = problems.length;
    let pattern: string | undefined;
    if (!line.glob) {
      const full = resolve(base, line.pattern);
      const kind = literalKind(full);
      if (kind === 'missing') {
        if (!line.optional) problems.push({ kind: 'no-match', line: line.line, source: line.source });
        continue;
      }
      if (kind === 'file') {
        found.add(line.pattern);
        continue;
      }
      if (kind === 'unreadable') {
        problems.push({ kind: 'unreadable', line: line.line, source: line.source, path: line.pattern });
        continue;
      }
      pattern = line.pattern === '.' ? '**' : `${fg.escapePath(line.pattern)}/**`;
    } else {
      pattern = line.pattern;
    }
    let entries: fg.Entry[];
    try {
      entries = await fg(pattern, fgOptions);
    } catch (err) {
      problems.push({ kind: 'unreadable', line: line.line, source: line.source, path: String((err as NodeJS.ErrnoException).path ?? line.pattern) });
      continue;
    }
    const descend = line.glob && !(pattern === '**' || pattern.endsWith('/**'));
    for (const entry of entries) addEntry(entry, line, descend, found, problems, base, fgOptions);
    if (found.size === before && problems.length === hadProblems && !line.optional) {
      problems.push({ kind: 'no-match', line: line.line, source: line.source });
    }
  }

  const skip = options.skip ?? new Set<string>();
  const files = [...found].filter((p) => !skip.has(resolve(base, p))).sort(comparePaths);
  return { files, problems };
}

function addEntry(entry: fg.Entry, line: TemplateLine, descend: boolean, found: Set<string>, problems: ExpandProblem[], base: string, fgOptions: fg.Options): void {
  const d = entry.dirent;
  if (d.isFile()) {
    found.add(entry.path);
  } else if (d.isSymbolicLink()) {
    let st;
    try {
      st = statSync(resolve(base, entry.path));
    } catch {
      problems.push({ kind: 'dangling-symlink', line: line.line, source: line.source, path: entry.path });
      return;
    }
    if (st.isFile()) found.add(entry.path);
    else if (st.isDirectory()) problems.push({ kind: 'symlink-folder', line: line.line, source: line.source, path: entry.path });
  } else if (d.isDirectory() && descend) {
    // A glob that matches a folder (`lib/*` matching `lib/sub`) protects what is under it too.
    const sub = fg.sync(`${fg.escapePath(entry.path)}/**`, { ...fgOptions, objectMode: true });
    for (const e of sub) addEntry(e, line, false, found, problems, base, fgOptions);
  }
  // sockets, FIFOs, devices: never loaded as code or content; not listed.
}

type LiteralKind = 'file' | 'folder' | 'missing' | 'unreadable';

function literalKind(full: string): LiteralKind {
  try {
    const st = statSync(full); // a literal path is followed even through a symlink
    if (st.isDirectory()) return 'folder';
    if (st.isFile()) return 'file';
    return 'missing';
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      try {
        lstatSync(full);
        return 'unreadable'; // the link exists but its target does not: dangling
      } catch {
        return 'missing';
      }
    }
    return 'unreadable';
  }
}

/** Renders a path for messages relative to base when it is inside it. */
export function displayPath(base: string, p: string): string {
  if (!isAbsolute(p)) return p;
  const rel = relative(base, p);
  return rel.startsWith('..') ? p : rel;
}
