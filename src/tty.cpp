// tty: a pseudo-terminal of the container's own devpts for the program, relayed by
// kakuri to the caller's terminal. The caller's terminal device never enters a container:
// a process left inside cannot keep it open and read what the user types into the host
// shell afterwards, and TIOCSTI/TIOCLINUX inside can only reach the container's pty.
#include "tty.hpp"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

namespace kakuri {

unsigned terminal_fds() {
    unsigned mask = 0;
    for (int fd = 0; fd < 3; ++fd)
        if (isatty(fd)) mask |= 1U << fd;
    return mask;
}

UniqueFd open_container_pty(UniqueFd& slave, int from_tty) {
    UniqueFd master(::open("/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC));
    if (!master) throw Error("open the container's /dev/pts/ptmx", errno);
    int unlock = 0;
    check(ioctl(master.get(), TIOCSPTLCK, &unlock), "unlock the container's pty");
    // The peer through the master itself: no path to look up inside the container.
    slave.reset(ioctl(master.get(), TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC));
    if (!slave) throw Error("open the container's pty", errno);
    if (from_tty >= 0) {
        struct termios t;
        if (tcgetattr(from_tty, &t) == 0) tcsetattr(slave.get(), TCSANOW, &t);
        struct winsize ws;
        if (ioctl(from_tty, TIOCGWINSZ, &ws) == 0) ioctl(slave.get(), TIOCSWINSZ, &ws);
    }
    return master;
}

namespace {

void put_on_std_fds(int slave, unsigned mask) {
    for (int fd = 0; fd < 3; ++fd)
        if (mask & (1U << fd))
            check(dup2(slave, fd), "put the container's pty on fd " + std::to_string(fd));
}

}  // namespace

void lead_pty_session(int slave, unsigned mask) {
    if (getsid(0) != getpid()) check(setsid(), "start the container's session");
    check(ioctl(slave, TIOCSCTTY, 0), "make the container's pty the controlling terminal");
    put_on_std_fds(slave, mask);
}

void join_pty_foreground(int slave, unsigned mask) {
    check(setpgid(0, 0), "give the command its own process group");
    // SIGTTOU is blocked here (the caller's mask comes back later), so a background group
    // may take the foreground.
    check(tcsetpgrp(slave, getpid()), "give the command the terminal");
    put_on_std_fds(slave, mask);
    if (slave > 2) ::close(slave);
}

void send_fd(int sock, int fd, char tag, const char* what) {
    struct iovec iov = {&tag, 1};
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } u;
    memset(&u, 0, sizeof u);
    struct msghdr msg = {};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = u.buf;
    msg.msg_controllen = sizeof u.buf;
    struct cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof(int));
    while (sendmsg(sock, &msg, MSG_NOSIGNAL) < 0)
        if (errno != EINTR) throw Error(what, errno);
}

int recv_msg(int sock, int* fd) {
    *fd = -1;
    char tag = 0;
    struct iovec iov = {&tag, 1};
    union {
        char buf[CMSG_SPACE(sizeof(int) * 4)];
        struct cmsghdr align;
    } u;
    struct msghdr msg = {};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = u.buf;
    msg.msg_controllen = sizeof u.buf;
    ssize_t n;
    while ((n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT)) < 0 && errno == EINTR) {
    }
    if (n <= 0) return n == 0 || errno != EAGAIN ? -1 : -2;
    for (struct cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
        size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < count; ++i) {
            int got;
            memcpy(&got, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
            if (*fd < 0)
                *fd = got;
            else
                ::close(got);  // one fd a message, never more
        }
    }
    return static_cast<unsigned char>(tag);
}

CallerTerminal::CallerTerminal(unsigned mask) : mask_(mask) {
    if (!mask_) return;
    out_ = (mask_ & 2) ? 1 : (mask_ & 4) ? 2 : 0;
    saved_ = reads_input() && tcgetattr(0, &modes_) == 0;
}

