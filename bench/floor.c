/* floor: the kernel cost of kakuri's default container, and nothing else.
 *
 * The same steps `kakuri --dry-run true` prints, as direct syscalls, with no
 * option parsing beyond what the benchmark needs, no error reporting pipe, no
 * signal forwarding, no terminal handling:
 *
 *   one clone(user+mount+pid+net+uts+ipc+cgroup)   (no user ns as real root)
 *   pid 1: own uid/gid map, / rslave, staging tmpfs on /tmp, tmpfs root,
 *          overlay (tmpfs upper, userxattr in a user ns) over /usr /etc /opt /var,
 *          /bin /sbin /lib* symlinks, tmpfs /tmp /var/tmp /run, /home (+ $HOME),
 *          minimal /dev (tmpfs, 6 node binds, links, devpts, /dev/shm), /proc,
 *          /sys read-only recursive bind, binds, pivot_root, lo up, hostname,
 *          fork the command as pid 2, wait for it
 *   pid 2: chdir, no_new_privs, exec
 *
 * Usage: floor [--share-net] [--bind SRC DST]... [--] COMMAND [ARG...]
 * Exit status: the command's (128+N on signal N); 125 on a setup error.
 * Built by bench/run.sh with `cc -O2`; a benchmark peer, not part of kakuri.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/mount.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define STAGE "/tmp"
#define ROOT STAGE "/root"
#define MAX_BINDS 4096

static void die(const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("floor: ", stderr);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, ": %s\n", strerror(errno));
    va_end(ap);
    _exit(125);
}

static void write_file(const char* path, const char* data) {
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, data, strlen(data)) != (ssize_t)strlen(data)) die("write %s", path);
    close(fd);
}

static void do_mount(const char* src, const char* dst, const char* type, unsigned long flags,
                     const char* data) {
    if (mount(src, dst, type, flags, data) != 0) die("mount %s on %s", type ? type : src, dst);
}

/* mkdir -p of a path of the new root (ROOT + path). */
static void mkdirs(const char* path, mode_t mode) {
    char buf[4096];
    snprintf(buf, sizeof buf, ROOT "%s", path);
    for (char* p = buf + strlen(ROOT) + 1; *p; ++p) {
        if (*p != '/') continue;
        *p = 0;
        if (mkdir(buf, 0755) != 0 && errno != EEXIST) die("mkdir %s", buf);
        *p = '/';
    }
    if (mkdir(buf, mode) != 0 && errno != EEXIST) die("mkdir %s", buf);
}

static void in_root(char* buf, size_t n, const char* path) {
    snprintf(buf, n, ROOT "%s", path);
}

static void tmpfs_at(const char* path, const char* mode) {
    char p[4096], opt[32];
    mkdirs(path, 0755);
    in_root(p, sizeof p, path);
    snprintf(opt, sizeof opt, "mode=%s", mode);
    do_mount("tmpfs", p, "tmpfs", MS_NOSUID | MS_NODEV, opt);
}

static void link_at(const char* target, const char* path) {
    char p[4096];
    in_root(p, sizeof p, path);
    if (symlink(target, p) != 0 && errno != EEXIST) die("symlink %s", p);
}

static int overlay_n;
static void overlay(const char* dir, int userns) {
    char up[64], u[80], w[80], p[4096], data[1024];
    struct stat st;
    if (stat(dir, &st) != 0) die("stat %s", dir);
    snprintf(up, sizeof up, STAGE "/up/%d", overlay_n++);
    snprintf(u, sizeof u, "%s/u", up);
    snprintf(w, sizeof w, "%s/w", up);
    if (mkdir(up, 0700) || mkdir(u, st.st_mode & 07777) || mkdir(w, 0700)) die("mkdir %s", up);
    mkdirs(dir, 0755);
    in_root(p, sizeof p, dir);
    snprintf(data, sizeof data, "lowerdir=%s,upperdir=%s,workdir=%s%s", dir, u, w,
             userns ? ",userxattr" : "");
    do_mount("overlay", p, "overlay", MS_NODEV, data);
}

