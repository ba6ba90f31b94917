# fish completion for kakuri(1). The options and subcommands below must match
# `kakuri --help` (tests/docs/test_drift.py checks it).

# Subcommands: only as the first word.
set -g __kakuri_subcommands \
    create\t'make a persistent container' \
    start\t'run a command in a persistent container, or start it in the background' \
    exec\t'run a command in a running container' \
    shell\t'a login shell in a container, starting it if needed' \
    stop\t'stop containers' \
    list\t'list the containers' \
    inspect\t"show a container's record and state" \
    logs\t"print what a container's detached runs wrote" \
    remove\t'delete containers and everything they wrote' \
    commit\t"make an image of a stopped container's root" \
    export\t'write a stopped container as an OCI runtime bundle (--bundle)' \
    changes\t"list change sets, or what one changed (--overlay)" \
    apply\t"write a change set's changes to the host" \
    discard\t'delete change sets' \
    image\t'import, pull, export, list, inspect and remove images' \
    config\t'print the effective configuration and where each value came from' \
    help\t'show the help of kakuri or of a subcommand'

# Run options that take a value: the next word (or, long ones, after '=').
set -g __kakuri_value_opts --network -p --publish --dns --bind --ro-bind --overlay --bind-profile \
    --auto-mount --hostname --rootfs --image -e --env --unsetenv -w --workdir --seccomp --cap-add \
    --cap-drop --config --tmpfs-size --memory --pids-limit --cpus

# The index of the first word after kakuri's global options (--config FILE before a
# subcommand), among the words before the cursor.
function __kakuri_global_end
    set -l tokens (commandline -opc)
    set -l n (count $tokens)
    set -l i 2
    while test $i -le $n
        if test "$tokens[$i]" = --config; and test (math $i + 1) -le $n
            set i (math $i + 2)
        else if string match -q -- '--config=*' $tokens[$i]
            set i (math $i + 1)
        else
            break
        end
    end
    echo $i
end

# --config FILE as the line gives it (global or a run option), ~ expanded; nothing without.
function __kakuri_config
    set -l tokens (commandline -opc)
    set -l cfg
    for i in (seq 2 (count $tokens))
        switch $tokens[$i]
            case --config
                set cfg --config $tokens[(math $i + 1)]
            case '--config=*'
                set cfg --config (string replace -- --config= '' $tokens[$i])
        end
    end
    string replace -r -- '^~/' "$HOME/" $cfg
end

# Where the words before the cursor stand, one of:
#   run N         kakuri's own run options; N operands so far (0: the command is next)
#   SUB N         after the subcommand SUB, N operands so far
#   args I        word I is the contained command: complete its arguments
#   first         the first word (after a global --config FILE): a subcommand or the command
function __kakuri_state
    set -l tokens (commandline -opc)
    set -l n (count $tokens)
    set -l sub run
    set -l vals $__kakuri_value_opts
    set -l i (__kakuri_global_end)
    if test $i -gt $n
        echo first
        return
    end
    if contains -- $tokens[$i] (string replace -r -- '\t.*' '' $__kakuri_subcommands)
        set sub $tokens[$i]
        set i (math $i + 1)
        switch $sub
            case exec
                set vals -w --workdir -e --env
            case stop
                set vals -t --time
            case list changes
                set vals --format
            case image
                set vals --tls-verify --format
            case config create
            case '*'
                set vals
        end
    else
        set i 2
    end
    set -l operands 0
    set -l options 1
    while test $i -le $n
        set -l t $tokens[$i]
        set i (math $i + 1)
        if test $options = 1
            switch $t
                case --
                    set options 0
                    continue
                case '--*=*'
                    continue
                case '-*'
                    # An option taking a value; also bundled short ones: -ve K=V, -uw DIR.
                    if contains -- $t $vals
                        or begin
                            string match -qr -- '^-[^-]+$' $t
                            and contains -- -(string sub -s -1 -- $t) $vals
                        end
                        set i (math $i + 1)
                    end
                    continue
            end
        end
        # image's options also come after its action, before the action's operands.
        if not test $sub = image -a $operands = 0
            set options 0
        end
        set operands (math $operands + 1)
        # The contained command: a run's first operand, start's and exec's second, export's
        # third.
        if test $sub = run -a $operands = 1
            or begin
                contains -- $sub start exec; and test $operands = 2
            end
            or begin
                test $sub = export; and test $operands = 3
            end
            echo args (math $i - 1)
            return
        end
    end
    if test $options = 0 -a $operands = 0 -a $sub = run
        echo run command
    else
        echo $sub $operands
    end
