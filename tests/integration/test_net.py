"""A private network through pasta (README, "A private network"): published TCP and UDP ports
answer from the host, the host's loopback and abstract sockets stay out of reach unless asked
for, DNS goes to the upstream named, pasta ends with its container (also after kill -9 of
kakuri), and each failure is one line. Traffic stays on this machine: servers the tests start on
127.0.0.1 (or a 127/8 address of their own), and published ports."""
import contextlib
import fcntl
import os
import random
import select
import shutil
import signal
import socket
import struct
import subprocess

from harness import Skip, children, eq, ok, pidfds, read_line, running, wait_exited

PY = "/usr/bin/python3"

# Inside: a TCP server on 8080 that says hello to one client, then exits.
TCP_SERVER = r"""
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 8080))
s.listen()
print("listening", flush=True)
c, _ = s.accept()
c.sendall(b"hello from inside\n")
c.close()
"""

# Inside: a TCP server on 8080 that, once told on stdin, writes 1 MiB to its one client (all of
# it in its socket's buffer) and exits at once.
BULK_SERVER = r"""
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
s.bind(("0.0.0.0", 8080))
s.listen()
print("listening", flush=True)
c, _ = s.accept()
print("accepted", flush=True)
sys.stdin.readline()
c.sendall(bytes(range(256)) * 4096)
print("sent", flush=True)
"""

# Inside: one ICMP echo request to the address of its argument through an ICMP echo socket
# (what ping uses without CAP_NET_RAW); prints what came back.
PING = r"""
import socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP)
s.settimeout(10)
s.sendto(struct.pack("!BBHHH", 8, 0, 0, 0, 1) + b"kakuri-it", (sys.argv[1], 0))
r = s.recv(100)
print("reply" if r[0] == 0 and r.endswith(b"kakuri-it") else "other", flush=True)
"""

# Inside: a UDP echo on the port of its argument, for one datagram.
UDP_ECHO = r"""
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", int(sys.argv[1])))
print("listening", flush=True)
data, peer = s.recvfrom(100)
s.sendto(b"echo:" + data, peer)
"""

# Inside: what connecting to each place gives, one "name=result" line each.
REACH = r"""
import socket, sys
def gateway():
    for line in open("/proc/net/route").read().splitlines()[1:]:
        f = line.split()
        if f[1] == "00000000":
            return socket.inet_ntoa(bytes.fromhex(f[2])[::-1])
def tcp(addr, port):
    s = socket.socket()
    s.settimeout(10)
    try:
        s.connect((addr, port))
        return s.recv(100).decode().strip()
    except OSError as e:
        return type(e).__name__
def abstract(name):
    s = socket.socket(socket.AF_UNIX)
    try:
        s.connect("\0" + name)
        return s.recv(100).decode().strip()
    except OSError as e:
        return type(e).__name__
port, name, via_gateway = int(sys.argv[1]), sys.argv[2], sys.argv[3] == "1"
print("loopback=" + tcp("127.0.0.1", port))
print("abstract=" + abstract(name))
if via_gateway:
    print("gateway=" + tcp(gateway(), port))
"""

# Inside: one DNS query for NAME (type A) to the nameserver of /etc/resolv.conf; prints the
# nameserver and the address in the answer.
DNS_QUERY = r"""
import socket, struct, sys
nss = [l.split()[1] for l in open("/etc/resolv.conf") if l.startswith("nameserver")]
ns = nss[0]
name = sys.argv[1]
q = struct.pack(">HHHHHH", 0x4b4b, 0x0100, 1, 0, 0, 0)
q += b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"
q += struct.pack(">HH", 1, 1)
s = socket.socket(socket.AF_INET6 if ":" in ns else socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(10)
s.sendto(q, (ns, 53))
r, _ = s.recvfrom(512)
print("nameserver=" + " ".join(nss))
print("answer=" + socket.inet_ntoa(r[-4:]))
"""


def free_port(kind=socket.SOCK_STREAM):
    """A port nobody holds on 127.0.0.1 now."""
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_free(port, kind=socket.SOCK_STREAM):
    with socket.socket(socket.AF_INET, kind) as s:
        if kind == socket.SOCK_STREAM:
            # Not for a connection's TIME_WAIT: for a socket bound to it.
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def holders(port, table="/proc/net/tcp"):
    """The processes holding a socket bound to port (any address), found by the socket's inode."""
    inodes = set()
    with open(table) as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            if int(fields[1].split(":")[1], 16) == port:
                inodes.add(fields[9])
    found = set()
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
                if link.startswith("socket:[") and link[8:-1] in inodes:
                    found.add(int(pid))
        except OSError:
            continue
    return found


