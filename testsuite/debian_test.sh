#!/bin/bash
# debian_test.sh EMBER CASE: runs one small workload of Debian's own programs (coreutils, dash, bash,
# busybox, gzip, tar, python3, perl, git, gcc) natively and then with every program started under
# EMBER, and compares stdout, stderr and the exit statuses. Children that those programs start (bash
# running seq, tar running gzip, gcc running cc1/as/ld) go through the guest's execve, so they run
# under ember too.
#
# Each case is a function case_NAME below; it starts programs only through `r` (run and print the
# exit status on stdout) or `run` (run only: for pipelines and redirected output), which prefix
# EMBER in the second pass.
# Both passes run in the same freshly created directory with the same fixture files (fixed contents
# and timestamps) and the same environment (env -i plus the variables in guest_env).
set -u

if [ $# -ne 2 ]; then
    echo "usage: debian_test.sh EMBER CASE" >&2
    exit 2
fi
case $1 in
/*) ember=$1 ;;
*) ember=$PWD/$1 ;;
esac
name=$2
limit=${DEBIAN_TEST_TIMEOUT:-300}

work=${TEST_TMPDIR:-$(mktemp -d)}/debian
rm -rf "$work"
mkdir -p "$work"
run_dir=$work/run
guest_env=(PATH=/usr/bin:/bin HOME="$run_dir" LC_ALL=C TZ=UTC0 TERM=dumb)
RUN=()

run() {
    timeout -k 5 "$limit" env -i "${guest_env[@]}" "${RUN[@]}" "$@"
}

r() {
    run "$@"
    echo "[exit $?]"
}

# Deterministic files: text, a word list, 256 KiB of pseudo-random bytes, a subdirectory, a symlink,
# an empty file and an executable script, all with fixed modes and timestamps.
make_fixture() {
    rm -rf "$run_dir"
    mkdir -p "$run_dir/fixture/sub" "$run_dir/out"
    cd "$run_dir" || exit 99
    umask 022
    printf 'alpha\nbeta\ngamma\n' >fixture/a.txt
    printf 'one two three\nfour five\n\nsix\n' >fixture/b.txt
    printf 'in a subdirectory\n' >fixture/sub/c.txt
    : >fixture/empty
    printf '#!/bin/sh\necho script ran\n' >fixture/script.sh
    chmod 755 fixture/script.sh
    ln -s a.txt fixture/link
    awk 'BEGIN { x = 12345; for (i = 0; i < 5000; i++) { x = (x * 1103515245 + 12345) % 2147483648;
         printf "%d word%d\n", x % 100000, x % 977 } }' >fixture/words.txt
    awk 'BEGIN { x = 7; for (i = 0; i < 65536; i++) { x = (x * 1103515245 + 12345) % 2147483648;
         printf "%c%c%c%c", 65 + x % 26, 97 + (x / 26) % 26, 48 + (x / 676) % 10, 32 + (x / 6760) % 95 } }' \
        >fixture/big.bin
    find fixture -exec touch -h -d @1000000000 {} +
    touch -d @1000000000 fixture "$run_dir"
}

case_echo() {
    r /bin/echo hello "two  words" -n 'tab	here'
    r /bin/echo -e 'a\tb\\n'
}

case_ls() {
    r /bin/ls -la --time-style=+%s fixture
    r /bin/ls -R fixture
    r /bin/ls -l --time-style=+%s fixture/does-not-exist
}

case_cat() {
    r /bin/cat fixture/a.txt fixture/b.txt - <fixture/sub/c.txt
    r /bin/cat -n fixture/b.txt
}

case_sort() {
    run /usr/bin/sort -n -k1,1 -k2 fixture/words.txt | tail -5
    run /usr/bin/sort -u -k2,2 fixture/words.txt | /usr/bin/sha256sum
    r /usr/bin/sort -r fixture/a.txt
}

case_sha256sum() {
    r /usr/bin/sha256sum fixture/big.bin fixture/a.txt fixture/empty
    r /usr/bin/md5sum fixture/big.bin
}

case_wc() {
    r /usr/bin/wc fixture/a.txt fixture/b.txt fixture/words.txt fixture/big.bin
    r /usr/bin/wc -l <fixture/words.txt
}

case_coreutils_misc() {
    r /usr/bin/seq 1 3 20
    r /usr/bin/expr 6 \* 7
    r /usr/bin/date -u -d @1000000000 '+%Y-%m-%d %H:%M:%S'
    r /usr/bin/head -c 64 fixture/big.bin
    r /usr/bin/tr a-z A-Z <fixture/a.txt
    run /bin/sed -n 's/^\([0-9]*\) word1\(.*\)/\2:\1/p' fixture/words.txt | /usr/bin/sha256sum
    r /bin/grep -c word5 fixture/words.txt
    r /usr/bin/find fixture -name '*.txt' -newer fixture/link
    r /bin/cp -a fixture out/copy
    r /usr/bin/cmp fixture/big.bin out/copy/big.bin
    r /usr/bin/stat -c '%n %s %a %Y' out/copy/big.bin out/copy/link
}

case_dash() {
    r /bin/dash -c 'for i in 1 2 3; do echo $i; done'
    r /bin/dash -c 'x=5; while [ $x -gt 0 ]; do printf "%s " $x; x=$((x - 1)); done; echo; exit 3'
    r /bin/dash fixture/script.sh
}

case_bash() {
    r /bin/bash -c 'sum=0; for ((i = 1; i <= 200; i++)); do sum=$((sum + i * i % 7)); done; echo $sum'
    r /bin/bash -c 'seq 1 100 | tr "\n" " " | cut -c 1-40; echo "${BASH_VERSINFO[0]} ok" | wc -c'
    r /bin/bash -c 'a=(x y z); echo "${#a[@]} ${a[1]}"; f() { return 7; }; f; echo "f gave $?"; exit 4'
    r /bin/bash -c 'echo $(( 2 ** 40 )) $(( -7 / 2 )) $(( 0x1f )); printf "%05.1f|%-4s|\n" 3.14159 ab'
}

case_busybox() {
    if [ ! -x /bin/busybox ]; then
        echo "FAIL: /bin/busybox missing: install busybox-static (testsuite/packages.txt)" >&2
        return 1
    fi
    r /bin/busybox sh -c 'i=0; while [ $i -lt 5 ]; do i=$((i + 1)); echo -n "$i "; done; echo'
    r /bin/busybox ls -l fixture/sub
    r /bin/busybox sha1sum fixture/big.bin fixture/a.txt
    r /bin/busybox sort -r fixture/a.txt
    r /bin/busybox wc -l fixture/words.txt
    r /bin/busybox echo done
}

case_gzip() {
    run /bin/gzip -n -c fixture/big.bin >out/big.gz
    echo "[gzip exit $?]"
    /usr/bin/sha256sum out/big.gz
    run /bin/gzip -dc out/big.gz | /usr/bin/cmp - fixture/big.bin && echo "round trip ok"
    run /bin/gzip -n -9 -c fixture/words.txt | run /bin/gzip -dc | /usr/bin/sha256sum
    r /bin/gzip -t out/big.gz
}

case_tar() {
    r /bin/tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -cf out/f.tar -C fixture .
    /usr/bin/sha256sum out/f.tar
    mkdir out/x
    r /bin/tar -xf out/f.tar -C out/x
    /usr/bin/diff -r fixture out/x && echo "extracted tree matches"
    r /bin/tar -tvf out/f.tar --numeric-owner
    r /bin/tar -czf out/f.tgz -C fixture sub a.txt
    r /bin/tar -tzf out/f.tgz
}

case_python3() {
    r /usr/bin/python3 -c 'import json, hashlib
d = {"n": [i * i for i in range(20)], "s": "caf\u00e9", "f": 1 / 3}
s = json.dumps(d, sort_keys=True)
print(s)
print(hashlib.sha256(s.encode()).hexdigest())
print(sorted(json.loads(s)["n"], reverse=True)[:3])'
    r /usr/bin/python3 -c 'import sys; data = open("fixture/big.bin", "rb").read(); print(len(data), sum(data) % 65521); sys.exit(5)'
    r /usr/bin/python3 -c 'raise ValueError("expected failure")'
}

case_perl() {
    r /usr/bin/perl -e 'my %h; $h{$_ % 7}++ for 1 .. 1000; print join(",", map {"$_=$h{$_}"} sort keys %h), "\n";
        printf "%.10f\n", atan2(1, 1) * 4; my @w = sort { $b <=> $a } map { (split)[0] } `cat fixture/words.txt`;
        print "@w[0..4]\n"; exit 2'
    run /usr/bin/perl -ne 'print if /word9[0-9]\b/' fixture/words.txt | /usr/bin/wc -l
}

case_git() {
    # Fixed identities and dates make the commit hashes the same in both passes.
    local id=(-c user.name=Ember -c user.email=ember@example.invalid -c init.defaultBranch=main)
    local guest_env=("${guest_env[@]}" GIT_AUTHOR_DATE=@1000000000+0000 GIT_COMMITTER_DATE=@1000000000+0000
        GIT_CONFIG_NOSYSTEM=1)
    cp -r fixture out/repo
    r /usr/bin/git "${id[@]}" init -q out/repo
    r /usr/bin/git "${id[@]}" -C out/repo add .
    r /usr/bin/git "${id[@]}" -C out/repo commit -q -m "first commit"
    printf 'delta\n' >>out/repo/a.txt
    r /usr/bin/git "${id[@]}" -C out/repo commit -q -a -m "second commit"
    r /usr/bin/git -C out/repo log --format='%H %s'
    r /usr/bin/git -C out/repo diff HEAD~1 --stat
    r /usr/bin/git -C out/repo cat-file -p HEAD:sub/c.txt
}

case_gcc() {
    # The whole driver: gcc runs cc1, as and collect2/ld through execve, all under ember.
    cat >out/prog.c <<'PROG'
#include <stdio.h>
static int fib(int n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }
int main(void) { printf("fib(20) = %d\n", fib(20)); return 3; }
PROG
    r /usr/bin/gcc -O2 -c out/prog.c -o out/prog.o
    /usr/bin/sha256sum out/prog.o
    r /usr/bin/gcc -o out/prog out/prog.o
    out/prog
    echo "[prog exit $?]"
}

if ! declare -F "case_$name" >/dev/null; then
    echo "debian_test.sh: no case '$name'" >&2
    exit 2
fi

# pass LABEL: runs the case in a fresh fixture, saving LABEL.out and LABEL.err.
pass() {
    make_fixture
    "case_$name" >"$work/$1.out" 2>"$work/$1.err"
    echo "case exit $?" >>"$work/$1.out"
    cd "$work" || exit 99
}

pass native
RUN=("$ember" -tbcache "$work/tbcache")   # kept translations: later commands reuse them
pass ember

fail=0
if ! cmp -s "$work/native.out" "$work/ember.out"; then
    echo "FAIL: $name: stdout differs (- native, + ember):"
    diff -u "$work/native.out" "$work/ember.out" | head -150
    fail=1
fi
if ! cmp -s "$work/native.err" "$work/ember.err"; then
    echo "FAIL: $name: stderr differs (- native, + ember):"
    diff -u "$work/native.err" "$work/ember.err" | head -80
    fail=1
fi
if grep -q '^\[exit 124\]' "$work/native.out" "$work/ember.out"; then
    echo "FAIL: $name: a program timed out after ${limit}s"
    fail=1
fi
if [ $fail = 0 ]; then
    echo "PASS: $name: $(wc -l <"$work/native.out") lines agree"
    cat "$work/native.out"
fi
exit $fail
