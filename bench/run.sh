#!/usr/bin/env bash
# bench/run.sh: kakuri's start-up, throughput, binds, file work and memory,
# against bubblewrap with the same isolation, a floor program (bench/floor.c:
# the same kernel steps as kakuri's default container and nothing else) and
# the host. Writes bench/RESULTS.md. Benchmarks are not tests: no pass/fail.
#
#   bench/run.sh                 full run (as root: unprivileged and root; else unprivileged)
#   bench/run.sh --smoke         one run per row, prints the table, writes nothing;
#                                exits non-zero only if a command failed
#   bench/run.sh --user|--root   only one of the two identities
#   bench/run.sh --kakuri PATH   the binary to measure (default: build/kakuri)
#   bench/run.sh --out FILE      where to write the results (default: bench/RESULTS.md)
#   bench/run.sh --note TEXT     a line for the results' machine section (e.g. the commit built)
#   bench/run.sh --baseline PATH an earlier kakuri binary: start-up and "where the time goes"
#                                get a row for it (before and after a change)
#   bench/run.sh --smoke --minbase   the smoke run with the Debian minbase rows too (a full run
#                                has them whenever the tarball is there; a smoke run leaves
#                                them out: each of their runs unpacks 160 MiB)
#
# The Debian minbase rows read /var/cache/kakuri-ci/minbase.tar.zst, which .ci/run makes
# (as root: unshare --mount --propagation private mmdebstrap --variant=minbase bookworm
# /var/cache/kakuri-ci/minbase.tar.zst http://deb.debian.org/debian); without it they are
# skipped with a note.
#
# Unprivileged means uid/gid 64123 (setpriv --clear-groups) with a HOME it owns
# and copies of every binary in a temporary directory it can reach. Each
# comparison runs entirely inside one invocation, in two rounds in opposite
# order, because this machine drifts 10-30 % between runs: compare the ratios.
# Exit status: 0; 1 if a measured command failed; 2 on a usage or setup error, or when
# the load average is above half the CPUs (a full run measures an idle machine only).
set -uo pipefail

BENCH_UID=64123
MINBASE=/var/cache/kakuri-ci/minbase.tar.zst
SELF=$(readlink -f "${BASH_SOURCE[0]}")
BENCH_DIR=$(dirname "$SELF")
REPO=$(dirname "$BENCH_DIR")
SEP=$'\x1f'

die() { echo "run.sh: $*" >&2; exit 2; }
say() { echo "[$(date +%H:%M:%S)] $*" >&2; }

# --------------------------------------------------------------------------
# Inner part: runs as the measured identity, in a fixed environment, and
# records everything in $RES/records (fields separated by \x1f):
#   G id kind title note        a comparison (kind: time, tput, rss, cost)
#   C id label role disp cmd rc output error   one command, its check run
#   H id file                   a hyperfine JSON export (one per round)
#   X id label seconds          smoke mode: the check run's wall time
#   T id label runs fails secs  a throughput measurement
#   R id label kib              one peak-RSS sample
#   K id label calls faults top one command's system calls, page faults and its most made calls
#   S id title reason           a comparison skipped
# --------------------------------------------------------------------------

rec() { local IFS=$SEP; printf '%s\n' "$*" >>"$RES/records"; }

LABELS=() ROLES=() DISPS=() CMDS=()
add() { ROLES+=("$1"); LABELS+=("$2"); DISPS+=("$3"); CMDS+=("$4"); }
reset_group() { LABELS=() ROLES=() DISPS=() CMDS=(); }

# One run of every command of the group: exit status, output, first error line.
# Only commands that pass are measured; OK holds their indexes.
OK=()
check_group() {
    local id=$1 i rc out err t0 t1
    OK=()
    for i in "${!CMDS[@]}"; do
        t0=$(date +%s%N)
        (eval "exec ${CMDS[$i]}") </dev/null >"$RES/check.out" 2>"$RES/check.err"
        rc=$?
        t1=$(date +%s%N)
        out=$(head -c 200 "$RES/check.out" | tr '\n\t' '  ' | sed 's/ *$//')
        err=$(grep -m1 . "$RES/check.err" | tr '\t' ' ' | head -c 300)
        rec C "$id" "${LABELS[$i]}" "${ROLES[$i]}" "${DISPS[$i]}" "${CMDS[$i]}" "$rc" "$out" "$err"
        if [[ $rc -ne 0 ]]; then
            FAILED=1
            say "  FAILED ($rc): ${LABELS[$i]}: $err"
            continue
        fi
        OK+=("$i")
        [[ $SMOKE == 1 ]] && rec X "$id" "${LABELS[$i]}" "$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.6f", (b-a)/1e9}')"
    done
}