def parent(pid):
    with open(f"/proc/{pid}/stat") as f:
        return int(f.read().rsplit(")", 1)[1].split()[1])


def server_inside(k, args, script, *script_args, env=None):
    """kakuri ARGS running script with python inside, stdout a pipe, once it says it listens."""
    p = k.popen(list(args) + ["--", PY, "-c", script] + [str(a) for a in script_args], env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, text=True)
    line = read_line(p.stdout)
    if line != "listening\n":
        p.kill()
        p.wait()
        raise AssertionError(f"the server inside did not start: {line!r} {p.stderr.read()!r}")
    return p


def test_published_tcp_port_answers_from_the_host(k):
    port = free_port()
    with running(server_inside(k, ["-p", f"{port}:8080"], TCP_SERVER)) as p:
        with socket.create_connection(("127.0.0.1", port), timeout=20) as c:
            eq(c.makefile().readline(), "hello from inside\n")
        eq(p.wait(timeout=30), 0, p.stderr.read())
    # The container is over when kakuri returns: pasta with it, the port free again.
    ok(port_free(port), f"port {port} still bound after the container ended")


def test_published_udp_port_echoes(k):
    # The same number inside: Debian 12's pasta loses the replies of a UDP port mapped to
    # another (README, "A private network").
    port = free_port(socket.SOCK_DGRAM)
    with running(server_inside(k, ["--publish", f"127.0.0.1:{port}:{port}/udp"], UDP_ECHO,
                               port)) as p:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as c:
            c.settimeout(20)
            c.sendto(b"ping", ("127.0.0.1", port))
            eq(c.recvfrom(100)[0], b"echo:ping")
        eq(p.wait(timeout=30), 0, p.stderr.read())
    ok(port_free(port, socket.SOCK_DGRAM), f"UDP port {port} still bound after the container ended")


def test_published_range(k):
    first = free_port()
    ports = f"{first}-{first + 1}:8079-8080"
    if not port_free(first + 1):
        raise Skip(f"port {first + 1} is taken on this host")
    with running(server_inside(k, ["-p", ports], TCP_SERVER)) as p:
        # HOSTPORT+1 goes to 8080 inside.
        with socket.create_connection(("127.0.0.1", first + 1), timeout=20) as c:
            eq(c.makefile().readline(), "hello from inside\n")
        eq(p.wait(timeout=30), 0, p.stderr.read())


@contextlib.contextmanager
def host_services():
    """A TCP server on the host's 127.0.0.1 and an abstract unix socket, each answering
    "host-secret" to whoever connects, while the with block runs."""
    tcp = socket.socket()
    tcp.bind(("127.0.0.1", 0))
    tcp.listen(8)
    name = f"kakuri-it-net-{os.getpid()}-{random.randrange(1 << 30)}"
    unix = socket.socket(socket.AF_UNIX)
    unix.bind("\0" + name)
    unix.listen(8)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(w)
        try:
            while True:
                ready, _, _ = select.select([tcp, unix, r], [], [])
                if r in ready:
                    break
                for s in ready:
                    c, _ = s.accept()
                    c.sendall(b"host-secret\n")
                    c.close()
        finally:
            os._exit(0)
    os.close(r)
    try:
        yield tcp.getsockname()[1], name
    finally:
        os.close(w)
        os.waitpid(pid, 0)
        tcp.close()
        unix.close()


def reach(k, opts, port, name, via_gateway):
    p = k.run(list(opts) + ["--", PY, "-c", REACH, str(port), name, "1" if via_gateway else "0"])
    eq(p.returncode, 0, p.stderr)
    return dict(l.split("=", 1) for l in p.stdout.splitlines())


def test_host_loopback_and_abstract_sockets_out_of_reach(k):
    with host_services() as (port, name):
        # The attack: what --network=host gives (and the docs warn of).
        shared = reach(k, ["--network=host"], port, name, False)
        eq(shared, {"loopback": "host-secret", "abstract": "host-secret"}, "--network=host")
        # A private network: its own loopback, its own abstract sockets. (Its gateway is not
        # tried: without the opt-in, pasta sends to the real gateway, off this machine.)
        got = reach(k, ["--network=private"], port, name, False)
        eq(got, {"loopback": "ConnectionRefusedError", "abstract": "ConnectionRefusedError"},
           "--network=private")
        got = reach(k, ["-p", f"{free_port()}:80"], port, name, False)
        eq(got["loopback"], "ConnectionRefusedError", "a published port's container")


