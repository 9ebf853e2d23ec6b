#!/bin/bash
# tb_cache_test.sh EMBER PROGRAM_A PROGRAM_B: translations kept across runs (-tbcache).
#
# PROGRAM_A and PROGRAM_B are one program built with a different constant in its code, the same size. Each
# step checks the program's output against its native run, and what ember says it took from the cache
# (-d tbcache: "N blocks placed from M kept, S stale, T translated and kept"):
#   1. a first run keeps its translations; a second places them and translates nothing;
#   2. B written over A in place, with A's size and modification time (so the file looks the same to the
#      cache's identity): the kept blocks no longer match the guest's bytes, are found stale, and B runs;
#   3. a cache file with flipped bytes, cut short, or holding garbage: the run is still right, and the
#      file is mended (cut at the damage, or written anew) so that the next run translates nothing;
#   4. without -tbcache the file goes to ~/.cache/ember/tb; -tbcache off writes nothing;
#   5. a dynamically linked program's second run translates nothing: its libraries are where they were;
#   6. the cache directory is trimmed, least recently used files first, past 512 MB; a directory that cannot be created only turns the cache off.
set -u
ember=$1
prog_a=$2
prog_b=$3
work=${TEST_TMPDIR:-$(mktemp -d)}/tb_cache
rm -rf "$work"
mkdir -p "$work"
prog=$work/prog
cache=$work/cache
fail=0

no() {
    echo "FAIL: $*"
    fail=1
}

# run LABEL [EMBER OPTIONS...]: the program under ember with -d tbcache; its output must be the native one.
run() {
    local label=$1
    shift
    "$ember" -d tbcache "$@" "$prog" >"$work/$label.out" 2>"$work/$label.err"
    local status=$?
    if [ "$status" != 0 ] || ! cmp -s "$work/$label.out" "$work/native.out"; then
        no "$label: status $status, output:"
        cat "$work/$label.out" "$work/$label.err"
    fi
}

# took LABEL FIELD: a number from the run's cache line (placed, kept, stale, translated, unkept).
took() {
    local line
    line=$(grep 'tb cache:' "$work/$1.err" | tail -1)
    case $2 in
    placed) echo "$line" | sed -n 's/.*cache: \([0-9]*\) blocks placed.*/\1/p' ;;
    kept) echo "$line" | sed -n 's/.*placed from \([0-9]*\) kept.*/\1/p' ;;
    stale) echo "$line" | sed -n 's/.* \([0-9]*\) stale.*/\1/p' ;;
    translated) echo "$line" | sed -n 's/.* \([0-9]*\) translated and kept.*/\1/p' ;;
    unkept) echo "$line" | sed -n 's/.* \([0-9]*\) not kept.*/\1/p' ;;
    esac
}

cp "$prog_a" "$prog"
chmod u+w "$prog"
"$prog" >"$work/native.out"

# 1. cold, then warm
run cold -tbcache "$cache"
translated=$(took cold translated)
[ "$(took cold placed)" = 0 ] || no "cold: placed $(took cold placed) blocks from an empty cache"
[ "${translated:-0}" -gt 0 ] || no "cold: kept no translations"
[ "$(find "$cache" -name '*.tbc' | wc -l)" = 1 ] || no "cold: no cache file in $cache"
run warm -tbcache "$cache"
[ "$(took warm placed)" -gt 0 ] || no "warm: placed no block"
[ "$(took warm translated)" = 0 ] || no "warm: translated $(took warm translated) blocks again"
[ "$(took warm kept)" = "$translated" ] || no "warm: the file holds $(took warm kept) blocks, the cold run kept $translated"
grep -q 'record by record' "$work/warm.err" && no "warm: the file's batch indexes were not used"
echo "cold run: kept $translated; warm run: placed $(took warm placed), translated $(took warm translated)"

# 2. the same file identity, other code
[ "$(stat -c %s "$prog_a")" = "$(stat -c %s "$prog_b")" ] || no "the two builds differ in size: the test cannot swap them"
touch -r "$prog" "$work/stamp"
cat "$prog_b" >"$prog"
touch -r "$work/stamp" "$prog"
"$prog" >"$work/native.out"
cmp -s "$work/native.out" "$work/warm.out" && no "the two builds print the same: the test checks nothing"
run swapped -tbcache "$cache"
[ "$(took swapped stale)" -gt 0 ] || no "swapped: no kept block found stale"
[ "$(took swapped translated)" -gt 0 ] || no "swapped: translated nothing"
echo "other code: $(took swapped stale) blocks stale, $(took swapped placed) still placed"