end

# True when the state matches one of the patterns.
function __kakuri_at
    set -l state (__kakuri_state)
    for pattern in $argv
        string match -q -- $pattern $state; and return 0
    end
    return 1
end

# The contained command's own completions for its arguments.
function __kakuri_complete_args
    set -l state (string split ' ' -- (__kakuri_state))
    test "$state[1]" = args; or return
    set -l tokens (commandline -opc)
    complete -C (string join ' ' -- (string escape -- $tokens[$state[2]..-1]) (commandline -ct))
end

# The kakuri on the command line, when given by path; else the one on PATH.
function __kakuri_bin
    set -l word (commandline -opc)[1]
    if string match -q -- '*/*' $word; and test -x $word
        echo $word
    else
        echo kakuri
    end
end

# Profile names: the lines after the [bind_profiles] header of `kakuri config`,
# read with the --config FILE given on the line, if any.
function __kakuri_profiles
    set -l cfg (__kakuri_config)
    set -l in_profiles 0
    set -l kakuri (__kakuri_bin)
    command $kakuri config $cfg 2>/dev/null | while read -l line
        switch $line
            case '[*'
                test "$line" = '[bind_profiles]'; and set in_profiles 1; or set in_profiles 0
            case '*=*'
                test $in_profiles = 1; and string replace -r -- '\s*=.*' '' $line
        end
    end
end

function __kakuri_images
    set -l kakuri (__kakuri_bin)
    command $kakuri (__kakuri_config) image list -q 2>/dev/null
end

function __kakuri_containers
    set -l kakuri (__kakuri_bin)
    command $kakuri (__kakuri_config) list -q 2>/dev/null
end

set -l caps ALL AUDIT_CONTROL AUDIT_READ AUDIT_WRITE BLOCK_SUSPEND BPF \
    CHECKPOINT_RESTORE CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER FSETID IPC_LOCK \
    IPC_OWNER KILL LEASE LINUX_IMMUTABLE MAC_ADMIN MAC_OVERRIDE MKNOD NET_ADMIN \
    NET_BIND_SERVICE NET_BROADCAST NET_RAW PERFMON SETFCAP SETGID SETPCAP SETUID \
    SYSLOG SYS_ADMIN SYS_BOOT SYS_CHROOT SYS_MODULE SYS_NICE SYS_PACCT SYS_PTRACE \
    SYS_RAWIO SYS_RESOURCE SYS_TIME SYS_TTY_CONFIG WAKE_ALARM

complete -c kakuri -f

