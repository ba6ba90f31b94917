// tty: the container's own pseudo-terminal, and kakuri's relay between it and the
// caller's terminal, which never enters a container.
#pragma once

#include <poll.h>
#include <sys/types.h>
#include <termios.h>

#include <string>

#include "sys.hpp"

namespace kakuri {

// Which of the standard fds 0-2 are a terminal: each becomes the container's pty.
unsigned terminal_fds();

// In the container's mount namespace: a new pty of its devpts (/dev/pts/ptmx). Returns the
// master; slave receives the other end. from_tty (a caller's terminal fd, or -1) lends its
// modes and window size, so the program sees the terminal the caller has.
UniqueFd open_container_pty(UniqueFd& slave, int from_tty);

// The session's side (init, or the leader of an `exec`): a session of its own with slave
// as its controlling terminal, and slave over each standard fd named in mask.
void lead_pty_session(int slave, unsigned mask);

// The command's side: its own process group in that session, in the terminal's
// foreground, and slave over each standard fd named in mask. Its parent is in the same
// session, so the group is not orphaned: Ctrl-Z (SIGTSTP) stops it as it should.
void join_pty_foreground(int slave, unsigned mask);

// One fd over a unix socket (SCM_RIGHTS), with a one-byte message; what names the step in
// the error.
void send_fd(int sock, int fd, char tag, const char* what = "pass the container's pty to kakuri");
// The byte of the next message; fd (if any came along) in *fd, else -1 there. -1 at EOF (or
// on an error), -2 when no message is waiting.
int recv_msg(int sock, int* fd);

// The caller's terminal, put in raw mode while kakuri relays and restored on every way out.
class CallerTerminal {
public:
    explicit CallerTerminal(unsigned mask);  // mask from terminal_fds()
    ~CallerTerminal() { restore(); }
    CallerTerminal(const CallerTerminal&) = delete;
    CallerTerminal& operator=(const CallerTerminal&) = delete;

    bool active() const { return mask_ != 0; }
    bool reads_input() const { return (mask_ & 1) != 0; }
    int in_fd() const { return 0; }
    int out_fd() const { return out_; }
    // Raw when kakuri is in the terminal's foreground (else reading it would stop kakuri);
    // true when input should be read now.
    bool update();
    void restore();
    // The caller's window size onto the container's pty (which signals the program).
    void copy_size_to(int master) const;

private:
    unsigned mask_;
    int out_ = -1;
    bool saved_ = false, raw_ = false;
    struct termios modes_ {};
};

// Copies between the caller's terminal and the pty master until the master hangs up.
class Relay {
public:
    Relay(CallerTerminal& term, UniqueFd master);
    void attach(UniqueFd master);  // the master, once it arrived
    bool open() const { return bool(master_); }
    int master() const { return master_.get(); }
    // Fill up to two pollfds (master, caller's input); returns how many.
    int poll_fds(struct pollfd* out);
    void on_ready(const struct pollfd* fds, int n);
    // After the container ended: what it wrote and kakuri has not relayed yet.
    void drain();

private:
    void flush_output();
    CallerTerminal& term_;
    UniqueFd master_;
    std::string pending_in_;  // typed, not yet taken by the pty
    bool input_eof_ = false;
};

}  // namespace kakuri