# Wall time with hyperfine -N, two rounds in opposite order, RUNS in total.
time_group() {
    local id=$1 title=$2 runs=$3 warmup=$4 note=${5:-}
    rec G "$id" time "$title" "$note"
    say "$MODE: $title"
    check_group "$id"
    [[ $SMOKE == 1 || ${#OK[@]} -eq 0 ]] && { reset_group; return; }
    local per=$(( (runs + 1) / 2 )) r order i args
    for r in 1 2; do
        if [[ $r == 1 ]]; then order=("${OK[@]}"); else order=(); for i in "${OK[@]}"; do order=("$i" "${order[@]}"); done; fi
        args=()
        for i in "${order[@]}"; do args+=(-n "${LABELS[$i]}" "${CMDS[$i]}"); done
        if hyperfine -N -i --style basic --warmup "$warmup" --runs "$per" \
            --export-json "$RES/$id.r$r.json" "${args[@]}" >>"$RES/hyperfine.log" 2>&1; then
            rec H "$id" "$RES/$id.r$r.json"
        else
            FAILED=1
            say "  hyperfine failed, see the log"
            tail -5 "$RES/hyperfine.log" >&2
        fi
    done
    reset_group
}

# Runs per second with 2 workers for SECS seconds, two rounds in opposite order.
tput_group() {
    local id=$1 title=$2 secs=$3 note=${4:-}
    rec G "$id" tput "$title" "$note"
    say "$MODE: $title"
    check_group "$id"
    [[ ${#OK[@]} -eq 0 ]] && { reset_group; return; }
    [[ $SMOKE == 1 ]] && secs=0.001
    local r order i line
    for r in 1 2; do
        if [[ $r == 1 ]]; then order=("${OK[@]}"); else order=(); for i in "${OK[@]}"; do order=("$i" "${order[@]}"); done; fi
        for i in "${order[@]}"; do
            line=$(eval "$BIN/tput $secs 2 ${CMDS[$i]}" </dev/null)
            if [[ $line =~ runs=([0-9]+)\ fails=([0-9]+)\ secs=([0-9.]+) ]]; then
                rec T "$id" "${LABELS[$i]}" "${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}" "${BASH_REMATCH[3]}"
                [[ ${BASH_REMATCH[2]} != 0 ]] && FAILED=1
            else
                FAILED=1
                say "  tput failed for ${LABELS[$i]}: $line"
            fi
        done
        [[ $SMOKE == 1 ]] && break
    done
    reset_group
}

# Peak RSS (/usr/bin/time -v, "Maximum resident set size"), N samples, interleaved.
rss_group() {
    local id=$1 title=$2 n=$3 note=${4:-}
    rec G "$id" rss "$title" "$note"
    say "$MODE: $title"
    check_group "$id"
    [[ $SMOKE == 1 ]] && n=1
    local k i kib
    for ((k = 0; k < n; k++)); do
        for i in "${OK[@]}"; do
            eval "/usr/bin/time -v -o $RES/time.out ${CMDS[$i]}" </dev/null >/dev/null 2>&1
            kib=$(sed -n 's/.*Maximum resident set size (kbytes): *//p' "$RES/time.out")
            [[ -n $kib ]] && rec R "$id" "${LABELS[$i]}" "$kib"
        done
    done
    reset_group
}

# Where the time goes: each command's system calls (strace -f -c, every process it makes) and
# page faults (perf stat, the mean of 10 runs), each "-" where the tool is missing; what it
# calls most. On a virtual machine a page fault costs far more than a system call.
cost_group() {
    local id=$1 title=$2 note=${3:-}
    rec G "$id" cost "$title" "$note"
    say "$MODE: $title"
    check_group "$id"
    local i calls faults top
    for i in "${OK[@]}"; do
        calls=- faults=- top=""
        if command -v strace >/dev/null &&
            eval "strace -f -c -o $RES/strace.out ${CMDS[$i]}" </dev/null >/dev/null 2>&1; then
            # % time, seconds, usecs/call, calls, [errors], syscall: the calls are field 4.
            calls=$(awk '$NF == "total" {print $4}' "$RES/strace.out")
            top=$(awk '/^-/ {n++; next} n == 1 {print $4, $NF}' "$RES/strace.out" |
                sort -rn | head -5 | awk '{printf "%s%s %s", (NR > 1 ? ", " : ""), $2, $1}')
        fi
        if command -v perf >/dev/null &&
            eval "perf stat -x, -e page-faults -r 10 -o $RES/perf.out ${CMDS[$i]}" </dev/null >/dev/null 2>&1; then
            faults=$(awk -F, '$3 ~ /page-faults/ {printf "%.0f", $1}' "$RES/perf.out")
        fi
        rec K "$id" "${LABELS[$i]}" "${calls:--}" "${faults:--}" "$top"
    done
    reset_group
}

skip() { rec S "$1" "$2" "$3"; say "$MODE: skipped: $2 ($3)"; }

# Does `kakuri --help` list this subcommand (a line "kakuri SUB ..." or "  SUB ...")?
has_sub() { grep -Eq "(^|kakuri)[[:space:]]+$1([[:space:]]|\$)" <<<"$HELP"; }
has_opt() { grep -q -- "$1" <<<"$HELP"; }

BGPIDS=()
inner_cleanup() {
    local p
    for p in "${BGPIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
    BGPIDS=()
}

inner() {
    MODE=$1 T=$2
    BIN=$T/bin RES=$T/res/$MODE
    K=$BIN/kakuri F=$BIN/floor
    local B=$T/binds BB=$T/bbroot
    [[ -w $RES ]] || die "cannot write $RES"
    : >"$RES/records"
    trap inner_cleanup EXIT
    trap 'exit 130' INT TERM
    cd "$T/work" || die "cd $T/work"
    FAILED=0
    local RUNS=300 WARM=5 TPUT_SECS=4 RSS_N=15 FS_RUNS=10
    HELP=$("$K" --help 2>&1)

    # bwrap with the isolation kakuri gives by default: the same root, made of the
    # same pieces (its /usr /etc /opt /var are ro-binds: bwrap 0.8 has no overlay).
    local BWR="" p
    bw_sys() {
        if [[ -L $1 ]]; then BWR+=" --symlink $(readlink "$1") $1"
        elif [[ -d $1 ]]; then BWR+=" --ro-bind $1 $1"; fi
    }
    bw_sys /usr
    for p in /bin /sbin /lib /lib?*; do [[ -e $p || -L $p ]] && bw_sys "$p"; done
    for p in /etc /opt /var; do bw_sys "$p"; done
    local BW="bwrap --unshare-all --die-with-parent$BWR --tmpfs /tmp --tmpfs /var/tmp --tmpfs /run"
    BW+=" --dir /home --dir $HOME --dev /dev --tmpfs /dev/shm --proc /proc --ro-bind /sys /sys"
    # --uid 0 --gid 0: root inside, as kakuri gives (bwrap's default, the caller's own
    # uid, costs it a second, nested user namespace because --dev needs root to mount devpts).
    # The working directory: kakuri mounts the one it is started in (README, "Automatic path
    # mounting"), so bwrap binds it too.
    BW+=" --uid 0 --gid 0 --hostname kakuri --bind $T/work $T/work --chdir $T/work"
    echo "$BW" >"$RES/bwrap-command"

    # ---- start-up and throughput: `true`
    add kakuri kakuri "kakuri true" "$K true"
    add peer bwrap "bwrap (same isolation) true" "$BW true"
    add floor floor "floor true" "$F true"
    add host /bin/true "/bin/true" "/bin/true"
    [[ -x $BIN/kakuri-base ]] && add base "kakuri (baseline)" "kakuri true (the --baseline binary)" "$BIN/kakuri-base true"
    time_group startup "start-up: true" $RUNS $WARM

    # The bare namespace floor (what the kernel charges for the same namespaces, a fresh
    # /proc and nothing else) and bubblewrap's simplest sandbox.
    local UNS="unshare -mpfn -u -i --mount-proc"
    [[ $MODE == user ]] && UNS="unshare -Urmpfn -u -i --mount-proc"
    add kakuri kakuri "kakuri true" "$K true"
    add floor unshare "$UNS true" "$UNS true"
    add peer "bwrap (simplest)" "bwrap --ro-bind / / --proc /proc --dev /dev --unshare-all true" \
        "bwrap --ro-bind / / --proc /proc --dev /dev --unshare-all true"
    time_group floors "start-up, the bare floors: true" $RUNS $WARM \
        "unshare: the kernel's cost of the namespaces with a fresh /proc; bwrap's simplest sandbox binds the host's / read-only"

    # ---- where the time goes: what each makes the kernel do
    add kakuri kakuri "kakuri true" "$K true"
    [[ -x $BIN/kakuri-base ]] && add base "kakuri (baseline)" "kakuri true (the --baseline binary)" "$BIN/kakuri-base true"
    add floor floor "floor true" "$F true"
    add floor unshare "$UNS true" "$UNS true"
    add peer bwrap "bwrap (same isolation) true" "$BW true"
    cost_group cost "where the time goes: true" \
        "system calls: strace -f -c of one run, every process; page faults: perf stat, the mean of 10 runs (what a pid 1 does after its parent has returned is not all counted); the five calls made most. On this machine a page fault (a first touch or a copy-on-write) costs about 14 µs, a cpuid 6.5 µs, a system call 1-3 µs"

    add kakuri kakuri "kakuri true" "$K true"
    add peer bwrap "bwrap (same isolation) true" "$BW true"
    add floor floor "floor true" "$F true"
    add host /bin/true "/bin/true" "/bin/true"
    tput_group tput "throughput: true, 2 workers" $TPUT_SECS \
        "2 workers (bench/tput.c), 2 rounds of ${TPUT_SECS} s per command; a run still under way at the deadline is left to finish and counted"

    # ---- CVE-2019-5736's defence: with a binary the caller owns (as real root, every run)
    # the command goes through the exec trampoline from a sealed memfd (src/sealed.cpp)
    if [[ $MODE == user ]]; then
        add kakuri "kakuri (own binary: trampoline)" "kakuri-own true (the command through the exec trampoline)" "$BIN/kakuri-own true"
        add peer "kakuri (root's binary)" "kakuri true (host root's binary: direct exec)" "$K true"
        time_group sealed "exec trampoline: true" $RUNS $WARM "the cost of CVE-2019-5736's defence when the caller owns the binary"
    fi

    # ---- the note on discarded work (README, "What is discarded"): init's snapshot and walk
    # of the container's home, against the same run with the note turned off
    # (both through env and a config file, which cost something of their own)
    add kakuri "kakuri (note)" "kakuri true, note_discarded = true" "env KAKURI_CONFIG=$T/note.toml $K true"
    add peer "kakuri (no note)" "kakuri true, note_discarded = false" "env KAKURI_CONFIG=$T/nonote.toml $K true"
    time_group note "discard note, nothing written: true" $RUNS $WARM "what the note costs when there is nothing to say"
    add kakuri "kakuri (note)" "kakuri sh -c 'echo x >~/f', note_discarded = true (the note names f)" "env KAKURI_CONFIG=$T/note.toml $K sh -c 'echo x >\$HOME/f'"
    add peer "kakuri (no note)" "kakuri sh -c 'echo x >~/f', note_discarded = false" "env KAKURI_CONFIG=$T/nonote.toml $K sh -c 'echo x >\$HOME/f'"
    time_group note-written "discard note, a file written: sh -c 'echo x >~/f'" $RUNS $WARM "what the note costs when it has something to say"

    # ---- interactive: a terminal on 0-2 (kakuri relays a pty of the container's own;
    # bwrap hands the caller's terminal in)
    if command -v script >/dev/null; then
        add kakuri "kakuri (pty)" "script -qec 'kakuri true' /dev/null" "script -qec '$K true' /dev/null"
        add peer "bwrap (pty)" "script -qec 'bwrap (same isolation) true' /dev/null" "script -qec '$BW true' /dev/null"
        add host "script (pty)" "script -qec /bin/true /dev/null (the terminal's own cost)" "script -qec /bin/true /dev/null"
        add base "kakuri (no terminal)" "script -qec 'kakuri true </dev/null >/dev/null 2>&1' /dev/null (no relay)" \
            "script -qec '$K true </dev/null >/dev/null 2>&1' /dev/null"
        time_group interactive "interactive start-up under a terminal: true" $RUNS $WARM \
            "the no-terminal row runs kakuri under the same script with its stdio away from the terminal: the difference is what the relay and the container's pty cost (target: 0.5 ms at most)"
    fi

    # ---- shared network
    add kakuri "kakuri --allow-network" "kakuri --allow-network true" "$K --allow-network true"
    add peer "bwrap --share-net" "bwrap (same isolation) --share-net true" "$BW --share-net true"
    add floor "floor --share-net" "floor --share-net true" "$F --share-net true"
    local UNSN="unshare -mpf -u -i --mount-proc"
    [[ $MODE == user ]] && UNSN="unshare -Urmpf -u -i --mount-proc"
    add floor "unshare (host network)" "$UNSN true" "$UNSN true"
    time_group net "start-up, host network: true" $RUNS $WARM

    # ---- resource limits (README, "Resource limits"): a cgroup below kakuri's own made, filled,
    # entered and removed per run, against the same run without limits (as root: cgroup v1 on a
    # hybrid host, v2 elsewhere; unprivileged, only a delegated cgroup would do)
    if [[ $MODE == root ]] && has_opt --memory; then
        add kakuri "kakuri --memory --pids-limit" "kakuri --memory 256M --pids-limit 100 true" "$K --memory 256M --pids-limit 100 true"
        add peer "kakuri (no limits)" "kakuri true" "$K true"
        time_group limits "limits: --memory 256M --pids-limit 100 true" $RUNS $WARM "what the container's cgroup costs a start-up"
    else
        skip limits "limits: --memory 256M --pids-limit 100 true" "unprivileged, or kakuri --help does not list --memory"
    fi

    # ---- a private network (pasta): start-up against none and podman's pasta network of the
    # same tiny root, and a bulk TCP transfer through a published port against the host's
    # loopback (pasta's own figures are the anchor: its splice path for loopback traffic)
    if has_opt "--network=.*private"; then
        add kakuri "kakuri private" "kakuri --rootfs \$TMP/bbroot --network=private /bin/true" \
            "$K --rootfs $BB --network=private /bin/true"
        add peer "kakuri none" "kakuri --rootfs \$TMP/bbroot --network=none /bin/true" \
            "$K --rootfs $BB --network=none /bin/true"
        # podman's row: unprivileged only (as root podman leaves its storage bind-mounted under
        # /var, which a user namespace then cannot overlay /var over), with podman 4.4 or later
        # (the first with --network pasta), where it runs for this user.
        local podman_note="" pv
        pv=$(podman --version 2>/dev/null | sed -n 's/^podman version \([0-9]*\)\.\([0-9]*\).*/\1 \2/p')
        if [[ -z $pv ]]; then
            podman_note="podman is not installed: its row is left out; "
        elif [[ $MODE != user ]]; then
            podman_note="podman only unprivileged (as root it leaves mounts under /var); "
        elif (( ${pv% *} < 4 || (${pv% *} == 4 && ${pv#* } < 4) )); then
            podman_note="podman ${pv/ /.} has no --network pasta (4.4 added it): its row is left out; "
        elif podman run --rm --network pasta --rootfs "$BB" /bin/true >/dev/null 2>&1; then
            add peer "podman pasta" "podman run --rm --network pasta --rootfs \$TMP/bbroot /bin/true" \
                "podman run --rm --network pasta --rootfs $BB /bin/true"
        else
            podman_note="podman run --network pasta fails here: its row is left out; "
        fi
        time_group private-net "start-up, private network (pasta): /bin/true" 40 2 \
            "${podman_note}pasta sets up the namespace before the command runs"
        local port mib=512
        port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
        add kakuri "published port" "bulk.py: $mib MiB from a server inside through -p PORT:PORT" \
            "/usr/bin/python3 $BIN/bulk.py $port $mib -- $K -p $port:$port /usr/bin/python3 $BIN/bulk.py --serve $port $mib"
        add host "host loopback" "bulk.py: $mib MiB from a server on the host's 127.0.0.1" \
            "/usr/bin/python3 $BIN/bulk.py $port $mib -- /usr/bin/python3 $BIN/bulk.py --serve $port $mib"
        time_group private-bulk "bulk TCP, $mib MiB: published port vs the host's loopback" 10 1 \
            "one connection, python on both ends; the published row includes kakuri's and pasta's start-up"
    else
        skip private-net "start-up, private network (pasta): /bin/true" "kakuri --help does not list --network=private"
    fi

    # ---- binds
    local n runs i kb= bb= fb= d
    for n in 100 400 1000; do
        kb="" bb="" fb=""
        for ((i = 1; i <= n; i++)); do
            printf -v d 'd%04d' "$i"
            kb+=" --bind $B/$d:/b/$d" bb+=" --bind $B/$d /b/$d" fb+=" --bind $B/$d /b/$d"
        done
        case $n in 100) runs=60 ;; 400) runs=20 ;; *) runs=6 ;; esac
        add kakuri "kakuri $n binds" "kakuri --bind \$TMP/binds/dNNNN:/b/dNNNN (x$n) true" "$K$kb true"
        add peer "bwrap $n binds" "bwrap (same isolation) --bind \$TMP/binds/dNNNN /b/dNNNN (x$n) true" "$BW$bb true"
        add floor "floor $n binds" "floor --bind \$TMP/binds/dNNNN /b/dNNNN (x$n) true" "$F$fb true"
        time_group "binds$n" "$n binds: true" $runs 1 \
            "$n small directories of \$TMP/binds bound at /b/dNNNN"
    done

    # ---- file-heavy work inside against the host
    local FIND="sh -c 'find /usr -type f 2>/dev/null | wc -l'"
    local TAR="sh -c 'tar -C /usr/share -cf - doc 2>/dev/null | wc -c'"
    add kakuri kakuri "kakuri $FIND" "$K $FIND"
    add host host "$FIND" "$FIND"
    add peer bwrap "bwrap (same isolation) $FIND" "$BW $FIND"
    time_group find "file-heavy: find /usr -type f | wc -l" $FS_RUNS 1 \
        "a new container (so a cold overlay for kakuri) per run; the check run's output shows that all did the same work"
    add kakuri kakuri "kakuri $TAR" "$K $TAR"
    add host host "$TAR" "$TAR"
    add peer bwrap "bwrap (same isolation) $TAR" "$BW $TAR"
    time_group tar "file-heavy: tar -C /usr/share -cf - doc | wc -c" $FS_RUNS 1 \
        "a new container (so a cold overlay for kakuri) per run; the check run's output shows that all did the same work"

    # ---- memory
    add kakuri kakuri "kakuri true" "$K true"
    add peer bwrap "bwrap (same isolation) true" "$BW true"
    add floor floor "floor true" "$F true"
    add host /bin/true "/bin/true" "/bin/true"
    rss_group rss "peak RSS: true" $RSS_N \
        "/usr/bin/time -v, Maximum resident set size, $RSS_N samples each, interleaved: ru_maxrss of the largest process that was waited for (kakuri's own process for kakuri; bwrap's pid 1 is not reaped, so not counted)"

    # ---- features kakuri may not have yet
    if has_opt --rootfs; then
        add kakuri "kakuri --rootfs" "kakuri --rootfs \$TMP/bbroot /bin/true" "$K --rootfs $BB /bin/true"
        add peer "bwrap busybox root" "bwrap --unshare-all --die-with-parent --uid 0 --gid 0 --ro-bind \$TMP/bbroot / --proc /proc --dev /dev --tmpfs /tmp /bin/true" \
            "bwrap --unshare-all --die-with-parent --uid 0 --gid 0 --ro-bind $BB / --proc /proc --dev /dev --tmpfs /tmp /bin/true"
        time_group rootfs "--rootfs busybox: /bin/true" $RUNS $WARM \
            "kakuri: overlay over the tree; bwrap: read-only bind of the tree"
    else
        skip rootfs "--rootfs busybox: /bin/true" "kakuri --help does not list --rootfs"
    fi

    # ---- images (README, "Images"): start-up on an image against --rootfs of the same tree
    # (target: equal within noise), and an import against tar -x of the same tarball (target:
    # at most 1.2x; each side also deletes what it made, so that every run starts alike)
    if has_opt --image && has_sub image && "$K" image import "$BB" bench-bb >/dev/null 2>&1; then
        add kakuri "kakuri --image" "kakuri --image (busybox tree) /bin/true" "$K --image bench-bb /bin/true"
        add peer "kakuri --rootfs" "kakuri --rootfs \$TMP/bbroot /bin/true" "$K --rootfs $BB /bin/true"
        time_group image-startup "--image vs --rootfs, the same busybox tree: /bin/true" $RUNS $WARM \
            "the image's tree is the overlay's lower layer either way"
        "$K" image remove bench-bb >/dev/null 2>&1
        local share=$HOME/share-zoneinfo.tar.gz  # the measured identity's own place
        [[ -f $share ]] || tar -C /usr/share -czf "$share" zoneinfo 2>/dev/null
        add kakuri "kakuri image import" "kakuri image import ~/share-zoneinfo.tar.gz (/usr/share/zoneinfo), then image remove" \
            "sh -c '$K image import -q $share bench-zoneinfo && $K image remove bench-zoneinfo'"
        add host "tar -x" "tar -xzf ~/share-zoneinfo.tar.gz into a new directory, then rm -rf" \
            "sh -c 'mkdir $HOME/untar-\$\$ && tar -C $HOME/untar-\$\$ -xzf $share && rm -rf $HOME/untar-\$\$'"
        time_group image-import "image import vs tar -x: /usr/share/zoneinfo as .tar.gz" 10 1 \
            "import: unpacked in a user and mount namespace, every entry beneath the image (openat2), then renamed into images_dir"
    else
        skip image-startup "--image vs --rootfs, the same busybox tree: /bin/true" "kakuri has no images (or the import failed)"
    fi

    # ---- a Debian minbase root filesystem (.ci/run's tarball, 160 MiB in 8,700 entries):
    # image import against tar -x of the same file (target: at most 1.2x), and against podman
    # load of the same tree as an OCI archive (unprivileged only: root's podman is not run
    # here); start-up on the image against --rootfs of the same tree, unpacked by tar
    local mbwhy
    mbwhy=$(cat "$T/minbase")
    [[ -z $mbwhy ]] && ! { has_opt --image && has_sub image; } && mbwhy="kakuri has no images"
    if [[ -z $mbwhy ]]; then
        # Device nodes left out of tar -x, as import skips them (unprivileged, tar cannot
        # make them). Both sides delete what they made, so that every run starts alike.
        local MBX="--exclude=./dev/*"
        add kakuri "kakuri image import" "kakuri image import minbase.tar.zst, then image remove" \
            "sh -c '$K image import -q $MINBASE bench-mb && $K image remove bench-mb'"
        add host "tar -x" "tar -x $MBX of minbase.tar.zst into a new directory, then rm -rf" \
            "sh -c 'mkdir $HOME/untar-\$\$ && tar -C $HOME/untar-\$\$ $MBX -xf $MINBASE && rm -rf $HOME/untar-\$\$'"
        time_group minbase-import "image import vs tar -x: a Debian minbase .tar.zst" 6 0 \
            "mmdebstrap --variant=minbase bookworm, zstd; no digest in a root filesystem tarball (the OCI row below has one)"

        local oci=$HOME/minbase-oci.tar pv
        pv=$(podman --version 2>/dev/null)
        if [[ $MODE != user ]]; then
            skip minbase-load "image import vs podman load: the minbase as an OCI archive" "podman only unprivileged"
        elif [[ -z $pv ]]; then
            skip minbase-load "image import vs podman load: the minbase as an OCI archive" "podman is not installed"
        elif ! /usr/bin/python3 "$BIN/ociarchive.py" "$MINBASE" "$oci" bench-minbase; then
            skip minbase-load "image import vs podman load: the minbase as an OCI archive" "the OCI archive could not be made"
        else
            # Single-id rootless podman, as kakuri without a subordinate range: every file the
            # caller's (ignore_chown_errors), in storage of its own under this HOME, with a
            # runtime directory of its own, where podman's pause process (which outlives the
            # session) leaves its pid to be ended by.
            local conf=$HOME/bench-storage.conf xdg=$HOME/bench-podman-xdg
            mkdir -p -m 0700 "$xdg"
            local PENV="env CONTAINERS_STORAGE_CONF=$conf XDG_RUNTIME_DIR=$xdg"
            printf '[storage]\ndriver = "overlay"\ngraphroot = "%s"\nrunroot = "%s"\n[storage.options.overlay]\nignore_chown_errors = "true"\n' \
                "$HOME/bench-podman" "$HOME/bench-podman-run" >"$conf"
            add kakuri "kakuri image import" "kakuri image import minbase-oci.tar (OCI archive, one gzip layer, digests checked), then image remove" \
                "sh -c '$K image import -q $oci bench-mb-oci && $K image remove bench-mb-oci'"
            add peer "podman load" "podman load -i minbase-oci.tar, then podman rmi ($pv, overlay, ignore_chown_errors)" \
                "sh -c '$PENV podman load -q -i $oci >/dev/null && $PENV podman rmi -f localhost/bench-minbase:latest >/dev/null'"
            time_group minbase-load "image import vs podman load: the minbase as an OCI archive" 6 0 \
                "the archive made by bench/ociarchive.py from the tarball: podman save's oci-archive layout, gzip -1"
            rm -f "$oci"
            [[ -f $xdg/libpod/tmp/pause.pid ]] && kill "$(cat "$xdg/libpod/tmp/pause.pid")" 2>/dev/null
        fi

        local mbtree=$HOME/minbase-tree
        if "$K" image import -q "$MINBASE" bench-mb-run >/dev/null 2>&1 && mkdir -p "$mbtree" &&
            tar -C "$mbtree" "$MBX" -xf "$MINBASE" 2>/dev/null; then
            add kakuri "kakuri --image" "kakuri --image (the minbase) /bin/true" "$K --image bench-mb-run /bin/true"
            add peer "kakuri --rootfs" "kakuri --rootfs ~/minbase-tree /bin/true" "$K --rootfs $mbtree /bin/true"
            time_group minbase-startup "--image vs --rootfs, the same minbase tree: /bin/true" $RUNS $WARM \
                "the image's tree is the overlay's lower layer either way"
        else
            skip minbase-startup "--image vs --rootfs, the same minbase tree: /bin/true" "the import or tar -x failed"
        fi
        "$K" image remove bench-mb-run >/dev/null 2>&1
        rm -rf "$mbtree"
    else
        skip minbase-import "image import vs tar -x: a Debian minbase .tar.zst" "$mbwhy"
    fi

    # ---- copy-on-write views (README, "Copy-on-write views"): start-up with one --overlay
    # against one --bind of the same directory; apply of 10,000 small files against cp -a
    if has_opt --overlay && has_sub apply; then
        local cow=$HOME/bench-cow seed=$HOME/bench-cow-seed i
        rm -rf "$cow" "$seed" && mkdir -p "$cow"
        for i in $(seq 100); do mkdir -p "$seed/d$i" && (cd "$seed/d$i" && seq 100 | xargs touch); done
        add kakuri "kakuri --overlay" "kakuri --overlay ~/bench-cow /bin/true" "$K --overlay $cow /bin/true"
        add peer "kakuri --bind" "kakuri --bind ~/bench-cow /bin/true" "$K --bind $cow /bin/true"
        time_group overlay-startup "--overlay vs --bind of one directory: /bin/true" $RUNS $WARM \
            "no write: the empty change set is made, then deleted"
        add kakuri "copy in, kakuri apply" "a run copying the 10,000 files into an --overlay, then kakuri apply, then rm -rf" \
            "sh -c 'id=\$($K --ro-bind $seed --overlay $cow cp -a $seed/. $cow/ 2>&1 | sed -n \"s/.*change set \\([0-9]*\\):.*/\\1/p\"); $K apply \$id >/dev/null && rm -rf $cow && mkdir $cow'"
        add host "cp -a" "cp -a of the 10,000 files, then rm -rf" \
            "sh -c 'cp -a $seed/. $cow/ && rm -rf $cow && mkdir $cow'"
        time_group overlay-apply "apply of 10,000 small files" 6 1 \
            "kakuri's side also runs a container that makes the change set (the same copy, into the overlay): apply's own cost is the difference less one start-up"
        rm -rf "$cow" "$seed"
    else
        skip overlay-startup "--overlay vs --bind of one directory: /bin/true" "kakuri --help does not list --overlay/apply"
    fi

    if has_sub exec && has_sub create && has_sub start && has_sub stop && has_sub remove; then
        exec_group
    else
        skip exec "exec into a running container: true" "kakuri --help does not list create/start/exec/stop/remove"
    fi

    if has_sub list && has_sub create && has_sub remove; then
        list_group
    else
        skip list "list with 100 containers" "kakuri --help does not list create/list/remove"
    fi

    if has_sub create && has_sub remove; then
        add kakuri "create+remove" "sh -c 'kakuri create bench-rt && kakuri remove bench-rt'" \
            "sh -c '$K create bench-rt >/dev/null && $K remove bench-rt >/dev/null'"
        add host "sh -c true" "sh -c 'true && true' (the shell's own cost)" "sh -c 'true && true'"
        time_group roundtrip "create + remove round trip" 30 1 "no peer: the sh row is the floor"
    else
        skip roundtrip "create + remove round trip" "kakuri --help does not list create/remove"
    fi

    echo "$FAILED" >"$RES/failed"
    return 0
}

exec_group() {
    # kakuri exec into a running container, against nsenter into a running bwrap
    # sandbox with the same isolation.
    "$K" create bench-exec >/dev/null 2>&1
    "$K" start -d bench-exec >/dev/null 2>&1
    local info=$RES/bwrap-info.json pid="" k
    (eval "exec $(cat "$RES/bwrap-command") --info-fd 3 sleep 100000") 3>"$info" </dev/null >/dev/null 2>&1 &
    BGPIDS+=($!)
    for ((k = 0; k < 100; k++)); do
        pid=$(sed -n 's/.*"child-pid": *\([0-9]*\).*/\1/p' "$info" 2>/dev/null)
        [[ -n $pid ]] && break
        sleep 0.05
    done
    add kakuri "kakuri exec" "kakuri exec bench-exec true" "$K exec bench-exec true"
    add peer nsenter "nsenter -t PID -U -m -p -n -u -i --preserve-credentials true (a bwrap sandbox)" \
        "nsenter -t ${pid:-0} -U -m -p -n -u -i --preserve-credentials true"
    time_group exec "exec into a running container: true" 200 5
    if [[ $MODE == user ]]; then
        add kakuri "kakuri exec (own binary: trampoline)" "kakuri-own exec bench-exec true" "$BIN/kakuri-own exec bench-exec true"
        add peer "kakuri exec" "kakuri exec bench-exec true (host root's binary)" "$K exec bench-exec true"
        time_group exec-sealed "exec, exec trampoline: true" 200 5
    fi
    if command -v script >/dev/null; then
        add kakuri "kakuri exec (pty)" "script -qec 'kakuri exec bench-exec true' /dev/null" "script -qec '$K exec bench-exec true' /dev/null"
        add peer "nsenter (pty)" "script -qec 'nsenter ... true' /dev/null" \
            "script -qec 'nsenter -t ${pid:-0} -U -m -p -n -u -i --preserve-credentials true' /dev/null"
        time_group exec-pty "exec under a terminal: true" 100 5
    fi
    "$K" stop -t 1 bench-exec >/dev/null 2>&1
    "$K" remove -f bench-exec >/dev/null 2>&1
    inner_cleanup
}

list_group() {
    local i names=()
    for ((i = 0; i < 100; i++)); do
        names+=("$(printf 'bench-l%03d' "$i")")
        "$K" create "${names[-1]}" >/dev/null 2>&1
    done
    add kakuri "kakuri list" "kakuri list (100 containers)" "$K list"
    add host "/bin/ls" "ls -l \$HOME (a floor: one small process reading a directory)" "ls -l $HOME"
    time_group list "list with 100 containers" 50 2 "no peer: ls is a floor"
    "$K" remove -f "${names[@]}" >/dev/null 2>&1
}

# --------------------------------------------------------------------------
# Outer part: setup, the two identities, the report, cleanup.
# --------------------------------------------------------------------------

T="" INNER=""
cleanup() {
    # The measuring side runs in its own session: end all of it (hyperfine, the
    # containers, bwrap's sandboxes), then remove the temporary directory.
    if [[ -n $INNER ]]; then
        kill -TERM -- "-$INNER" 2>/dev/null
        sleep 0.5
        kill -KILL -- "-$INNER" 2>/dev/null
        wait "$INNER" 2>/dev/null
        INNER=""
    fi
    [[ -n $T && -d $T ]] || return 0
    rm -rf "$T" 2>/dev/null || echo "run.sh: could not remove all of $T" >&2
}

# Run a command in a new session (its pid is the process group), wait for it;
# the traps can then stop the whole group at once.
run_session() {
    setsid "$@" &
    INNER=$!
    wait "$INNER"
    local rc=$?
    INNER=""
    return $rc
}

main() {
    local smoke=0 modes=() kakuri=$REPO/build/kakuri out=$BENCH_DIR/RESULTS.md minbase=0 baseline=""
    while [[ $# -gt 0 ]]; do
        case $1 in
        --smoke) smoke=1 ;;
        --user) modes+=(user) ;;
        --root) modes+=(root) ;;
        --kakuri) [[ $# -ge 2 ]] || die "--kakuri needs a path"; kakuri=$2; shift ;;
        --kakuri=*) kakuri=${1#*=} ;;
        --out) [[ $# -ge 2 ]] || die "--out needs a file"; out=$2; shift ;;
        --out=*) out=${1#*=} ;;
        --note) [[ $# -ge 2 ]] || die "--note needs a text"; NOTE=$2; shift ;;
        --baseline) [[ $# -ge 2 && -x $2 ]] || die "--baseline needs a kakuri binary"; baseline=$(readlink -f "$2"); shift ;;
        --minbase) minbase=1 ;;
        --inner) [[ $# -ge 3 ]] || die "--inner MODE DIR"; SMOKE=${4:-0}; inner "$2" "$3"; exit $? ;;
        -h | --help) sed -n '2,/^set -uo/p' "$SELF" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown option '$1' (see --help)" ;;
        esac
        shift
    done
    local me
    me=$(id -u)
    if [[ ${#modes[@]} -eq 0 ]]; then
        if [[ $me == 0 ]]; then modes=(user root); else modes=(user); fi
    fi
    [[ $me == 0 || " ${modes[*]} " != *" root "* ]] || die "--root needs root"

    local tool
    for tool in hyperfine bwrap cc nsenter setpriv; do
        command -v "$tool" >/dev/null || die "$tool is missing (apt-get install hyperfine bubblewrap gcc util-linux)"
    done
    [[ -x /usr/bin/time ]] || die "/usr/bin/time is missing (apt-get install time)"
    [[ -x /usr/bin/python3 ]] || die "/usr/bin/python3 is missing"
    [[ -x $kakuri ]] || die "no kakuri binary at $kakuri (meson compile -C build)"
    kakuri=$(readlink -f "$kakuri")

    # A busy machine's numbers are not worth a report: the ratios drift with the load.
    if [[ $smoke == 0 ]]; then
        local load
        load=$(cut -d' ' -f1 /proc/loadavg)
        if awk -v l="$load" -v n="$(nproc)" 'BEGIN{exit !(l > n / 2)}'; then
            die "the machine is busy (load average $load on $(nproc) CPUs): not measuring; run again when it is idle"
        fi
    fi
    local start=$SECONDS started
    started=$(date -u '+%Y-%m-%d %H:%M:%S UTC')
    trap cleanup EXIT
    trap 'exit 130' INT TERM
    T=$(mktemp -d /tmp/kakuri-bench.XXXXXX) || die "mktemp"
    [[ $T != *[[:space:]]* ]] || die "temporary directory with a space: $T"
    chmod 755 "$T"
    mkdir -p "$T/bin" "$T/binds" "$T/work" "$T/res"
    cp "$kakuri" "$T/bin/kakuri"
    [[ -n $baseline ]] && cp "$baseline" "$T/bin/kakuri-base"
    # A copy the unprivileged identity owns (a build tree, ~/.local/bin): kakuri execs the
    # command through its exec trampoline (src/sealed.cpp), which the "sealed" rows measure.
    cp "$kakuri" "$T/bin/kakuri-own"
    [[ $me == 0 ]] && chown "$BENCH_UID:$BENCH_UID" "$T/bin/kakuri-own"
    cp "$SELF" "$T/bin/run.sh"
    cc -O2 -o "$T/bin/floor" "$BENCH_DIR/floor.c" || die "cannot build bench/floor.c"
    cc -O2 -o "$T/bin/tput" "$BENCH_DIR/tput.c" || die "cannot build bench/tput.c"
    cp "$BENCH_DIR/bulk.py" "$T/bin/bulk.py"
    cp "$BENCH_DIR/ociarchive.py" "$T/bin/ociarchive.py"
    # The minbase rows: why they are left out, or nothing (the inner part reads $T/minbase).
    if [[ ! -r $MINBASE ]]; then
        echo "no $MINBASE (.ci/run makes it with mmdebstrap: see bench/run.sh --help)" >"$T/minbase"
    elif [[ $smoke == 1 && $minbase == 0 ]]; then
        echo "a smoke run leaves them out (--minbase runs them)" >"$T/minbase"
    else
        : >"$T/minbase"
    fi
    local i
    for ((i = 1; i <= 1000; i++)); do printf '%s/binds/d%04d\n' "$T" "$i"; done | xargs mkdir
    if "$kakuri" --help 2>&1 | grep -q -- --rootfs; then make_bbroot "$T/bbroot"; fi
    printf '[defaults]\nnote_discarded = false\n' >"$T/nonote.toml"
    printf '[defaults]\nnote_discarded = true\n' >"$T/note.toml"
    chmod -R a+rX "$T"

    local mode home owner
    for mode in "${modes[@]}"; do
        home=$T/home-$mode
        mkdir -p "$home" "$T/res/$mode"
        owner=$me
        [[ $mode == user && $me == 0 ]] && owner=$BENCH_UID
        [[ $mode == user && $me == 0 ]] && chown "$BENCH_UID:$BENCH_UID" "$home" "$T/res/$mode"
        chmod 700 "$home"
        local envv=(env -i HOME="$home" PATH=/usr/local/bin:/usr/bin:/bin LANG=C.UTF-8)
        say "== $mode (uid $owner) =="
        if [[ $mode == root ]]; then echo "root" >"$T/res/$mode.who"
        elif [[ $owner != "$me" ]]; then echo "unprivileged: uid/gid $owner via setpriv --clear-groups" >"$T/res/$mode.who"
        else echo "unprivileged: the caller, uid $owner" >"$T/res/$mode.who"; fi
        if [[ $owner != "$me" ]]; then
            run_session setpriv --reuid="$BENCH_UID" --regid="$BENCH_UID" --clear-groups \
                "${envv[@]}" bash "$T/bin/run.sh" --inner "$mode" "$T" "$smoke" </dev/null
        else
            run_session "${envv[@]}" bash "$T/bin/run.sh" --inner "$mode" "$T" "$smoke" </dev/null
        fi
        [[ -f $T/res/$mode/failed ]] || { echo 1 >"$T/res/$mode/failed"; say "$mode: the run stopped early"; }
    done

    local secs=$((SECONDS - start)) failed=0
    for mode in "${modes[@]}"; do [[ $(cat "$T/res/$mode/failed") == 0 ]] || failed=1; done
    local report=$T/report.md
    machine_info "$kakuri" "$baseline" >"$T/machine"
    /usr/bin/python3 - "$T" "$smoke" "$secs" "$started" "${modes[@]}" >"$report" <<'PY' || die "report failed"
import json, os, re, statistics, sys

T, smoke, secs, started, modes = sys.argv[1], sys.argv[2] == "1", int(sys.argv[3]), sys.argv[4], sys.argv[5:]
SEP = "\x1f"

def fmt_ms(s):
    ms = s * 1000
    return f"{ms:.2f}" if ms < 100 else f"{ms:.0f}"

def ratio(a, b):
    return f"{a / b:.2f}x" if a and b else "-"

def load(mode):
    groups, order = {}, []
    path = os.path.join(T, "res", mode, "records")
    if not os.path.exists(path):
        return groups, order
    for line in open(path, encoding="utf-8", errors="replace"):
        f = line.rstrip("\n").split(SEP)
        kind, gid = f[0], f[1]
        if kind in ("G", "S"):
            g = groups.setdefault(gid, {"cmds": [], "times": {}, "tput": {}, "rss": {}, "cost": {}})
            order.append(gid)
            if kind == "G":
                g.update(kind=f[2], title=f[3], note=f[4])
            else:
                g.update(kind="skip", title=f[2], note=f[3])
            continue
        g = groups[gid]
        if kind == "C":
            g["cmds"].append(dict(label=f[2], role=f[3], disp=f[4], cmd=f[5], rc=int(f[6]), out=f[7], err=f[8]))
        elif kind == "H":
            for r in json.load(open(f[2]))["results"]:
                t = g["times"].setdefault(r["command"], [])
                bad = [c for c in r.get("exit_codes", []) if c]
                if bad:
                    g.setdefault("badruns", {})[r["command"]] = len(bad)
                t.extend(r["times"])
        elif kind == "X":
            g["times"].setdefault(f[2], []).append(float(f[3]))
        elif kind == "T":
            t = g["tput"].setdefault(f[2], [0, 0, 0.0])
            t[0] += int(f[3]); t[1] += int(f[4]); t[2] += float(f[5])
        elif kind == "R":
            g["rss"].setdefault(f[2], []).append(int(f[3]))
        elif kind == "K":
            num = lambda x: int(x) if x.isdigit() else None
            g["cost"][f[2]] = (num(f[3]), num(f[4]), f[5])
    return groups, order

def stats(g, label):
    """(headline value, min/max value, extra text) for one command of a group."""
    if g["kind"] == "time":
        t = g["times"].get(label)
        if not t:
            return None
        sd = statistics.stdev(t) if len(t) > 1 else 0.0
        return statistics.median(t), min(t), f"{fmt_ms(statistics.mean(t))} ± {fmt_ms(sd)}", len(t)
    if g["kind"] == "tput":
        t = g["tput"].get(label)
        if not t or not t[2]:
            return None
        return t[0] / t[2], None, f"{t[0]} runs in {t[2]:.1f} s, {t[1]} failed", t[0]
    if g["kind"] == "rss":
        r = g["rss"].get(label)
        if not r:
            return None
        return statistics.median(r), max(r), "", len(r)
    if g["kind"] == "cost":
        c = g["cost"].get(label)
        if not c or c[0] is None:
            return None
        return c[0], c[1], c[2], 1

TARGETS = {
    ("startup", "peer"): "≤ 0.65x", ("startup", "floor"): "≤ 1.3x",
    ("floors", "floor"): "≤ 1.10x", ("net", "peer"): "≤ 0.75x", ("rootfs", "peer"): "≤ 0.65x",
    ("exec", "peer"): "≤ 1.0x", ("tput", "peer"): "≥ 1.3x", ("binds1000", "peer"): "≤ 0.1x",
    ("find", "host"): "≤ 1.10x", ("tar", "host"): "≤ 1.10x", ("rss", "peer"): "≤ 1.0x",
    ("minbase-import", "host"): "≤ 1.2x", ("minbase-startup", "peer"): "≈ 1.0x",
}

def esc(x):
    return str(x).replace("|", "\\|")

def value_text(kind, v):
    if v is None:
        return "-"
    return {"time": fmt_ms, "tput": lambda x: f"{x:.0f}", "rss": lambda x: f"{x:.0f}",
            "cost": lambda x: f"{x:.0f}"}[kind](v)

UNIT = {"time": "ms", "tput": "runs/s", "rss": "KiB", "cost": "system calls"}

out = []
w = out.append
hostname_note = open(os.path.join(T, "machine")).read().strip()
if smoke:
    w("# kakuri benchmark (smoke: one run per row, numbers are meaningless)\n")
else:
    w("# kakuri benchmark results\n")
w(f"Generated by `bench/run.sh` on {started}; the whole run took {secs // 60} min {secs % 60} s.")
w("Benchmarks, not tests: nothing here passes or fails. Every comparison ran inside one")
w("invocation (two rounds in opposite order, samples pooled), because this machine drifts 10-30 %")
w("between runs: read the ratios, not the absolute numbers across sections.\n")
w("## Machine\n")
w(hostname_note + "\n")
w("""## What is compared

* **kakuri**: the binary named above, default container (`kakuri true`: user (unprivileged only), mount, pid,
  net, uts, ipc and cgroup namespaces, tmpfs root, /usr bound read-only, overlays with an in-memory upper over /etc /opt /var, the
  /bin /sbin /lib* symlinks, tmpfs /tmp /var/tmp /run, /home with the caller's empty home, minimal /dev, /proc,
  read-only /sys, pivot_root, lo up, init as pid 1 and the command as pid 2).
* **bwrap**: bubblewrap with the same isolation (`--unshare-all --die-with-parent`, a root of the same pieces:
  see the command at the end of each section), and `--uid 0 --gid 0` for the same identity inside as kakuri's
  (root; without it bwrap needs a second, nested user namespace). bwrap 0.8 has no overlay option, so its /etc /opt /var are
  **read-only binds**, not writable overlays: kakuri does more work for these rows. As root, `--unshare-all`
  still makes a user namespace (uid map `0 0 1`); kakuri as root makes none. bwrap's monitor exits without
  reaping the sandbox's pid 1, and kakuri returns once its init has told the status (README: a temporary
  container's status comes back before the teardown), so for both the teardown of the pid, mount and net
  namespaces finishes after hyperfine's clock stops; floor waits for its pid 1 (its latency includes the
  teardown). Throughput includes it for all.
* **floor**: `bench/floor.c`, built with `cc -O2`: the kernel steps of `kakuri --dry-run true` as direct
  syscalls and nothing else (one clone, own id maps, / rslave, staging tmpfs, tmpfs root, overlays with
  `userxattr` in a user ns over /usr /etc /opt /var, symlinks, tmpfs mounts, /dev with 6 node binds and devpts,
  /proc, recursive read-only /sys bind, binds, pivot_root, lo up, hostname, fork + exec of pid 2). These are
  the steps of an earlier plan: kakuri now binds /usr read-only, binds empty directories of its staging tmpfs
  where floor mounts a tmpfs each, and mounts a new sysfs; floor is no longer a strict floor.
* **host**: the command run directly (`/bin/true`, `sh -c ...`).
* Start-up: `hyperfine -N` (no shell), warm-up, the samples of both rounds pooled; median and minimum.
  Throughput: `bench/tput.c`, 2 workers starting the command back to back for a bounded time
  (a run still under way at the deadline is left to finish and counted). RSS: `/usr/bin/time -v`.
""")

for mode in modes:
    groups, order = load(mode)
    who = open(os.path.join(T, "res", mode + ".who")).read().strip()
    w(f"## {mode}: {who}\n")
    # Summary: kakuri against each other row.
    w("| comparison | unit | kakuri median | other median | kakuri/other (median) | kakuri/other (min; RSS: max; system calls: page faults) | target |")
    w("|---|---|---|---|---|---|---|")
    for gid in order:
        g = groups[gid]
        if g["kind"] == "skip":
            w(f"| {esc(g['title'])} | | skipped: {esc(g['note'])} | | | | |")
            continue
        k = next((c for c in g["cmds"] if c["role"] == "kakuri"), None)
        ks = stats(g, k["label"]) if k else None
        for c in g["cmds"]:
            if c["role"] == "kakuri":
                continue
            cs = stats(g, c["label"])
            tgt = TARGETS.get((gid, c["role"]), "")
            if ks is None or cs is None:
                why = "failed" if (k and k["rc"]) or c["rc"] else "no data"
                w(f"| {esc(g['title'])} vs {esc(c['label'])} | {UNIT[g['kind']]} | {value_text(g['kind'], ks and ks[0])} | {value_text(g['kind'], cs and cs[0])} | {why} | | {tgt} |")
                continue
            r2 = ratio(ks[1], cs[1]) if ks[1] is not None and cs[1] is not None else "-"
            w(f"| {esc(g['title'])} vs {esc(c['label'])} | {UNIT[g['kind']]} | {value_text(g['kind'], ks[0])} | {value_text(g['kind'], cs[0])} | **{ratio(ks[0], cs[0])}** | {r2} | {tgt} |")
    w("")
    w("Time and RSS ratios: lower is better for kakuri; throughput ratio: higher is better.\n")
    # Details per comparison.
    for gid in order:
        g = groups[gid]
        w(f"### {mode}: {g['title']}\n")
        if g["kind"] == "skip":
            w(f"Skipped: {g['note']}.\n")
            continue
        if g.get("note"):
            w(f"{g['note']}.\n")
        unit = UNIT[g["kind"]]
        if g["kind"] == "time":
            w(f"| command | median {unit} | min {unit} | mean ± sd {unit} | runs | check run: exit, output |")
        elif g["kind"] == "tput":
            w(f"| command | {unit} | | detail | runs | check run: exit, output |")
        elif g["kind"] == "cost":
            w(f"| command | {unit} | page faults | the calls made most | runs | check run: exit, output |")
        else:
            w(f"| command | median {unit} | max {unit} | | samples | check run: exit, output |")
        w("|---|---|---|---|---|---|")
        for c in g["cmds"]:
            s = stats(g, c["label"])
            chk = f"{c['rc']}" + (f", `{esc(c['out'])}`" if c["out"] else "") + (f", {esc(c['err'])}" if c["rc"] and c["err"] else "")
            bad = g.get("badruns", {}).get(c["label"])
            if bad:
                chk += f"; {bad} measured runs failed"
            if s is None:
                w(f"| `{esc(c['disp'])}` | - | - | - | 0 | {chk} |")
                continue
            second = value_text(g["kind"], s[1]) if s[1] is not None else ""
            w(f"| `{esc(c['disp'])}` | {value_text(g['kind'], s[0])} | {second} | {s[2]} | {s[3]} | {chk} |")
        w("")
    bwc = os.path.join(T, "res", mode, "bwrap-command")
    if os.path.exists(bwc):
        w(f"bwrap command used as the peer ({mode}; `$HOME` = `{os.path.join('$TMP', 'home-' + mode)}`):\n")
        w("```\n" + open(bwc).read().strip().replace(T, "$TMP") + "\n```\n")

text = "\n".join(out).replace(T, "$TMP")
print(text)
PY
    if [[ $smoke == 1 ]]; then
        cat "$report"
        say "smoke run done in ${secs}s; nothing written"
    else
        cp "$report" "$out" || die "cannot write $out"
        cat "$report"
        say "done in ${secs}s; wrote $out"
    fi
    return $failed
}

machine_info() {
    local k=$1 cpu mem
    cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
    mem=$(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo)
    echo "* $(. /etc/os-release 2>/dev/null; echo "${PRETTY_NAME:-Linux}"), kernel $(uname -r), $(nproc) vCPU ($cpu), $mem RAM,"
    echo "  $(findmnt -n 2>/dev/null | wc -l) host mounts; load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
    [[ -n ${NOTE:-} ]] && echo "* $NOTE"
    echo "* kakuri: \`$k\` ($("$k" --version 2>/dev/null | head -1)), sha256 $(sha256sum "$k" | cut -c1-12)…"
    [[ -n ${2:-} ]] && echo "* baseline: \`$2\` ($("$2" --version 2>/dev/null | head -1)), sha256 $(sha256sum "$2" | cut -c1-12)…"
    echo "* $(bwrap --version), $(hyperfine --version), $(cc --version | head -1) for floor.c (-O2)"
    echo "* Environment of every command: \`env -i HOME=\$TMP/home-MODE PATH=/usr/local/bin:/usr/bin:/bin LANG=C.UTF-8\`, cwd \`\$TMP/work\`"
    echo "  (\$TMP is a fresh \`mktemp -d /tmp/kakuri-bench.XXXXXX\`, removed at the end)"
}

# A busybox root for --rootfs: busybox-static with relative applet links.
make_bbroot() {
    local r=$1 a bb
    bb=$(command -v busybox) || die "--rootfs rows need busybox (apt-get install busybox-static)"
    mkdir -p "$r/bin" "$r/etc" "$r/proc" "$r/dev" "$r/tmp" "$r/sys" "$r/root"
    cp "$bb" "$r/bin/busybox"
    for a in $("$r/bin/busybox" --list); do [[ -e $r/bin/$a ]] || ln -s busybox "$r/bin/$a"; done
    echo 'root:x:0:0:root:/root:/bin/sh' >"$r/etc/passwd"
    echo 'root:x:0:' >"$r/etc/group"
}

main "$@"