# Run options: before the command, after `config`, after `create` before NAME.
set -l opt complete -c kakuri -n "__kakuri_at first 'run 0' 'config *' 'create 0'"
$opt -l allow-network -d "share the host's network (same as --network=host)"
$opt -l network -x -a 'none host private private,host-loopback' -d "none: only lo; host: the host's; private: its own, through pasta"
$opt -s p -l publish -x -d 'forward [HOSTIP:]HOSTPORT to PORT inside (implies --network=private)'
$opt -l dns -x -d "a private network's DNS server"
$opt -l bind -r -F -d 'bind-mount SRC[:DST][:ro] at DST (default: the same path)'
$opt -l ro-bind -r -F -d 'bind-mount SRC[:DST] read-only'
$opt -l overlay -x -a '(__fish_complete_directories (commandline -ct))' -d 'show SRC[:DST] copy-on-write, writes kept as a change set'
$opt -l bind-profile -x -a '(__kakuri_profiles)' -d 'add the binds of a profile from the config'
$opt -l auto-mount -x -a 'rw ro off' -d 'mount path arguments at the same path'
$opt -l user -d 'run as your own uid/gid inside instead of root'
$opt -l hostname -x -d "the container's hostname (default: kakuri)"
$opt -l rootfs -x -a '(__fish_complete_directories (commandline -ct))' -d 'use DIR as the root filesystem, under an overlay'
$opt -l image -x -a '(__kakuri_images)' -d 'use an imported image as the root filesystem'
$opt -l userns -d 'as real root: a user namespace whose root is not host root'
$opt -l subids -d 'also map ids 1..65536 inside to your subordinate ids'
$opt -s e -l env -x -a '(set -xn)' -d "set K=V inside (K alone: copy the caller's value)"
$opt -l unsetenv -x -a '(set -xn)' -d 'remove K from the environment'
$opt -l clearenv -d 'start from an empty environment'
$opt -s w -l workdir -x -a '(__fish_complete_directories (commandline -ct))' -d 'working directory inside'
$opt -l seccomp -x -a 'default off' -d 'the default syscall filter, or none'
$opt -l cap-add -x -a "$caps" -d 'give root inside this capability too'
$opt -l cap-drop -x -a "$caps" -d 'take this capability from root inside'
$opt -l tmpfs-size -x -d 'what the in-memory writable layers may hold together (512M, 1.5G)'
$opt -l memory -x -d 'the memory the container may use (512M, 1.5G)'
$opt -l pids-limit -x -d 'at most N processes and threads inside'
$opt -l cpus -x -d "at most this many CPUs' time (0.5, 2)"
$opt -l config -r -F -d 'read this config file instead of the default one'
$opt -l dry-run -d 'print the container plan and exit'
$opt -s v -l verbose -d 'say what is set up'
$opt -s q -l quiet -d 'say nothing but errors'
$opt -s h -l help -d 'show the help'
$opt -l version -d 'show the version'

# The first word: a subcommand or the command; after `--`: the command.
complete -c kakuri -n "__kakuri_at first" -a '(string join \n -- $__kakuri_subcommands)'
complete -c kakuri -n "__kakuri_at first 'run 0' 'run command' 'start 1' 'exec 1' 'export 2'" -a '(__fish_complete_command)'
complete -c kakuri -n "__kakuri_at 'args *'" -a '(__kakuri_complete_args)'

# Persistent containers.
complete -c kakuri -n "__kakuri_at 'start 0' 'exec 0' 'shell 0' 'stop *' 'inspect 0' 'logs 0' 'remove *'" -a '(__kakuri_containers)' -d container
complete -c kakuri -n "__kakuri_at 'start 0' 'exec 0' 'shell 0' 'stop 0' 'list 0' 'inspect 0' 'logs 0' 'remove 0'" -s h -l help -d 'show the help'
complete -c kakuri -n "__kakuri_at 'start 0'" -s d -l detach -d 'run in the background'
complete -c kakuri -n "__kakuri_at 'exec 0'" -s u -l user -d 'run as yourself'
complete -c kakuri -n "__kakuri_at 'exec 0'" -s w -l workdir -x -a '(__fish_complete_directories (commandline -ct))' -d 'working directory'
complete -c kakuri -n "__kakuri_at 'exec 0'" -s e -l env -x -a '(set -xn)' -d "set K=V (K alone: pass yours)"
complete -c kakuri -n "__kakuri_at 'stop 0'" -s t -l time -x -d 'seconds before SIGKILL (default 10)'
complete -c kakuri -n "__kakuri_at 'list 0'" -l json -d 'as JSON'
complete -c kakuri -n "__kakuri_at 'list 0'" -l format -x -a 'json table' -d 'output format'
complete -c kakuri -n "__kakuri_at 'list 0'" -s q -l quiet -d 'names only'
complete -c kakuri -n "__kakuri_at 'inspect 0'" -l json -d 'as one JSON object'
complete -c kakuri -n "__kakuri_at 'logs 0'" -s f -l follow -d 'follow until the container stops'
complete -c kakuri -n "__kakuri_at 'remove 0'" -s f -l force -d 'stop a running container first'
complete -c kakuri -n "__kakuri_at 'commit 0'" -a '(__kakuri_containers)' -d container
complete -c kakuri -n "__kakuri_at 'commit *'" -s q -l quiet -d 'print nothing but errors'
complete -c kakuri -n "__kakuri_at 'commit 0'" -s h -l help -d 'show the help'
complete -c kakuri -n "__kakuri_at 'export 0'" -a '(__kakuri_containers)' -d container
complete -c kakuri -n "__kakuri_at 'export 0'" -l bundle -d 'an OCI runtime bundle: config.json and rootfs'
complete -c kakuri -n "__kakuri_at 'export 0'" -s t -l tty -d 'the process gets a terminal'
complete -c kakuri -n "__kakuri_at 'export 0'" -s q -l quiet -d 'print nothing but errors'
complete -c kakuri -n "__kakuri_at 'export 0'" -s h -l help -d 'show the help'
complete -c kakuri -n "__kakuri_at 'export 1'" -a '(__fish_complete_directories (commandline -ct))' -d 'bundle directory to make'