static int clone_tree(const char* src, unsigned long long attr) {
    int fd = (int)syscall(SYS_open_tree, AT_FDCWD, src,
                          OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
    if (fd < 0) die("open_tree %s", src);
    struct mount_attr a = {.attr_set = attr};
    if (syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &a, sizeof a) != 0)
        die("mount_setattr %s", src);
    return fd;
}

static void attach(int tree, const char* path, int is_dir) {
    char p[4096];
    in_root(p, sizeof p, path);
    if (is_dir) {
        mkdirs(path, 0755);
    } else {
        int f = open(p, O_CREAT | O_WRONLY | O_CLOEXEC, 0444);
        if (f < 0) die("create %s", p);
        close(f);
    }
    if (syscall(SYS_move_mount, tree, "", AT_FDCWD, p, MOVE_MOUNT_F_EMPTY_PATH) != 0)
        die("move_mount on %s", p);
    close(tree);
}

static int is_system_name(const char* n) {
    return !strcmp(n, "usr") || !strcmp(n, "etc") || !strcmp(n, "opt") || !strcmp(n, "var") ||
           !strcmp(n, "bin") || !strcmp(n, "sbin") || !strncmp(n, "lib", 3);
}

static int cmp_name(const void* a, const void* b) {
    return strcmp(a, b);
}

