@echo off
rem keygate A2A EMULATOR for Windows: DEVELOPMENT AND TESTS ONLY, NOT FOR PRODUCTION (dev/cspm, docs/windows.md).
rem Runs the emulator script beside it with the node.exe found on PATH; arguments pass through unchanged.
node "%~dp0cspmclient64" %*