# Change sets (--overlay): ids from `kakuri changes -q`.
function __kakuri_change_sets
    set -l kakuri (__kakuri_bin)
    command $kakuri (__kakuri_config) changes -q 2>/dev/null
end
complete -c kakuri -n "__kakuri_at 'changes 0' 'apply 0' 'discard *'" -a '(__kakuri_change_sets)' -d 'change set'
complete -c kakuri -n "__kakuri_at 'apply *'; and not __kakuri_at 'apply 0'" -F
complete -c kakuri -n "__kakuri_at 'changes 0' 'apply 0' 'discard 0'" -s h -l help -d 'show the help'
complete -c kakuri -n "__kakuri_at 'changes 0'" -l json -d 'as JSON'
complete -c kakuri -n "__kakuri_at 'changes 0'" -l format -x -a 'json' -d 'output format'
complete -c kakuri -n "__kakuri_at 'changes 0'" -s q -l quiet -d 'ids only'
complete -c kakuri -n "__kakuri_at 'changes 0'" -l diff -d 'a unified diff of text files'
complete -c kakuri -n "__kakuri_at 'apply *'" -s f -l force -d "overwrite the host's versions changed since"

# Images: the action, then import's SOURCE (a file) or images; export's IMAGE, then its FILE.
complete -c kakuri -n "__kakuri_at 'image 0'" -a 'import pull export list inspect remove'
complete -c kakuri -n "__kakuri_at 'image 1'; and __fish_seen_subcommand_from import" -F
complete -c kakuri -n "__kakuri_at 'image 2'; and __fish_seen_subcommand_from export" -F
complete -c kakuri -n "__kakuri_at 'image *'; and not __fish_seen_subcommand_from import pull list export" -a '(__kakuri_images)' -d image
complete -c kakuri -n "__kakuri_at 'image 1'; and __fish_seen_subcommand_from export" -a '(__kakuri_images)' -d image
complete -c kakuri -n "__kakuri_at 'image *'" -l format -x -a 'oci docker dir' -d 'export: an OCI archive, a docker load archive or an OCI layout directory'
complete -c kakuri -n "__kakuri_at 'image *'" -s h -l help -d 'show the help'
complete -c kakuri -n "__kakuri_at 'image *'" -l subids -d 'import, pull: unpack with your subordinate ids'
complete -c kakuri -n "__kakuri_at 'image *'" -s q -l quiet -d 'import, pull, export: say nothing but errors; list: names only'
complete -c kakuri -n "__kakuri_at 'image *'" -s v -l verbose -d 'import, pull: also say what was skipped'
complete -c kakuri -n "__kakuri_at 'image *'" -l tls-verify -x -a 'true false' -d "pull: verify the registry's TLS"
complete -c kakuri -n "__kakuri_at 'image *'" -l json -d 'list: as JSON'
complete -c kakuri -n "__kakuri_at 'image *'" -s f -l force -d 'remove: even while a container uses it'
complete -c kakuri -n "__kakuri_at 'help 0'" -a '(string join \n -- $__kakuri_subcommands)'
