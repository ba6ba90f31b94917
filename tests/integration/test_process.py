"""Processes and the terminal: signals, kakuri's death, interactive shells."""
import fcntl
import os
import signal
import subprocess
import struct
import termios

from harness import (descendants, eq, fresh_terminal_lflag, ok, pidfds, read_line,
                     wait_exited)


def start_waiting(k, what="wait-signal"):
    p = k.popen(k.probe_args([what]), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    eq(read_line(p.stdout), "ready\n")
    return p


def test_signals_are_forwarded(k):
    for sig, name in [(signal.SIGTERM, "TERM"), (signal.SIGHUP, "HUP"), (signal.SIGINT, "INT"),
                      (signal.SIGUSR1, "USR1")]:
        p = start_waiting(k)
        os.kill(p.pid, sig)
        out, err = p.communicate(timeout=20)
        eq(out, f"signal={name}\n", err)
        eq(p.returncode, 42, name)


def test_death_by_signal_is_128_plus_n(k):
    p = start_waiting(k, "wait-default")
    os.kill(p.pid, signal.SIGTERM)
    p.communicate(timeout=20)
    eq(p.returncode, 143)


def test_container_dies_with_kakuri(k):
    p = start_waiting(k, "wait-default")
    inside = descendants(p.pid)
    ok(len(inside) >= 2, f"init and command expected, found {inside}")
    fds = pidfds(inside)
    p.kill()
    p.wait(timeout=20)
    wait_exited(fds, "outlived kakuri", timeout=20)


def test_status_comes_back_and_nothing_stays(k):
    # kakuri returns the status once init told it, without waiting for the teardown of the
    # namespaces; a process the command left running dies with the container all the same.
    p = k.popen(["--", "/bin/sh", "-c", "sleep 1000 & echo ready; read x; exit 7"],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    eq(read_line(p.stdout), "ready\n")
    inside = descendants(p.pid)
    ok(len(inside) >= 3, f"init, the shell and sleep expected, found {inside}")
    fds = pidfds(inside)
    out, err = p.communicate("go\n", timeout=20)
    eq((p.returncode, out, err), (7, "", ""))
    wait_exited(fds, "outlived the container", timeout=20)


BASH = ["--", "/bin/bash", "--norc", "--noprofile", "-i"]
PROMPT_ENV = {"PS1": "KP$ "}


# A foreground job that says when it runs: by then the shell has handed it the terminal.
JOB = "sh -c 'echo job-$((1+1)); exec sleep 100'\r"
RESUMABLE_JOB = ("python3 -c 'import os, signal as s; s.signal(s.SIGCONT, lambda *a: "
                 "os.write(1, b\"re\" + b\"sumed\\n\")); os.write(1, b\"job-\" + b\"2\\n\"); "
                 "[s.pause() for _ in range(9)]'\r")


def test_interactive_shell_with_job_control(k):
    with k.terminal(k.argv(BASH), PROMPT_ENV) as s:
        s.expect("KP$ ")
        s.send("echo $((6*7))\r")
        s.expect("42")
        s.expect("KP$ ")
        # A window size change reaches the program inside (the terminal is shared).
        fcntl.ioctl(s.fd, termios.TIOCSWINSZ, struct.pack("HHHH", 37, 101, 0, 0))
        s.send("stty size\r")
        s.expect("37 101")
        s.expect("KP$ ")
        # Ctrl-C reaches the program in the foreground, not kakuri.
        s.send(JOB)
        s.expect("job-2")
        s.send("\x03")
        s.expect("KP$ ")
        # Ctrl-Z stops the foreground job; the shell inside keeps control; fg
        # resumes it in the foreground (it says so on SIGCONT), and Ctrl-C ends it.
        s.send(RESUMABLE_JOB)
        s.expect("job-2")
        s.send("\x1a")
        s.expect("Stopped")
        s.expect("KP$ ")
        s.send("fg\r")
        s.expect("resumed")
        s.send("\x03")
        s.expect("KP$ ")
        s.send("exit 7\r")
        eq(s.finish(), 7)


def test_terminal_is_handed_back_after_a_shell_dies(k):
    # sh (no job control) runs kakuri in its own process group; the shell inside
    # takes the terminal, turns echo off and dies of SIGKILL.
    script = f"{' '.join(k.argv(BASH))}; echo after=$?; read x"
    with k.terminal(["/bin/sh", "-c", script], PROMPT_ENV) as s:
        s.expect("KP$ ")
        s.send("stty -echo -icanon; kill -9 $$\r")
        s.expect("after=137")
        eq(os.tcgetpgrp(s.fd), s.pid, "foreground process group handed back to the caller")
        # The modes the terminal had when kakuri started: a new pty's defaults.
        eq(termios.tcgetattr(s.fd)[3], fresh_terminal_lflag(), "terminal modes restored")
        s.send("\r")
        eq(s.finish(), 0)
