"""A program that scans its own memory for secrets, for the sandbox tests that check a run cannot find another's.

The secrets are random tokens; the scanner knows only their SHA-256 (`sha`), so it never holds a token itself
unless it really found it in memory. `scanner(targets, action)` is the program's source; `action` runs on `found`
(token -> the 400 bytes that followed it), REPORT prints whether anything was found.
"""

import hashlib

# Scans the run's own memory for a 32-hex-digit string whose SHA-256 is in TARGETS (and is not OWN); prints what
# it found after the marker. Reading /proc/self/mem needs the process to be dumpable, which setuid cleared.
MEMORY_SCANNER = """
import ctypes, hashlib, re, sys
TARGETS = {targets!r}
OWN = {own}
ctypes.CDLL(None).prctl(4, 1, 0, 0, 0)  # PR_SET_DUMPABLE
candidates = re.compile(rb"[0-9a-f]{{32}}")
found = {{}}
with open("/proc/self/maps") as maps, open("/proc/self/mem", "rb", 0) as mem:
    for line in maps:
        fields = line.split()
        if "r" not in fields[1] or fields[-1] in ("[vvar]", "[vvar_vclock]", "[vsyscall]"):
            continue
        start, end = (int(x, 16) for x in fields[0].split("-"))
        for offset in range(start, end, 8 << 20):
            try:
                mem.seek(offset)
                chunk = mem.read(min(8 << 20, end - offset) + 64)
            except (OSError, ValueError, OverflowError):
                continue
            for match in candidates.finditer(chunk):
                token = match.group().decode()
                if token != OWN and hashlib.sha256(match.group()).hexdigest() in TARGETS:
                    found[token] = chunk[match.end() : match.end() + 400]
{action}
"""

REPORT = "print('FOUND' if found else 'clean', sorted(found))"


def sha(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def scanner(targets, action=REPORT, own="None") -> str:
    return MEMORY_SCANNER.format(targets=set(targets), own=own, action=action)
