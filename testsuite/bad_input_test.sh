#!/bin/bash
# bad_input_test.sh EMBER STATIC_ELF CASE: gives ember one kind of bad input and checks that it
# answers like a tool should: a non-zero exit status that is not 128+N (dying of signal N, N <= 64),
# within 10 seconds, with exactly one line on stderr that names the file (or the option), and nothing
# on stdout. STATIC_ELF is a working static x86-64 program that some cases copy and damage.
set -u

if [ $# -ne 3 ]; then
    echo "usage: bad_input_test.sh EMBER STATIC_ELF CASE" >&2
    exit 2
fi
abspath() {
    case $1 in
    /*) printf '%s\n' "$1" ;;
    *) printf '%s/%s\n' "$PWD" "$1" ;;
    esac
}
ember=$(abspath "$1")
good=$(abspath "$2")
name=$3

work=${TEST_TMPDIR:-$(mktemp -d)}/bad-input
rm -rf "$work"
mkdir -p "$work"
cd "$work" || exit 99

# patch FILE OFFSET HEXBYTES: overwrites bytes in place, e.g. patch f 18 b700 (little-endian 183).
patch() {
    printf "$(printf '%s' "$3" | sed 's/../\\x&/g')" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

args=()
expect_name=      # what the error line must mention
one_line=1
case $name in
missing)
    target=$work/no-such-program
    ;;
directory)
    mkdir "$work/a-directory"
    target=$work/a-directory
    ;;
not_elf)
    # Plain text (no "#!": a script line would legitimately send ember to the named interpreter).
    printf 'this is text, not ELF\nsecond line\n' >"$work/text-file"
    chmod 755 "$work/text-file"
    target=$work/text-file
    ;;
empty)
    : >"$work/empty-file"
    chmod 755 "$work/empty-file"
    target=$work/empty-file
    ;;
truncated)
    head -c 100 /bin/true >"$work/truncated-true"
    chmod 755 "$work/truncated-true"
    target=$work/truncated-true
    ;;
bad_phoff)
    # e_phoff (offset 32, 8 bytes) far beyond the end of the file.
    cp /bin/true "$work/bad-phoff"
    chmod 755 "$work/bad-phoff"
    patch "$work/bad-phoff" 32 00000000ffff0000
    target=$work/bad-phoff
    ;;
bad_segment)
    # The first program header's p_offset (phdr + 8) beyond the end of the file.
    cp "$good" "$work/bad-segment"
    chmod 755 "$work/bad-segment"
    patch "$work/bad-segment" 72 00000000ff000000
    target=$work/bad-segment
    ;;
wrong_machine)
    # e_machine (offset 18, 2 bytes) = 183, EM_AARCH64.
    cp "$good" "$work/aarch64-program"
    chmod 755 "$work/aarch64-program"
    patch "$work/aarch64-program" 18 b700
    target=$work/aarch64-program
    ;;
elf32)
    # EI_CLASS (offset 4) = ELFCLASS32.
    cp "$good" "$work/elf32-program"
    chmod 755 "$work/elf32-program"
    patch "$work/elf32-program" 4 01
    target=$work/elf32-program
    ;;
not_executable)
    cp "$good" "$work/no-exec-bit"
    chmod 644 "$work/no-exec-bit"
    target=$work/no-exec-bit
    ;;
unknown_option)
    target=-nonsense
    args=(/bin/true)
    expect_name=nonsense # "-nonsense" or "'nonsense'" both name it
    ;;
no_program)
    # No program at all: a usage message may take several lines; it must still fail cleanly.
    target=
    one_line=0
    ;;
*)
    echo "bad_input_test.sh: no case '$name'" >&2
    exit 2
    ;;
esac
[ -z "$expect_name" ] && expect_name=$target

cmd=("$ember")
[ -n "$target" ] && cmd+=("$target")
cmd+=("${args[@]}")
timeout -k 5 10 "${cmd[@]}" </dev/null >"$work/out" 2>"$work/err"
status=$?
lines=$(wc -l <"$work/err")

echo "command: ${cmd[*]}"
echo "exit status: $status"
echo "stderr ($lines lines):"
head -20 "$work/err"
fail=0
if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
    echo "FAIL: ember hung (killed after 10 s)"
    fail=1
elif [ "$status" -gt 128 ] && [ "$status" -le 192 ]; then
    echo "FAIL: ember crashed: killed by signal $((status - 128)) ($(kill -l $((status - 128)) 2>/dev/null))"
    fail=1
elif [ "$status" -eq 0 ]; then
    echo "FAIL: exit status 0 for bad input"
    fail=1
fi
if [ "$one_line" = 1 ] && [ "$lines" -ne 1 ]; then
    echo "FAIL: expected exactly one line on stderr, got $lines"
    fail=1
fi
if [ "$lines" -eq 0 ] && ! [ -s "$work/err" ]; then
    echo "FAIL: nothing on stderr"
    fail=1
fi
if [ -n "$expect_name" ] && ! grep -q -F -e "$expect_name" "$work/err" &&
    ! grep -q -F -e "$(basename -- "$expect_name")" "$work/err"; then
    echo "FAIL: the error does not name '$expect_name'"
    fail=1
fi
if [ -s "$work/out" ]; then
    echo "FAIL: bad input produced output on stdout:"
    head -5 "$work/out"
    fail=1
fi
[ $fail = 0 ] && echo "PASS: $name"
exit $fail
