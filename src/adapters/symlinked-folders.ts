// Symlinked folders inside folders a template lists whole. The walk refuses them (docs/template.md#symlinks):
// following one would protect a tree the template never named. What makes such a tree expand is two lines: the
// link excluded (`!<link>`) and its target listed. Debian's python3-babel, a Recommends of python3-flask, is the
// case every stock host has: /usr/lib/python3/dist-packages/babel/locale-data -> /usr/share/python-babel-localedata/locale-data.
// Used by init --python (it writes the lines, core/template.ts symlinkLines) and by SYMLINK_REFUSED's fix.

import { readdirSync, realpathSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { SymlinkedFolder } from '../core/template.js';

/** The link's resolved target, or undefined when it does not resolve to a folder. */
export function folderTarget(link: string): string | undefined {
  try {
    return statSync(link).isDirectory() ? realpathSync(link) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Every symlinked folder under `dirs` (not following them), and under their targets in turn: the targets become
 * listed folders, so the walk meets what is inside them too. `files`: how many other entries the walk met (what
 * listing these folders will hash, give or take special files).
 */
export function findSymlinkedFolders(dirs: readonly string[]): { folders: SymlinkedFolder[]; files: number } {
  const found: SymlinkedFolder[] = [];
  let files = 0;
  const walked = new Set<string>();
  const queue = [...dirs];
  while (queue.length) {
    const top = queue.shift()!;
    if (walked.has(top)) continue;
    walked.add(top);
    const stack = [top];
    while (stack.length) {
      const dir = stack.pop()!;
      let entries;
      try {
        entries = readdirSync(dir, { withFileTypes: true });
      } catch {
        continue; // unreadable here: the expansion reports it with its own words
      }
      for (const e of entries) {
        const full = join(dir, e.name);
        if (e.isDirectory()) stack.push(full);
        else if (e.isSymbolicLink()) {
          const target = folderTarget(full);
          if (target === undefined) {
            files++;
            continue;
          }
          found.push({ link: full, target });
          queue.push(target);
        } else files++;
      }
    }
  }
  return { folders: found, files };
}
