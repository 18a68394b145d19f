#!/usr/bin/env python3
"""summarize.py TRACE...: the system calls of strace -f logs after the runtime's own execve (node or python3), each
with its flag and option arguments as strace decodes them (numbers, pointers, strings and stat buffers masked), and
how often that pattern occurred over all the logs; first the calls' names alone."""
import collections
import re
import sys

patterns = collections.Counter()
for path in sys.argv[1:]:
    started = False
    with open(path, errors="replace") as log:
        for line in log:
            match = re.match(r"^\d+ +(.*)$", line.rstrip("\n"))
            if not match:
                continue
            text = match.group(1)
            if not started:
                # The sandbox's env and chroot come first; the runtime starts at its execve.
                started = text.startswith(('execve("/usr/bin/node"', 'execve("/usr/bin/python3"'))
                continue
            if text.startswith(("+++", "---", "<...")):
                continue
            text = text.replace(" <unfinished ...>", "")
            text = re.sub(r'"(\\.|[^"\\])*"(\.\.\.)?', '"S"', text)
            text = re.sub(r"0x[0-9a-f]+", "P", text)
            text = re.sub(r"\b\d+\b", "N", text)
            text = re.sub(r"\{st_dev=.*\}", "{stat}", text)
            text = re.sub(r"\{stx_mask=.*\}", "{statx}", text)
            text = re.sub(r" += N( .*)?$", " = N", text)
            text = re.sub(r" +=", " =", text)
            patterns[text] += 1
names = sorted({p.split("(", 1)[0] for p in patterns})
print("calls:", " ".join(names))
for pattern, count in sorted(patterns.items()):
    print(f"{count:6d} {pattern[:300]}")