int main(int argc, char* argv[]) {
    int share_net = 0, nbinds = 0, i = 1;
    static const char *bsrc[MAX_BINDS], *bdst[MAX_BINDS];
    for (; i < argc; ++i) {
        if (!strcmp(argv[i], "--share-net"))
            share_net = 1;
        else if (!strcmp(argv[i], "--bind") && i + 2 < argc && nbinds < MAX_BINDS) {
            bsrc[nbinds] = argv[++i];
            bdst[nbinds++] = argv[++i];
        } else if (!strcmp(argv[i], "--")) {
            ++i;
            break;
        } else
            break;
    }
    if (i >= argc) {
        fprintf(stderr, "usage: floor [--share-net] [--bind SRC DST]... [--] COMMAND [ARG...]\n");
        return 125;
    }
    char** cmd = argv + i;
    uid_t uid = getuid();
    gid_t gid = getgid();
    int userns = uid != 0;
    const char* home = getenv("HOME");

    unsigned long flags =
        CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWCGROUP;
    if (userns) flags |= CLONE_NEWUSER;
    if (!share_net) flags |= CLONE_NEWNET;
    pid_t pid = (pid_t)syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, 0);
    if (pid < 0) die("clone");
    if (pid > 0) {
        int st;
        while (waitpid(pid, &st, 0) < 0)
            if (errno != EINTR) die("waitpid");
        return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    }

    /* pid 1 */
    char buf[256];
    mode_t caller_umask = umask(0);
    if (userns) {
        write_file("/proc/self/setgroups", "deny");
        snprintf(buf, sizeof buf, "0 %u 1\n", (unsigned)uid);
        write_file("/proc/self/uid_map", buf);
        snprintf(buf, sizeof buf, "0 %u 1\n", (unsigned)gid);
        write_file("/proc/self/gid_map", buf);
    }
    do_mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL);

    /* Host trees first: the staging tmpfs on /tmp may hide bind sources. */
    static int btree[MAX_BINDS];
    static int bdir[MAX_BINDS];
    for (int b = 0; b < nbinds; ++b) {
        struct stat st;
        btree[b] = clone_tree(bsrc[b], MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
        if (fstat(btree[b], &st) != 0) die("stat %s", bsrc[b]);
        bdir[b] = S_ISDIR(st.st_mode);
    }
    int sys_tree = clone_tree(
        "/sys", MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);

    do_mount("tmpfs", STAGE, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0700");
    if (mkdir(ROOT, 0755) || mkdir(STAGE "/up", 0700)) die("mkdir " STAGE);
    do_mount("tmpfs", ROOT, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755");

    /* System directories: /usr first, then the links, then the other overlays. */
    char links[16][NAME_MAX + 2], targets[16][256], dirs[16][NAME_MAX + 2];
    int nlinks = 0, ndirs = 0;
    DIR* d = opendir("/");
    if (!d) die("opendir /");
    for (struct dirent* de; (de = readdir(d));) {
        struct stat st;
        if (!is_system_name(de->d_name) || fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW))
            continue;
        if (S_ISLNK(st.st_mode) && nlinks < 16) {
            ssize_t n = readlinkat(dirfd(d), de->d_name, targets[nlinks], sizeof targets[0] - 1);
            if (n < 0) continue;
            targets[nlinks][n] = 0;
            snprintf(links[nlinks++], sizeof links[0], "/%s", de->d_name);
        } else if (S_ISDIR(st.st_mode) && ndirs < 16 && strcmp(de->d_name, "usr") != 0) {
            snprintf(dirs[ndirs++], sizeof dirs[0], "/%s", de->d_name);
        }
    }
    closedir(d);
    qsort(dirs, (size_t)ndirs, sizeof dirs[0], cmp_name); /* /etc /opt /var, as kakuri */
    overlay("/usr", userns);
    for (int k = 0; k < nlinks; ++k) link_at(targets[k], links[k]);
    for (int k = 0; k < ndirs; ++k) overlay(dirs[k], userns);

    tmpfs_at("/tmp", "01777");
    tmpfs_at("/var/tmp", "01777");
    tmpfs_at("/run", "0755");
    mkdirs("/home", 0755);
    if (home && home[0] == '/' && home[1]) mkdirs(home, 0700);

    tmpfs_at("/dev", "0755");
    static const char* const nodes[] = {"null", "zero", "full", "random", "urandom", "tty"};
    for (int k = 0; k < 6; ++k) {
        char host[64], p[4096];
        snprintf(host, sizeof host, "/dev/%s", nodes[k]);
        in_root(p, sizeof p, host);
        int f = open(p, O_CREAT | O_WRONLY | O_CLOEXEC, 0444);
        if (f < 0) die("create %s", p);
        close(f);
        do_mount(host, p, NULL, MS_BIND, NULL);
    }
    link_at("/proc/self/fd", "/dev/fd");
    link_at("/proc/self/fd/0", "/dev/stdin");
    link_at("/proc/self/fd/1", "/dev/stdout");
    link_at("/proc/self/fd/2", "/dev/stderr");
    link_at("/proc/kcore", "/dev/core");
    mkdirs("/dev/pts", 0755);
    do_mount("devpts", ROOT "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
             "newinstance,ptmxmode=0666,mode=620");
    link_at("pts/ptmx", "/dev/ptmx");
    mkdirs("/dev/shm", 01777);
    do_mount("tmpfs", ROOT "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=01777");

    mkdirs("/proc", 0755);
    do_mount("proc", ROOT "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
    attach(sys_tree, "/sys", 1);
    for (int b = 0; b < nbinds; ++b) attach(btree[b], bdst[b], bdir[b]);

    if (chdir(ROOT) != 0) die("chdir " ROOT);
    if (syscall(SYS_pivot_root, ".", ".") != 0) die("pivot_root");
    if (umount2(".", MNT_DETACH) != 0) die("umount old root");
    if (chdir("/") != 0) die("chdir /");

    if (!share_net) {
        int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        struct ifreq ifr = {0};
        strcpy(ifr.ifr_name, "lo");
        ifr.ifr_flags = IFF_UP | IFF_LOOPBACK | IFF_RUNNING;
        if (s < 0 || ioctl(s, SIOCSIFFLAGS, &ifr) != 0) die("bring up lo");
        close(s);
    }
    if (sethostname("kakuri", 6) != 0) die("sethostname");

    pid_t c = fork();
    if (c < 0) die("fork");
    if (c == 0) {
        /* pid 2 */
        umask(caller_umask);
        if (chdir(home && home[0] == '/' ? home : "/") != 0) die("chdir");
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) die("no_new_privs");
        execvp(cmd[0], cmd);
        die("exec %s", cmd[0]);
    }
    int st;
    while (waitpid(c, &st, 0) < 0)
        if (errno != EINTR) _exit(125);
    _exit(WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
}