def test_host_loopback_opt_in(k):
    with host_services() as (port, name):
        got = reach(k, ["--network=private,host-loopback"], port, name, True)
        # The host's 127.0.0.1 at the gateway's address; never at the container's own, and
        # abstract sockets stay the network namespace's own.
        eq(got, {"loopback": "ConnectionRefusedError", "abstract": "ConnectionRefusedError",
                 "gateway": "host-secret"})
        cfg = k.write(os.path.join(k.tmp, "loopback.toml"),
                      '[defaults]\nnetwork = "private"\nhost_loopback = true\n')
        got = reach(k, ["--config", cfg], port, name, True)
        eq(got["gateway"], "host-secret", "host_loopback = true in a config")


@contextlib.contextmanager
def dns_responder(answer, ipv6=False):
    """A DNS server on a 127/8 address of its own (ipv6: on ::1), port 53 (binding that needs
    root), answering every A query with answer; yields its address and a pipe that gets a byte
    per query."""
    if os.geteuid() != 0:
        raise Skip("the DNS responder binds port 53: the suite must run as root")
    s = socket.socket(socket.AF_INET6 if ipv6 else socket.AF_INET, socket.SOCK_DGRAM)
    if ipv6:
        # ::1 is the only IPv6 loopback address: the two modes' suites, which run at the same
        # time, take it in turn.
        held = open("/tmp/kakuri-it-dns6.lock", "w")
        fcntl.flock(held, fcntl.LOCK_EX)
        s.bind(("::1", 53))
        addr = "::1"
    for _ in range(0 if ipv6 else 20):
        addr = f"127.{random.randrange(1, 255)}.{random.randrange(0, 255)}.{random.randrange(1, 255)}"
        try:
            s.bind((addr, 53))
            break
        except OSError:
            continue
    else:
        if not ipv6:
            raise AssertionError("no free 127/8 address for the DNS responder")
    r, w = os.pipe()
    seen_r, seen_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(w)
        try:
            while True:
                ready, _, _ = select.select([s, r], [], [])
                if r in ready:
                    break
                q, peer = s.recvfrom(512)
                end = q.index(b"\0", 12) + 5
                reply = q[:2] + struct.pack(">HHHHH", 0x8180, 1, 1, 0, 0) + q[12:end]
                reply += struct.pack(">HHHLH", 0xC00C, 1, 1, 60, 4) + socket.inet_aton(answer)
                s.sendto(reply, peer)
                os.write(seen_w, b"q")
        finally:
            os._exit(0)
    os.close(r)
    os.close(seen_w)
    try:
        yield addr, seen_r
    finally:
        os.close(w)
        os.waitpid(pid, 0)
        os.close(seen_r)
        s.close()
        if ipv6:
            held.close()


def test_ping_goes_out_and_its_reply_comes_back(k):
    # pasta sends the container's echo requests through ICMP echo sockets of its own, which
    # the host's net.ipv4.ping_group_range must allow its group (this machine's, "1 0", allows
    # none). In a network namespace of the test's own (root makes it), with that sysctl open and
    # a second address to ping, nothing leaves the machine.
    if not k.am_root:
        raise Skip("pasta's echo sockets need the host's net.ipv4.ping_group_range to allow "
                   "the caller's group; the test's own network namespace, where it opens that "
                   "sysctl, takes root")
    script = ("ip link set lo up && ip link add kk0 type veth peer name kk1 && "
              "ip addr add 192.0.2.1/24 dev kk0 && ip addr add 192.0.2.2/24 dev kk0 && "
              "ip link set kk0 up && ip link set kk1 up && "
              "ip route add default via 192.0.2.254 && "
              "sysctl -q -w net.ipv4.ping_group_range='0 2147483647' && exec \"$@\"")
    for opts in [[], ["--user"]]:
        argv = ["unshare", "--net", "sh", "-c", script, "sh"]
        argv += k.argv(["--network=private"] + opts + ["--", PY, "-c", PING, "192.0.2.2"])
        p = subprocess.run(argv, env=k.env(), cwd=k.work, capture_output=True, text=True,
                           timeout=60)
        eq((p.returncode, p.stdout), (0, "reply\n"), f"{opts}: {p.stderr}")


