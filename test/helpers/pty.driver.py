"""Runs a command in a real pseudo-terminal and answers its prompts, like a person would.

Usage: python3 pty.driver.py SPEC_JSON   (not pty.py: that name would shadow the pty module)
SPEC: {"argv": [...], "env": {...}, "cwd": "...", "timeout": seconds,
       "steps": [{"expect": "regex", "send": "text", "run": [argv]?} | {"expect": "regex", "ctrlc": true}]}
Each step waits until its regex matches the output after the previous match, then runs its
"run" command if any (what the person does meanwhile, e.g. restart Node-RED), then types its
text (or Ctrl-C, which the terminal turns into SIGINT unless the program reads raw bytes).
Prints one JSON line: {"code", "signal", "output", "failedStep"}.
"""
import fcntl
import json
import os
import pty
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time

spec = json.loads(sys.argv[1])
pid, fd = pty.fork()
if pid == 0:
    fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 250, 0, 0))
    os.chdir(spec["cwd"])
    os.execve(spec["argv"][0], spec["argv"], spec["env"])

deadline = time.time() + spec.get("timeout", 30)
output = b""
open_ = True


def read_some(wait):
    """Reads what the program printed within `wait` seconds; False once it closed the terminal."""
    global output, open_
    if not open_:
        return False
    ready, _, _ = select.select([fd], [], [], wait)
    if ready:
        try:
            data = os.read(fd, 65536)
        except OSError:  # EIO: the program exited and the terminal closed
            data = b""
        if not data:
            open_ = False
            return False
        output += data
    return True


failed = None
pos = 0
for index, step in enumerate(spec["steps"]):
    pattern = re.compile(step["expect"].encode())
    match = pattern.search(output, pos)
    while match is None and time.time() < deadline and read_some(0.05):
        match = pattern.search(output, pos)
    if match is None:
        failed = index
        break
    pos = match.end()
    if step.get("run"):
        subprocess.run(step["run"], timeout=max(1, deadline - time.time()), stdout=subprocess.DEVNULL, check=True)
    if step.get("ctrlc"):
        os.write(fd, b"\x03")
    else:
        os.write(fd, step["send"].encode())

while time.time() < deadline and read_some(0.1):
    pass

code = sig = None
while True:
    done, status = os.waitpid(pid, os.WNOHANG)
    if done:
        break
    if time.time() > deadline:
        os.kill(pid, signal.SIGKILL)
    time.sleep(0.05)
if os.WIFEXITED(status):
    code = os.WEXITSTATUS(status)
else:
    sig = signal.Signals(os.WTERMSIG(status)).name
print(json.dumps({"code": code, "signal": sig, "output": output.decode("utf8", "replace"), "failedStep": failed}))
