# bash completion for kakuri(1)                            -*- shell-script -*-
#
# Works with and without the bash-completion package: with it, the arguments of
# the contained command are completed by that command's own completion
# (_command_offset); without it, by file names.
#
# The options and subcommands below must match `kakuri --help`
# (tests/docs/test_drift.py checks it).

# Subcommands: only as the first word.
_kakuri_subcommands="create start exec shell stop list inspect logs remove commit export changes apply discard image config help"

# Run options (kakuri, create, config) that take a value, and those that do not.
_kakuri_opts_value="--network= -p --publish --dns --bind --ro-bind --overlay --bind-profile --auto-mount=
    --hostname --rootfs --image -e --env --unsetenv -w --workdir --seccomp= --cap-add --cap-drop
    --config --tmpfs-size --memory --pids-limit --cpus"
_kakuri_opts_flag="--allow-network --user --userns --subids --clearenv --dry-run -v --verbose
    -q --quiet -h --help --version"

_kakuri_caps="ALL AUDIT_CONTROL AUDIT_READ AUDIT_WRITE BLOCK_SUSPEND BPF
    CHECKPOINT_RESTORE CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER FSETID IPC_LOCK
    IPC_OWNER KILL LEASE LINUX_IMMUTABLE MAC_ADMIN MAC_OVERRIDE MKNOD NET_ADMIN
    NET_BIND_SERVICE NET_BROADCAST NET_RAW PERFMON SETFCAP SETGID SETPCAP SETUID
    SYSLOG SYS_ADMIN SYS_BOOT SYS_CHROOT SYS_MODULE SYS_NICE SYS_PACCT SYS_PTRACE
    SYS_RAWIO SYS_RESOURCE SYS_TIME SYS_TTY_CONFIG WAKE_ALARM"

# Does option $1 (as typed, without "=VALUE") take a value, among the options $2?
_kakuri_takes_value() {
    local o
    for o in $2; do
        [[ $1 == "${o%=}" ]] && return 0
        # Bundled short options: -ve K=V, -uw DIR.
        [[ $o == -? && $1 == -[!-]* && $1 == *"${o#-}" ]] && return 0
    done
    return 1
}

# Profile names from `kakuri config` (the lines after its [bind_profiles] header).
# $@: options for it (--config FILE).
_kakuri_profiles() {
    local line in_profiles=0
    while IFS= read -r line; do
        case $line in
            '['*) [[ $line == '[bind_profiles]' ]] && in_profiles=1 || in_profiles=0 ;;
            [A-Za-z0-9_.-]*=*) ((in_profiles)) && printf '%s\n' "${line%%[ =]*}" ;;
        esac
    done < <("$kakuri" config "$@" 2>/dev/null)
}

# Image names from `kakuri image list -q`; $@: options for kakuri (--config FILE).
_kakuri_images() {
    "$kakuri" "$@" image list -q 2>/dev/null
}

_kakuri_files() { # $1: -d for directories only
    if declare -F _filedir >/dev/null; then
        _filedir $1
    else
        local IFS=$'\n'
        compopt -o filenames 2>/dev/null
        COMPREPLY=($(compgen ${1:--f} -- "$cur"))
    fi
}

# Complete the value of option $1 ($cur: the part of it being typed); the rest:
# options for `kakuri config` (--config FILE).
_kakuri_value() {
    local opt=$1
    shift
    case $opt in
        --network) COMPREPLY=($(compgen -W "none host private private,host-loopback" -- "$cur")) ;;
        -p | --publish | --dns | -[!-]*p) ;; # [HOSTIP:]HOSTPORT:PORT[/tcp|/udp], an address
        --auto-mount) COMPREPLY=($(compgen -W "rw ro off" -- "$cur")) ;;
        --seccomp) COMPREPLY=($(compgen -W "default off" -- "$cur")) ;;
        --format)
            # image export's formats; list's and changes' output formats.
            if [[ $sub == image ]]; then
                COMPREPLY=($(compgen -W "oci docker dir" -- "$cur"))
            else
                COMPREPLY=($(compgen -W "json table" -- "$cur"))
            fi
            ;;
        --bind-profile) COMPREPLY=($(compgen -W "$(_kakuri_profiles "$@")" -- "$cur")) ;;
        --cap-add | --cap-drop)
            COMPREPLY=($(compgen -W "$_kakuri_caps" -- "$cur"))
            [[ ${#COMPREPLY[@]} -eq 0 ]] && COMPREPLY=($(compgen -W "${_kakuri_caps,,}" -- "$cur"))
            ;;
        --image) COMPREPLY=($(compgen -W "$(_kakuri_images "$@")" -- "$cur")) ;;
        --bind | --ro-bind | --config) _kakuri_files ;;
        --overlay) _kakuri_files -d ;;
        -w | --workdir | --rootfs | -[!-]*w) _kakuri_files -d ;;
        --unsetenv) COMPREPLY=($(compgen -e -- "$cur")) ;;
        -e | --env | -[!-]*e)
            # K=V or K: the names of the caller's variables, then the user types on.
            COMPREPLY=($(compgen -e -- "$cur"))
            compopt -o nospace 2>/dev/null
            ;;
        *) COMPREPLY=() ;; # --hostname, --tmpfs-size, --memory, --pids-limit, --cpus, -t: free text
    esac
}

