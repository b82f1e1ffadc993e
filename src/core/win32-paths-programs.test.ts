// Which programs keygate starts on Windows, and how (src/core/win32-paths.ts; issue 31): pure, run on any host.
// That the planted programs never run is shown under Wine (test/windows-wine.e2e.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cmdArguments, isWin32AbsoluteProgram, systemDirectoryFromEnv, systemDirectoryFromModules, windowsPrograms } from './win32-paths.js';

test("the system directory is ntdll.dll's folder among the loaded modules; %SystemRoot% only as the fallback", () => {
  // as Node's report lists them on Windows and under Wine
  assert.equal(systemDirectoryFromModules(['C:\\Program Files\\nodejs\\node.exe', 'C:\\WINDOWS\\SYSTEM32\\ntdll.dll', 'C:\\WINDOWS\\System32\\KERNEL32.DLL']), 'C:\\WINDOWS\\SYSTEM32');
  assert.equal(systemDirectoryFromModules(['C:\\windows\\system32\\ntdll.dll']), 'C:\\windows\\system32');
  assert.equal(systemDirectoryFromModules(['\\\\?\\D:\\Win\\System32\\ntdll.dll']), 'D:\\Win\\System32');
  // a relative or look-alike name is no answer
  for (const bad of [['ntdll.dll'], ['C:\\x\\myntdll.dll'], ['C:\\x\\ntdll.dll.bak'], []]) assert.equal(systemDirectoryFromModules(bad), undefined, bad.join());
  assert.equal(systemDirectoryFromEnv('C:\\Windows\\'), 'C:\\Windows\\System32');
  for (const bad of [undefined, '', 'Windows', '.\\w', 'C:w']) assert.equal(systemDirectoryFromEnv(bad), undefined, String(bad));
  assert.deepEqual(windowsPrograms('C:\\WINDOWS\\system32'), { powershell: 'C:\\WINDOWS\\system32\\WindowsPowerShell\\v1.0\\powershell.exe', cmd: 'C:\\WINDOWS\\system32\\cmd.exe' });
});

test('a .cmd runs as cmd.exe /d /s /c with every cmd meta character escaped (cross-spawn\'s quoting)', () => {
  assert.deepEqual(cmdArguments('C:\\k g\\cspmclient64.cmd', ['keygate-demo', 'false', '-x']), ['/d', '/s', '/c', '"C:\\k^ g\\cspmclient64.cmd ^"keygate-demo^" ^"false^" ^"-x^""']);
  // %VAR%, &, |, quotes and trailing backslashes reach the program as written
  assert.deepEqual(cmdArguments('C:/a.cmd', ['%PATH%&x|y', 'a"b', 'c\\']).slice(3), ['"C:\\a.cmd ^"^%PATH^%^&x^|y^" ^"a\\^"b^" ^"c\\\\^""']);
  assert.throws(() => cmdArguments('C:\\a.cmd', ['a\nb']), /line break/);
});

test('only absolute program paths are started on Windows', () => {
  for (const ok of ['C:\\cspm\\x.exe', 'c:/x.cmd', '\\\\srv\\share\\x.exe', '\\x.exe']) assert.equal(isWin32AbsoluteProgram(ok), true, ok);
  for (const bad of ['cspmclient64.exe', '.\\x.exe', 'bin\\x.exe', 'C:x.exe']) assert.equal(isWin32AbsoluteProgram(bad), false, bad);
});
