// Template expansion on disk: template lines → the set of files to protect.
//
// Symlink policy (docs/template.md#symlinks), one rule like `find -P`: inside a folder or glob walk, symlinks
// are not followed into folders. A symlink to a regular file is listed under its own path and hashed through
// the link (what `sha256sum -c` reads). A symlinked folder or a dangling symlink inside a protected tree is
// refused: it would let files in or out of protection unseen. A path written literally in the template is
// the user's explicit choice and is followed, file or folder.

import type FastGlob from 'fast-glob';
import type Picomatch from 'picomatch';
import { lateLibrary } from '../late-runtime.js';
import { lstatSync, readdirSync, statSync } from 'node:fs';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import type { TemplateLine } from '../core/template.js';
import { PathTable } from '../core/path-table.js';
import { foldCase } from '../core/path-style.js';

// Windows names ignore case (NTFS's default): excludes, the skip list and duplicate lines match without it.
const WIN32 = process.platform === 'win32';
const skipKey = WIN32 ? (p: string): string => foldCase(p.replace(/\\/g, '/')) : (p: string): string => p;

export interface ExpandProblem {
  readonly kind: 'no-match' | 'symlink-folder' | 'dangling-symlink' | 'unreadable';
  readonly line: number;
  readonly source: string;
  /** The path concerned; for 'no-match', the line as expanded (variables substituted). */
  readonly path?: string;
}

export interface Expansion {
  /**
   * Manifest paths (relative to base for relative lines, absolute for absolute lines), unique, unsorted, held
   * as bytes (a 100,000-file tree is not 100,000 long-lived strings: docs/performance.md, peak RSS).
   */
  readonly files: PathTable;
  readonly problems: ExpandProblem[];
}

export interface ExpandOptions {
  /** The template's folder: relative lines resolve against it. */
  readonly base: string;
  /** Absolute paths never listed (the manifest itself, the main entry). */
  readonly skip?: ReadonlySet<string>;
  /**
   * Files for which this is true are matched but not returned. verify only needs the files its manifest lacks,
   * so a 100,000-file tree does not keep a second set of 100,000 paths alive (peak RSS, docs/performance.md).
   */
  readonly known?: (path: string) => boolean;
}

/** Where walks put files: counts every match (for "line matched nothing"), keeps the ones not known or skipped. */
class Found {
  matched = 0;
  readonly files = new PathTable(undefined, { foldCase: WIN32 });
  constructor(
    private readonly known: ((path: string) => boolean) | undefined,
    private readonly skip: ReadonlySet<string>,
  ) {}
  add(path: string): void {
    this.matched++;
    if (!this.skip.has(skipKey(path)) && !this.known?.(path)) this.files.add(path);
  }
}

/** Expands template lines into the files they protect, collecting (not throwing) every problem. */
export async function expandTemplate(lines: readonly TemplateLine[], options: ExpandOptions): Promise<Expansion> {
  const { base } = options;
  const excludes = lines.filter((l) => l.exclude).flatMap((l) => [l.pattern, `${l.pattern}/**`]);
  // The skip list in both spellings a manifest path can take (relative to base, or absolute): one Set lookup
  // per file instead of a path.resolve per file.
  const skip = new Set<string>();
  for (const abs of options.skip ?? []) {
    skip.add(skipKey(abs));
    const rel = relative(base, abs);
    if (!rel.startsWith('..') && !isAbsolute(rel)) skip.add(skipKey(rel.split(sep).join('/')));
  }
  const found = new Found(options.known, skip);
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
    caseSensitiveMatch: !WIN32,
  };

  // Folders are walked with readdir (faster than fast-glob for whole folders, findings §2.5); globs use fast-glob.
  // Excludes match with picomatch, the matcher fast-glob itself uses, so both paths agree on the syntax.
  // picomatch and fast-glob are loaded only for templates that use them (most list folders and files).
  const isExcluded = excludes.length ? lateLibrary<typeof Picomatch>('picomatch')(excludes, { dot: true, nocase: WIN32 }) : () => false;
  const walk = (root: string, line: TemplateLine): void => walkFolder(root, line, base, isExcluded, found, problems);

  for (const line of lines) {
    if (line.exclude) continue;
    const before = found.matched;
    const hadProblems = problems.length;
    if (!line.glob) {
      const full = resolve(base, line.pattern);
      const kind = literalKind(full);
      if (kind === 'missing') {
        if (!line.optional) problems.push({ kind: 'no-match', line: line.line, source: line.source, path: line.pattern });
      } else if (kind === 'file') {
        found.add(line.pattern);
      } else if (kind === 'unreadable') {
        problems.push({ kind: 'unreadable', line: line.line, source: line.source, path: line.pattern });
      } else {
        walk(line.pattern, line);
        if (found.matched === before && problems.length === hadProblems && !line.optional) {
          problems.push({ kind: 'no-match', line: line.line, source: line.source, path: line.pattern });
        }
      }
      continue;
    }
    let entries: FastGlob.Entry[];
    try {
      entries = await lateLibrary<typeof FastGlob>('fast-glob')(line.pattern, fgOptions);
    } catch (err) {
      problems.push({ kind: 'unreadable', line: line.line, source: line.source, path: String((err as NodeJS.ErrnoException).path ?? line.pattern) });
      continue;
    }
    const descend = !(line.pattern === '**' || line.pattern.endsWith('/**'));
    for (const entry of entries) {
      const d = entry.dirent;
      if (d.isDirectory()) {
        // A glob that matches a folder (`lib/*` matching `lib/sub`) protects what is under it too.
        if (descend) walk(entry.path, line);
      } else addFile(entry.path, d, line, base, found, problems);
    }
    if (found.matched === before && problems.length === hadProblems && !line.optional) {
      problems.push({ kind: 'no-match', line: line.line, source: line.source, path: line.pattern });
    }
  }

  return { files: found.files, problems };
}

interface DirentLike {
  isFile(): boolean;
  isSymbolicLink(): boolean;
}

/** Adds a non-folder entry under the symlink policy; sockets, FIFOs and devices are never listed. */
function addFile(path: string, d: DirentLike, line: TemplateLine, base: string, found: Found, problems: ExpandProblem[]): void {
  if (d.isFile()) {
    found.add(path);
    return;
  }
  if (!d.isSymbolicLink()) return;
  let st;
  try {
    st = statSync(resolve(base, path));
  } catch {
    problems.push({ kind: 'dangling-symlink', line: line.line, source: line.source, path });
    return;
  }
  if (st.isFile()) found.add(path);
  else if (st.isDirectory()) problems.push({ kind: 'symlink-folder', line: line.line, source: line.source, path });
}

/** Everything under a folder, without following symlinked folders (docs/template.md#symlinks). */
function walkFolder(root: string, line: TemplateLine, base: string, isExcluded: (p: string) => boolean, found: Found, problems: ExpandProblem[]): void {
  const stack = [root];
  while (stack.length) {
    const dir = stack.pop()!;
    let entries;
    try {
      entries = readdirSync(resolve(base, dir), { withFileTypes: true });
    } catch {
      problems.push({ kind: 'unreadable', line: line.line, source: line.source, path: dir });
      continue;
    }
    for (const e of entries) {
      const p = dir === '.' ? e.name : dir.endsWith('/') ? dir + e.name : `${dir}/${e.name}`;
      if (isExcluded(p)) continue;
      if (e.isDirectory()) stack.push(p);
      else addFile(p, e, line, base, found, problems);
    }
  }
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
