#!/bin/bash
# options_test.sh EMBER GUEST_PROGRAM CASE: ember's qemu-compatible options, each checked against the
# native run it stands for: -E/-U change the guest's environment like env(1) would, -0 sets argv[0]
# like `exec -a`, -L takes the ELF interpreter from a sysroot, and the diagnostic options (-strace,
# -d/-D, -s, -backend interp) leave the guest's own output alone while doing their job. -strace must
# follow the guest through execve (the new program runs under ember with the same options).
# GUEST_PROGRAM is any program in //testsuite/guest: the others are found beside it.
set -u

if [ $# -ne 3 ]; then
    echo "usage: options_test.sh EMBER GUEST_PROGRAM CASE" >&2
    exit 2
fi
abspath() {
    case $1 in
    /*) printf '%s\n' "$1" ;;
    *) printf '%s/%s\n' "$PWD" "$1" ;;
    esac
}
ember=$(abspath "$1")
guest_dir=$(dirname "$(abspath "$2")")
args_prog=$guest_dir/args_static
hello=$guest_dir/hello_static
name=$3
work=${TEST_TMPDIR:-$(mktemp -d)}/options
rm -rf "$work"
mkdir -p "$work/run"
cd "$work/run" || exit 99
base_env=(PATH=/usr/bin:/bin HOME=/home/guest LC_ALL=C TZ=UTC0)

# native CMD... / emulated CMD...: run with the base environment, saving out/err/status.
native() {
    timeout -k 5 60 env -i "${base_env[@]}" "$@" >"$work/native.out" 2>"$work/native.err"
    echo $? >"$work/native.status"
}
ember_env=() # EMBER_* settings for ember itself
emulated() {
    timeout -k 5 120 env -i "${base_env[@]}" "${ember_env[@]}" "$ember" "$@" >"$work/ember.out" 2>"$work/ember.err"
    echo $? >"$work/ember.status"
}

fail=0
# same_stdout [args|sorted]: stdout and exit status agree. args: compare only the argc/argv/envp lines
# of the args program (the rest is guest_args' business); sorted: as sets of argv/envp lines with
# envp indexes dropped, for -E/-U whose placement of a changed variable in envp is not specified.
same_stdout() {
    if [ "${1:-}" = args ] || [ "${1:-}" = sorted ]; then
        local g
        for g in native ember; do
            grep -E '^(argc|argv|envp)' "$work/$g.out" >"$work/$g.args"
            mv "$work/$g.args" "$work/$g.out"
        done
    fi
    if [ "${1:-}" = sorted ]; then
        local f
        for f in native ember; do
            sed 's/^envp\[[0-9]*\]=/envp[]=/' "$work/$f.out" | sort >"$work/$f.sorted"
            mv "$work/$f.sorted" "$work/$f.out"
        done
    fi
    if ! cmp -s "$work/native.out" "$work/ember.out"; then
        echo "FAIL: stdout differs (- native, + ember):"
        diff -u "$work/native.out" "$work/ember.out" | head -60
        fail=1
    fi
    if [ "$(cat "$work/native.status")" != "$(cat "$work/ember.status")" ]; then
        echo "FAIL: exit status native $(cat "$work/native.status"), ember $(cat "$work/ember.status")"
        fail=1
    fi
}
expect() { # expect DESCRIPTION COMMAND...: COMMAND must succeed
    local what=$1
    shift
    if ! "$@"; then
        echo "FAIL: $what"
        fail=1
    fi
}

case $name in
set_env)
    native env NEW_VAR=value HOME=/elsewhere "$args_prog" x
    emulated -E NEW_VAR=value -E HOME=/elsewhere "$args_prog" x
    same_stdout sorted
    ;;
unset_env)
    native env -u HOME "$args_prog"
    emulated -U HOME "$args_prog"
    same_stdout sorted
    ;;
argv0)
    # perl's exec with an indirect object sets argv[0] and passes the environment untouched.
    native /usr/bin/perl -e 'exec { $ARGV[0] } "renamed-program", @ARGV[1 .. $#ARGV] or exit 127' \
        "$args_prog" one
    emulated -0 renamed-program "$args_prog" one
    same_stdout args
    ;;
strace)
    native "$hello"
    emulated -strace "$hello"
    same_stdout
    expect "-strace shows the write" grep -q 'write(1' "$work/ember.err"
    expect "-strace shows exit_group" grep -q 'exit_group' "$work/ember.err"
    ;;
env_strace)
    # The EMBER_* variables are the options' second spelling.
    native "$hello"
    ember_env=(EMBER_STRACE=1)
    emulated "$hello"
    same_stdout
    expect "EMBER_STRACE=1 shows the write" grep -q 'write(1' "$work/ember.err"
    ;;
env_set_env)
    ember_env=(EMBER_SET_ENV=NEW_VAR=value)
    emulated "$args_prog"
    expect "EMBER_SET_ENV puts NEW_VAR in the guest environment" grep -q '^envp\[[0-9]*\]="NEW_VAR=value"$' \
        "$work/ember.out"
    expect "the guest runs normally" test "$(cat "$work/ember.status")" = 0
    ;;
strace_exec)
    native "$guest_dir/forkexec_static"
    emulated -strace "$guest_dir/forkexec_static"
    same_stdout
    expect "-strace shows the execve" grep -q 'execve(' "$work/ember.err"
    expect "-strace follows into the exec'd hello (its write is traced)" grep -q 'hello, world' "$work/ember.err"
    ;;
sysroot)
    # A sysroot whose "ld-linux" is our libc-free static-pie program: if ember takes the interpreter
    # from -L, the dynamic hello prints that program's line instead of its own.
    mkdir -p "$work/root/lib64"
    cp "$guest_dir/asm_hello_static_pie" "$work/root/lib64/ld-linux-x86-64.so.2"
    echo "hello from assembly, no libc" >"$work/native.out"
    echo 0 >"$work/native.status"
    emulated -L "$work/root" "$guest_dir/hello_dynamic"
    same_stdout
    ;;
log)
    native "$hello"
    emulated -d in_asm -D "$work/ember.log" "$hello"
    same_stdout
    expect "-D wrote a log" test -s "$work/ember.log"
    ;;
perfmap)
    # The map is named after ember's pid, which is the guest's: a shell records its pid, then becomes ember.
    native "$hello"
    timeout -k 5 120 env -i "${base_env[@]}" sh -c 'echo $$ >"$1"; exec "$2" -perfmap "$3"' sh "$work/pid" \
        "$ember" "$hello" >"$work/ember.out" 2>"$work/ember.err"
    echo $? >"$work/ember.status"
    same_stdout
    map=/tmp/perf-$(cat "$work/pid").map
    expect "-perfmap wrote $map" test -s "$map"
    expect "every line of $map is 'start size guest_pc' in hex" \
        sh -c '! grep -vqE "^[0-9a-f]+ [0-9a-f]+ guest_[0-9a-f]+\$" "$1"' sh "$map"
    entry=$(od -An -j24 -N8 -tx8 "$hello" | tr -d ' ' | sed 's/^0*//')
    expect "$map names the block at the entry point (0x$entry)" grep -q " guest_$entry\$" "$map"
    rm -f "$map"
    ;;
stack_size)
    native "$args_prog"
    emulated -s 16M "$args_prog"
    same_stdout args
    ;;
backend_interp)
    native "$hello"
    emulated -backend interp "$hello"
    same_stdout
    ;;
version)
    emulated -version
    expect "-version exits 0" test "$(cat "$work/ember.status")" = 0
    expect "-version prints something" test -s "$work/ember.out" -o -s "$work/ember.err"
    ;;
help)
    emulated -h
    expect "-h exits 0" test "$(cat "$work/ember.status")" = 0
    expect "-h mentions -strace" grep -q -e -strace "$work/ember.out" "$work/ember.err"
    ;;
*)
    echo "options_test.sh: no case '$name'" >&2
    exit 2
    ;;
esac
echo "--- ember stderr (first 20 lines):"
head -20 "$work/ember.err"
[ $fail = 0 ] && echo "PASS: $name"
exit $fail
