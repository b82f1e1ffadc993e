// Which path rules apply: POSIX, or Windows (drive letters, `\` as a separator, names compared without case).
// Pure: every core function that cares takes a PathStyle; HOST_PATH_STYLE is only their default, so callers
// need not pass one and unit tests exercise both styles on any host (docs/windows.md).

export type PathStyle = 'posix' | 'win32';

/** The running host's style: read once from the platform, a constant of the machine rather than a setting. */
export const HOST_PATH_STYLE: PathStyle = globalThis.process?.platform === 'win32' ? 'win32' : 'posix';

/** Whether a `/`-separated path is absolute: `/x` on both; `C:/x` and `//server/share` on Windows. */
export function isAbsolutePath(p: string, style: PathStyle): boolean {
  if (p.startsWith('/')) return true;
  return style === 'win32' && /^[A-Za-z]:\//.test(p);
}

/** ASCII case folding, the part of NTFS's upcase table that paths in practice use (see docs/windows.md). */
export function foldCase(p: string): string {
  return p.replace(/[A-Z]+/g, (s) => s.toLowerCase());
}