# 3. damaged files
file=$(find "$cache" -name '*.tbc')
size=$(stat -c %s "$file")
printf 'garbage!garbage!garbage!' | dd of="$file" bs=1 seek=$((size / 2)) conv=notrunc status=none
run flipped -tbcache "$cache"
truncate -s $((size / 3)) "$file"
run truncated -tbcache "$cache"
[ "$(took truncated translated)" -gt 0 ] || no "truncated: translated nothing"
grep -q 'record by record' "$work/truncated.err" || no "truncated: the cut-off file's indexes were believed"
run truncated-again -tbcache "$cache"
[ "$(took truncated-again translated)" = 0 ] || no "truncated-again: translated $(took truncated-again translated) blocks: the cut-off file was not mended"
echo "not a translation cache" >"$file"
run garbage -tbcache "$cache"
[ "$(head -c 8 "$file")" = EMBERTBC ] || no "garbage: the file was not written anew"
run rewritten -tbcache "$cache"
[ "$(took rewritten placed)" -gt 0 ] || no "rewritten: placed no block"
[ "$(took rewritten translated)" = 0 ] || no "rewritten: translated $(took rewritten translated) blocks"

# 4. the default place, off, and a directory that cannot be made
unset XDG_CACHE_HOME
HOME=$work/home run default
[ "$(find "$work/home/.cache/ember/tb" -name '*.tbc' 2>/dev/null | wc -l)" = 1 ] || no "default: no file in ~/.cache/ember/tb"
HOME=$work/home2 run off -tbcache off
[ -e "$work/home2" ] && no "off: wrote $(find "$work/home2")"
run nodir -tbcache /proc/self/no-such-dir

# 5. a dynamically linked program (Debian's /bin/echo): libc and ld.so are mapped where they were the run
# before (guest mmap(NULL) goes top-down from a fixed address), so its second run translates nothing either.
# (-D: echo closes its stderr before it exits, and with it the log's default place.)
"$ember" -d tbcache -D "$work/dyn1.err" -tbcache "$work/dyn" /bin/echo dynamic >"$work/dyn1.out"
"$ember" -d tbcache -D "$work/dyn2.err" -tbcache "$work/dyn" /bin/echo dynamic >"$work/dyn2.out"
[ "$(cat "$work/dyn2.out")" = dynamic ] || no "dynamic: printed $(cat "$work/dyn2.out")"
[ "$(took dyn1 translated)" -gt 0 ] || no "dynamic: the first run kept nothing"
[ "$(took dyn2 placed)" -gt 0 ] || no "dynamic: the second run placed nothing"
[ "$(took dyn2 translated)" = 0 ] || no "dynamic: the second run translated $(took dyn2 translated) blocks"
[ "$(took dyn1 unkept)" -lt 20 ] || no "dynamic: $(took dyn1 unkept) blocks were not kept: the libraries are not where they will be"
echo "dynamic: kept $(took dyn1 translated) (not $(took dyn1 unkept)); then placed $(took dyn2 placed)"

# 6. the directory is bounded (512 MB, then trimmed to 256 MB, least recently used first): three other
# programs' files of 200 MB (sparse: no disk) and this program's; the two oldest go, the newest stays.
trim=$work/trim
mkdir -p "$trim"
for n in 1 2 3; do
    truncate -s 200M "$trim/other$n-0000000000000000.tbc"
    touch -d "@$((1000000000 + n))" "$trim/other$n-0000000000000000.tbc"
done
run trimmed -tbcache "$trim"
left=$(cd "$trim" && ls other*.tbc 2>/dev/null | tr '\n' ' ')
[ "$left" = "other3-0000000000000000.tbc " ] || no "trim: left '$left', want only the newest other file"
[ "$(find "$trim" -name 'prog-*.tbc' | wc -l)" = 1 ] || no "trim: this program's own file went"

[ "$fail" = 0 ] && echo PASS
exit "$fail"