bool CallerTerminal::update() {
    if (!saved_) return false;
    // In the background, reading the terminal (or changing its modes) would stop kakuri
    // with SIGTTIN/SIGTTOU: wait for the caller's shell to bring it forward.
    if (tcgetpgrp(0) != getpgrp()) return false;
    if (!raw_) {
        struct termios t = modes_;
        t.c_iflag &= ~(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON);
        t.c_oflag &= ~OPOST;
        t.c_lflag &= ~(ECHO | ECHONL | ICANON | ISIG | IEXTEN);
        t.c_cflag &= ~(CSIZE | PARENB);
        t.c_cflag |= CS8;
        t.c_cc[VMIN] = 1;
        t.c_cc[VTIME] = 0;
        if (tcsetattr(0, TCSANOW, &t) != 0) return false;
        raw_ = true;
    }
    return true;
}

void CallerTerminal::restore() {
    if (!raw_) return;
    // Also from the background: the caller's shell expects its modes back.
    sigset_t ttou, old;
    sigemptyset(&ttou);
    sigaddset(&ttou, SIGTTOU);
    sigprocmask(SIG_BLOCK, &ttou, &old);
    tcsetattr(0, TCSADRAIN, &modes_);
    sigprocmask(SIG_SETMASK, &old, nullptr);
    raw_ = false;
}

void CallerTerminal::copy_size_to(int master) const {
    struct winsize ws;
    int from = reads_input() ? 0 : out_;
    if (from >= 0 && ioctl(from, TIOCGWINSZ, &ws) == 0) ioctl(master, TIOCSWINSZ, &ws);
}

Relay::Relay(CallerTerminal& term, UniqueFd master) : term_(term) {
    attach(std::move(master));
}

void Relay::attach(UniqueFd master) {
    master_ = std::move(master);
    if (master_) fcntl(master_.get(), F_SETFL, fcntl(master_.get(), F_GETFL) | O_NONBLOCK);
}

int Relay::poll_fds(struct pollfd* out) {
    if (!master_) return 0;
    int n = 0;
    out[n++] = {master_.get(), static_cast<short>(POLLIN | (pending_in_.empty() ? 0 : POLLOUT)), 0};
    // The caller's input only while there is room for it and kakuri has the terminal.
    if (term_.reads_input() && !input_eof_ && pending_in_.size() < 65536 && term_.update())
        out[n++] = {term_.in_fd(), POLLIN, 0};
    return n;
}

void Relay::flush_output() {
    char buf[16384];
    for (;;) {
        ssize_t n = ::read(master_.get(), buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            // EIO: every slave is closed (the session is over); EAGAIN: nothing more now.
            if (n == 0 || errno != EAGAIN) master_.reset();
            return;
        }
        for (ssize_t off = 0; off < n;) {
            ssize_t w = ::write(term_.out_fd(), buf + off, static_cast<size_t>(n - off));
            if (w < 0 && errno == EINTR) continue;
            if (w <= 0) break;  // the caller's terminal is gone: the output has nowhere to go
            off += w;
        }
    }
}

void Relay::on_ready(const struct pollfd* fds, int n) {
    if (!master_) return;
    if (n > 1 && fds[1].revents) {
        char buf[4096];
        ssize_t r = ::read(term_.in_fd(), buf, sizeof buf);
        if (r > 0)
            pending_in_.append(buf, static_cast<size_t>(r));
        else if (r == 0 || (errno != EINTR && errno != EAGAIN && errno != EIO))
            input_eof_ = true;
        else if (errno == EIO)
            input_eof_ = true;  // the caller's terminal hung up
    }
    if (fds[0].revents & POLLOUT && !pending_in_.empty()) {
        ssize_t w = ::write(master_.get(), pending_in_.data(), pending_in_.size());
        if (w > 0) pending_in_.erase(0, static_cast<size_t>(w));
    }
    if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) flush_output();
}

void Relay::drain() {
    if (master_) flush_output();
    master_.reset();
}

}  // namespace kakuri