def test_dns_goes_to_the_upstream_named(k):
    with dns_responder("192.0.2.123") as (addr, seen):
        p = k.run(["--network=private", "--dns", addr, "--", PY, "-c", DNS_QUERY,
                   "kakuri-it.example"])
        eq(p.returncode, 0, p.stderr)
        eq(p.stdout, "nameserver=169.254.1.1\nanswer=192.0.2.123\n")
        ok(select.select([seen], [], [], 0)[0], "the responder saw no query")
        # The same from a config file's dns.
        cfg = k.write(os.path.join(k.tmp, "dns.toml"), f'[defaults]\ndns = "{addr}"\n')
        p = k.run(["--config", cfg, "-p", f"{free_port()}:80", "--", PY, "-c", DNS_QUERY,
                   "other.example"])
        eq((p.returncode, p.stdout), (0, "nameserver=169.254.1.1\nanswer=192.0.2.123\n"), p.stderr)


def test_dns_goes_to_an_ipv6_upstream(k):
    # pasta sends the queries to each of its forward addresses to the first upstream of the same
    # family: an IPv6 upstream is reached through the IPv6 forward address, which the
    # container's resolv.conf then names alone (no IPv4 query first waits for a timeout).
    v6 = "nameserver=fd6b:616b:7572:6900::53\nanswer=192.0.2.77\n"
    with dns_responder("192.0.2.77", ipv6=True) as (addr, seen):
        p = k.run(["--network=private", "--dns", addr, "--", PY, "-c", DNS_QUERY, "six.example"])
        eq((p.returncode, p.stdout), (0, v6), p.stderr)
        ok(select.select([seen], [], [], 0)[0], "the responder saw no query")
        if k.drop or not k.am_root:
            # What kakuri reads of the host is the same for every identity; unprivileged, the
            # container could not overlay an /etc with a mount of root's on it.
            return
        # A host whose resolv.conf names only IPv6 nameservers, and one with both (as such
        # hosts have it, in a mount namespace of the test's own), with no --dns.
        stage = os.path.join(k.tmp, "resolv-stage")
        os.makedirs(stage, exist_ok=True)
        script = ('mount -t tmpfs -o mode=0755 none "$0" && printf "$1" > "$0/resolv.conf" && '
                  'mount --bind "$0/resolv.conf" /etc/resolv.conf && shift && exec "$@"')

        def under_host_resolv(names, command):
            argv = ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, stage,
                    names] + k.argv(["--network=private", "--"] + command)
            return subprocess.run(argv, env=k.env(), cwd=k.work, capture_output=True, text=True,
                                  timeout=60)

        p = under_host_resolv("nameserver ::1\\nnameserver fe80::1%%eth0\\n",
                              [PY, "-c", DNS_QUERY, "six.example"])
        eq((p.returncode, p.stdout, p.stderr), (0, v6, ""), "only IPv6 nameservers")
        p = under_host_resolv("nameserver ::1\\nnameserver 127.0.0.1\\n",
                              ["/bin/cat", "/etc/resolv.conf"])
        eq((p.returncode, p.stdout, p.stderr),
           (0, "nameserver 169.254.1.1\nnameserver fd6b:616b:7572:6900::53\n", ""), "both")