# Complete the contained command and its arguments; $1: the words[] index
# where the command starts.
_kakuri_command() {
    local at=${starts[$1]}
    if declare -F _command_offset >/dev/null; then
        _command_offset "$at"
    elif [[ $at -eq $COMP_CWORD ]]; then
        COMPREPLY=($(compgen -c -- "$cur"))
    else
        _kakuri_files
    fi
}

_kakuri() {
    local cur=${COMP_WORDS[COMP_CWORD]} kakuri=kakuri
    # bash splits words at COMP_WORDBREAKS (= and : among them): `--network=ho`
    # arrives as "--network" "=" "ho". Join such pieces into the words kakuri
    # will see, remembering where each starts, to know what is being completed.
    local -a words=() starts=()
    local i w glue=0
    for ((i = 0; i <= COMP_CWORD; i++)); do
        w=${COMP_WORDS[i]}
        if [[ ${#words[@]} -gt 0 && ($glue -eq 1 || $w == [=:]*) ]]; then
            words[${#words[@]} - 1]+=$w
        else
            words+=("$w")
            starts+=("$i")
        fi
        [[ $w == *[=:] ]] && glue=1 || glue=0
    done
    local n=$((${#words[@]} - 1)) # words[n]: the word under the cursor
    # The text readline replaces is the last piece, after any = or :.
    [[ -z ${cur//[=:]/} ]] && cur=""
    [[ ${COMP_WORDS[0]} == */* && -x ${COMP_WORDS[0]} ]] && kakuri=${COMP_WORDS[0]}

    # What the subcommand takes: options with and without a value; what its
    # operands are ("names": containers, "name command": a container, then a
    # command; "run": the command of a temporary container).
    local sub="" value_opts=$_kakuri_opts_value flag_opts=$_kakuri_opts_flag operands=run optmax=0
    # `kakuri --config FILE SUBCOMMAND`: the global option, then the subcommand at words[at].
    local -a cfg=()
    local at=1
    while ((at + 1 < n)); do
        case ${words[at]} in
            --config) cfg=(--config "${words[at + 1]/#\~\//$HOME/}"); at=$((at + 2)) ;;
            --config=*) w=${words[at]#--config=}; cfg=(--config "${w/#\~\//$HOME/}"); at=$((at + 1)) ;;
            *) break ;;
        esac
    done
    if ((n > at)) && [[ " $_kakuri_subcommands " == *" ${words[at]} "* ]]; then
        sub=${words[at]}
        case $sub in
            create) operands=new ;;
            config) operands=none ;;
            start) value_opts="" flag_opts="-d --detach" operands="name command" ;;
            exec) value_opts="-w --workdir -e --env" flag_opts="-u --user" operands="name command" ;;
            shell) value_opts="" flag_opts="" operands=name ;;
            stop) value_opts="-t --time" flag_opts="" operands=names ;;
            list) value_opts="--format=" flag_opts="--json -q --quiet" operands=none ;;
            inspect) value_opts="" flag_opts="--json" operands=name ;;
            logs) value_opts="" flag_opts="-f --follow" operands=name ;;
            remove) value_opts="" flag_opts="-f --force" operands=names ;;
            commit) value_opts="" flag_opts="-q --quiet" operands=commit ;;
            export) value_opts="" flag_opts="--bundle -t --tty -q --quiet" operands=export ;;
            changes) value_opts="--format=" flag_opts="--json -q --quiet --diff" operands=changeset ;;
            apply) value_opts="" flag_opts="-f --force" operands=apply ;;
            discard) value_opts="" flag_opts="" operands=changesets ;;
            image) value_opts="--tls-verify= --format=" flag_opts="--subids -q --quiet -v --verbose --json -f --force"
                operands=image optmax=1 ;; # options also after the action, before its operands
            help) value_opts="" flag_opts="" operands=subcommand ;;
        esac
        [[ $sub == config || $sub == create ]] || flag_opts+=" -h --help"
    fi

    # Walk the words before the cursor: options (with their values), then operands.
    local pending="" count=0 dashdash=0 from=1
    [[ -n $sub ]] && from=$((at + 1)) || cfg=()
    for ((i = from; i < n; i++)); do
        w=${words[i]}
        if [[ -n $pending ]]; then
            [[ $pending == --config ]] && cfg=(--config "${w/#\~\//$HOME/}")
            pending=""
            continue
        fi
        if ((count <= optmax && !dashdash)); then
            case $w in
                --) dashdash=1; continue ;;
                --config=*) w=${w#--config=}; cfg=(--config "${w/#\~\//$HOME/}"); continue ;;
                --*=*) continue ;;
                -?*) _kakuri_takes_value "$w" "$value_opts" && pending=$w; continue ;;
            esac
        fi
        # An operand. The command (and what follows) is the command's to complete.
        count=$((count + 1))
        if [[ $operands == run || ($operands == "name command" && $count -eq 2) ||
            ($operands == export && $count -eq 3) ]]; then
            _kakuri_command "$i"
            return 0
        fi
    done

    w=${words[n]}
    if [[ -n $pending ]]; then
        _kakuri_value "$pending" "${cfg[@]}"
    elif ((count <= optmax && !dashdash)) && [[ $w == --*=* ]]; then
        # --opt=VALUE in one word (COMP_WORDBREAKS without '='): keep the --opt= part.
        local opt=${w%%=*}
        if [[ ${COMP_WORDS[COMP_CWORD]} == "$w" ]]; then
            cur=${w#*=}
            _kakuri_value "$opt" "${cfg[@]}"
            COMPREPLY=("${COMPREPLY[@]/#/$opt=}")
        else
            _kakuri_value "$opt" "${cfg[@]}"
        fi
    elif ((count <= optmax && !dashdash)) && [[ $w == -* ]]; then
        COMPREPLY=($(compgen -W "$value_opts $flag_opts" -- "$w"))
        [[ ${COMPREPLY[*]} == *= ]] && compopt -o nospace 2>/dev/null
    else
        case "$operands:$count" in
            run:0)
                COMPREPLY=($(compgen -c -- "$cur"))
                # A subcommand only as the very first word (after --config FILE).
                ((n == at)) && COMPREPLY+=($(compgen -W "$_kakuri_subcommands" -- "$cur"))
                ;;
            name:0 | names:* | "name command":0)
                COMPREPLY=($(compgen -W "$("$kakuri" "${cfg[@]}" list -q 2>/dev/null)" -- "$cur"))
                ;;
            "name command":1) _kakuri_command "$n" ;;
            commit:0 | export:0)
                COMPREPLY=($(compgen -W "$("$kakuri" "${cfg[@]}" list -q 2>/dev/null)" -- "$cur"))
                ;;
            export:1) _kakuri_files ;; # DIR, the bundle to make
            export:2) _kakuri_command "$n" ;;
            changeset:0 | changesets:* | apply:0)
                # Change set ids, from `kakuri changes -q`.
                COMPREPLY=($(compgen -W "$("$kakuri" "${cfg[@]}" changes -q 2>/dev/null)" -- "$cur"))
                ;;
            apply:*) _kakuri_files ;; # PATHs under the change set's SRC
            image:0) COMPREPLY=($(compgen -W "import pull export list inspect remove" -- "$cur")) ;;
            image:*)
                # import's SOURCE is a file or directory; pull's REF is a registry's (nothing
                # to offer); export takes an image, then its FILE; inspect and remove take images.
                if [[ " ${words[*]:at+1:n-at-1} " == *" import "* ]]; then
                    _kakuri_files
                elif [[ " ${words[*]:at+1:n-at-1} " == *" export "* ]] && ((count > 1)); then
                    _kakuri_files
                elif [[ " ${words[*]:at+1:n-at-1} " == *" pull "* ]]; then
                    COMPREPLY=()
                else
                    COMPREPLY=($(compgen -W "$(_kakuri_images "${cfg[@]}")" -- "$cur"))
                fi
                ;;
            subcommand:0) COMPREPLY=($(compgen -W "$_kakuri_subcommands" -- "$cur")) ;;
        esac
    fi
    return 0
}

complete -F _kakuri kakuri