def fd_links(pid):
    """{fd: what it is} for each open fd of pid."""
    return {int(fd): os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")}


def test_pasta_holds_the_containers_namespace_and_nothing_of_kakuris(k):
    # The namespace pasta joins is the one init made (init passes an fd of it; no path by
    # pid, which could have been reused), and pasta gets no pipe, socket, pidfd or file of
    # kakuri's or of the container's.
    port = free_port()
    with running(server_inside(k, ["-p", f"{port}:8080"], TCP_SERVER)) as p:
        (pasta,) = holders(port)
        (init,) = children(p.pid)
        keeper = parent(pasta)
        fds = fd_links(pasta)
        eq(fds[3], os.readlink(f"/proc/{init}/ns/net"), "pasta's fd 3")
        theirs = set(fd_links(p.pid).values()) | set(fd_links(init).values())
        for fd, what in fds.items():
            if what.startswith("/"):
                ok(what in ("/dev/null", "/dev/net/tun"), f"pasta's fd {fd} is {what}")
            else:
                ok(what not in theirs, f"pasta's fd {fd} ({what}) is also kakuri's or init's")
        # What pasta shares with its keeper: the pipes of its stderr (2) and of its pid (4), and
        # the namespace (the keeper waits there for what is in flight when the container ends).
        shared = {w for w in set(fds.values()) & set(fd_links(keeper).values()) if w[0] != "/"}
        eq(shared, {fds[2], fds[3], fds[4]}, "what pasta shares with its keeper")
        with socket.create_connection(("127.0.0.1", port), timeout=20) as c:
            eq(c.makefile().readline(), "hello from inside\n")
        eq(p.wait(timeout=30), 0, p.stderr.read())


def kill_9_leaves_no_pasta(k, victim):
    """kill -9 of victim (kakuri, the keeper or the container's init) while a published port is
    up: pasta and its keeper are gone (waited for on pidfds) and the port is free."""
    port = free_port()
    p = server_inside(k, ["-p", f"{port}:8080"], TCP_SERVER, env={"GITHUB_TOKEN": "kakuri-it"})
    with running(p):
        pasta = holders(port)
        eq(len(pasta), 1, "processes holding the published port")
        (pid,) = pasta
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            eq(f.read().split(b"\0")[0], b"pasta")
        # Nothing of the caller's environment (a credential, here) reaches pasta.
        with open(f"/proc/{pid}/environ", "rb") as f:
            eq(f.read(), b"", "pasta's environment")
        keeper = parent(pid)
        eq(children(keeper), [pid], "the keeper's children")
        (init,) = children(p.pid)  # setpriv execs kakuri: the same process
        fds = pidfds([pid, keeper])
        os.kill({"kakuri": p.pid, "keeper": keeper, "init": init}[victim], signal.SIGKILL)
        wait_exited(fds, f"pasta and its keeper after kill -9 of {victim}")
        ok(port_free(port), f"port {port} still bound after kill -9 of {victim}")
        if victim == "init":
            eq(p.wait(timeout=30), 137)


def test_kill_9_of_kakuri_leaves_no_pasta_and_frees_the_port(k):
    kill_9_leaves_no_pasta(k, "kakuri")


def test_kill_9_of_pastas_keeper_leaves_no_pasta_and_frees_the_port(k):
    # pasta is the keeper's child in the foreground, with the keeper's death as its own: no
    # daemon left behind on a port.
    kill_9_leaves_no_pasta(k, "keeper")


def test_kill_9_of_init_leaves_no_pasta_and_frees_the_port(k):
    kill_9_leaves_no_pasta(k, "init")


def test_a_reply_written_before_exit_reaches_the_host_whole(k):
    # A server that writes its reply and exits at once: pasta, stopped meanwhile, has taken
    # nothing of it when the container ends; the keeper waits for what is in flight before it
    # ends pasta (README, "A private network": at most 5 s).
    port = free_port()
    p = k.popen(["-p", f"{port}:8080", "--", PY, "-c", BULK_SERVER], stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    with running(p):
        eq(read_line(p.stdout), "listening\n", "the server inside")
        (init,) = children(p.pid)
        (pasta,) = holders(port)
        with socket.create_connection(("127.0.0.1", port), timeout=30) as c:
            eq(read_line(p.stdout), "accepted\n")
            # pasta stopped: all of the reply is still inside when the container ends.
            os.kill(pasta, signal.SIGSTOP)
            try:
                p.stdin.write("go\n")
                p.stdin.flush()
                eq(read_line(p.stdout), "sent\n")
                wait_exited(pidfds([init]), "the container's init")
            finally:
                os.kill(pasta, signal.SIGCONT)
            got = bytearray()
            while True:
                b = c.recv(65536)
                if not b:
                    break
                got += b
        eq(p.wait(timeout=30), 0, p.stderr.read())
    eq(len(got), 1 << 20, "bytes the host client got")
    ok(got == bytes(range(256)) * 4096, "the bytes as written")
    ok(port_free(port), f"port {port} still bound after the container ended")


def test_a_port_in_use_is_one_line(k):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        p = k.run(["-p", f"{port}:80", "--", "/bin/true"])
        eq((p.returncode, p.stderr),
           (125, f"kakuri: --publish: host port 127.0.0.1:{port}/tcp is in use (by another "
                 "program or container)\n"))
        ok(not holders(port) - {os.getpid()}, "a pasta left on the port")


def test_an_address_not_of_this_host_is_one_line(k):
    # 192.0.2.1 (TEST-NET-1) is no address of this machine: binding it fails, nothing is sent.
    port = free_port()
    p = k.run(["-p", f"192.0.2.1:{port}:80", "--", "/bin/true"])
    eq((p.returncode, p.stderr),
       (125, f"kakuri: --publish: 192.0.2.1 is not an address of this host (host port "
             f"192.0.2.1:{port}/tcp)\n"))


def test_a_privileged_port_unprivileged_is_one_line(k):
    if not k.drop:
        raise Skip("real root may bind any port")
    with open("/proc/sys/net/ipv4/ip_unprivileged_port_start") as f:
        start = int(f.read())
    # A port below the start that nobody holds (root may bind it, to find one).
    for port in range(start - 1, 0, -1):
        if port_free(port):
            break
    else:
        raise Skip(f"no port below net.ipv4.ip_unprivileged_port_start ({start}) is free")
    p = k.run(["-p", f"{port}:80", "--", "/bin/true"])
    eq((p.returncode, p.stderr),
       (125, f"kakuri: --publish: host port 127.0.0.1:{port}/tcp is privileged: a port below "
             f"{start} (net.ipv4.ip_unprivileged_port_start) takes root to bind\n"))
    p = k.run(["-p", f"{port}:{port}/udp", "--", "/bin/true"])
    eq((p.returncode, p.stderr),
       (125, f"kakuri: --publish: host port 127.0.0.1:{port}/udp is privileged: a port below "
             f"{start} (net.ipv4.ip_unprivileged_port_start) takes root to bind\n"))


def test_two_containers_never_share_a_udp_port(k):
    # pasta binds with SO_REUSEADDR, which lets a second UDP socket take the same port.
    port = free_port(socket.SOCK_DGRAM)
    with running(server_inside(k, ["-p", f"{port}:{port}/udp"], UDP_ECHO, port)) as first:
        p = k.run(["-p", f"{port}:{port}/udp", "--", "/bin/true"])
        eq((p.returncode, p.stderr),
           (125, f"kakuri: --publish: host port 127.0.0.1:{port}/udp is in use (by another "
                 "program or container)\n"))
        # The first container still has its port, and alone.
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as c:
            c.settimeout(20)
            c.sendto(b"one", ("127.0.0.1", port))
            eq(c.recvfrom(100)[0], b"echo:one")
        eq(first.wait(timeout=30), 0)


def test_pasta_missing(k):
    # A PATH without pasta (with setpriv, which runs kakuri as the unprivileged user).
    bindir = k.mkdir("no-pasta-bin")
    os.symlink(shutil.which("setpriv"), os.path.join(bindir, "setpriv"))
    p = k.run(["--network=private", "--", "/bin/true"], env={"PATH": bindir})
    eq((p.returncode, p.stderr),
       (125, "kakuri: --network=private needs pasta, which is not installed: install the passt "
             "package\n"))


def test_as_real_root_a_pasta_someone_else_could_plant_is_passed_over(k):
    # pasta runs as root with CAP_SYS_ADMIN over the host: one in a directory of the caller's
    # PATH that another user owns is not run; host root's, later in PATH, is.
    if k.drop:
        raise Skip("real root only")
    planted = k.mkdir("planted-bin")
    marker = os.path.join(k.tmp, "planted-ran")
    fake = os.path.join(planted, "pasta")
    with open(fake, "w") as f:
        f.write(f"#!/bin/sh\ntouch {marker}\nexit 1\n")
    os.chmod(fake, 0o755)
    os.chown(planted, 64999, 64999)
    os.chown(fake, 64999, 64999)
    p = k.run(["--network=private", "--", "/bin/true"],
              env={"PATH": planted + ":/usr/local/bin:/usr/bin:/bin"})
    eq(p.returncode, 0, p.stderr)
    ok(not os.path.exists(marker), "a pasta another user owns ran as root")


def test_dev_net_tun_not_accessible(k):
    if not k.drop:
        raise Skip("as real root pasta opens /dev/net/tun as root")
    # /dev/net/tun as this machine had it before .ci/run: root's, mode 0600. In a mount
    # namespace of the test's own, so nothing of it is left.
    stage = os.path.join(k.tmp, "tun-stage")
    os.mkdir(stage)
    script = ('mount -t tmpfs -o mode=0755 none "$0" && mknod -m 0600 "$0/tun" c 10 200 && '
              'mount --bind "$0/tun" /dev/net/tun && exec "$@"')
    argv = ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, stage]
    argv += k.argv(["--network=private", "--", "/bin/true"])
    p = subprocess.run(argv, env=k.env(), cwd=k.work, capture_output=True, text=True, timeout=60)
    eq((p.returncode, p.stderr),
       (125, "kakuri: --network=private: pasta cannot open /dev/net/tun (mode 0600): it must be "
             "readable and writable by all, as udev makes it on standard distributions (chmod "
             "0666 /dev/net/tun)\n"))


def test_bad_publish_and_dns_are_one_line(k):
    for args, want in [
        (["-p", "80"], "kakuri: --publish '80': name a host port and a port inside (the form is "
                       "[HOSTIP:]HOSTPORT:PORT[/tcp|/udp])\n"),
        (["-p", "8080:80", "--network=host"], "kakuri: --publish needs a private network, not "
                                              "--network=host (it implies --network=private)\n"),
        (["--dns", "one.one.one.one"], "kakuri: --dns takes an IPv4 or IPv6 address, not "
                                       "'one.one.one.one' (see 'kakuri --help')\n"),
        (["--network=bridge"], "kakuri: --network takes none, host, private or "
                               "private,host-loopback, not 'bridge' (see 'kakuri --help')\n"),
    ]:
        p = k.run(args + ["--", "/bin/true"])
        eq((p.returncode, p.stderr), (125, want), " ".join(args))


def test_dry_run_shows_the_network(k):
    p = k.run(["--dry-run", "-p", "8080:80", "-p", "9000:53/udp", "--", "/bin/true"])
    eq(p.returncode, 0, p.stderr)
    ok("network:    private (pasta, DNS to the host's) 127.0.0.1:8080:80/tcp "
       "127.0.0.1:9000:53/udp\n" in p.stdout, p.stdout)
    ok("file-over  /etc/resolv.conf  (nameserver 169.254.1.1)" in p.stdout, p.stdout)


def test_persistent_container_keeps_its_ports_and_exec_joins_its_network(k):
    from test_persist import kk, removed, setup
    env, _ = setup(k, "netstore")
    port = free_port()
    with removed(k, env, "web"):
        p = kk(k, env, "create", "-p", f"{port}:8080", "web")
        eq(p.returncode, 0, p.stderr)
        p = kk(k, env, "list")
        ok(f"private 127.0.0.1:{port}->8080/tcp" in p.stdout, p.stdout)
        p = kk(k, env, "inspect", "web")
        ok(f"publish: 127.0.0.1:{port}:8080/tcp\n" in p.stdout, p.stdout)
        ok("private_net: 1\n" in p.stdout, p.stdout)
        for run in range(2):
            # Each start brings the port up again: the last run's pasta is gone when stop
            # returns, so this start finds the port free.
            p = kk(k, env, "start", "-d", "web")
            eq(p.returncode, 0, f"start {run}: {p.stderr}")
            # A server started by exec answers at the container's published port: exec is
            # in the container's network.
            server = k.popen(["exec", "web", PY, "-c", TCP_SERVER], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            with running(server):
                eq(read_line(server.stdout), "listening\n", f"run {run}")
                with socket.create_connection(("127.0.0.1", port), timeout=20) as c:
                    eq(c.makefile().readline(), "hello from inside\n")
                eq(server.wait(timeout=30), 0, server.stderr.read())
            eq(kk(k, env, "stop", "web").returncode, 0)
            ok(port_free(port), f"port {port} still bound after stop (run {run})")


def test_published_port_whoever_the_container_runs_as(k):
    # --user (only the caller's ids mapped: pasta gets its capabilities as ambient ones), and as
    # real root --userns (root inside is an unprivileged id: init is not dumpable).
    identities = [["--user"]] + ([["--userns"], ["--userns", "--user"]] if not k.drop else [])
    for opts in identities:
        port = free_port()
        with running(server_inside(k, opts + ["-p", f"{port}:8080"], TCP_SERVER)) as p:
            with socket.create_connection(("127.0.0.1", port), timeout=20) as c:
                eq(c.makefile().readline(), "hello from inside\n", " ".join(opts))
            eq(p.wait(timeout=30), 0, p.stderr.read())
        ok(port_free(port), f"{' '.join(opts)}: port {port} still bound after the container ended")
