#!/usr/bin/env bash
# bench/afl/run.sh (./ember bench afl): Debian's afl-fuzz on one target, side by side in one run:
#   (a)  the target built with afl-cc: AFL's own instrumentation and fork server
#   (b)  afl-fuzz -Q through ember-x86_64 on the target built with plain gcc -O2, dynamic and static
#   (c)  the same through ember in persistent mode (AFL_QEMU_PERSISTENT_ADDR on parse_file); ember then
#        takes the test cases from afl-fuzz in shared memory and writes the @@ file itself
#        (user/linux/afl/afl-testcase.c); c-dyn-file, for comparison, leaves that file to afl-fuzz
# each for a fixed time with fixed seeds (inputs and RNG), rounds interleaved so that a busy machine hurts
# every configuration alike. Prints execs/s and stability from afl-fuzz's fuzzer_stats, ratios against (a)
# and (c)/(b), checks the targets of issue 8, and writes the table to bench/AFL-RESULTS.md.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$(dirname "$here")")"

usage() {
    cat <<'USAGE'
usage: bench/afl/run.sh [OPTIONS]        (or ./ember bench afl [OPTIONS])

  --seconds N     fuzz each configuration for N seconds per round (afl-fuzz -V; default 20)
  --rounds N      interleaved rounds (default 3): the table shows each one's best, the targets are
                  checked on the median of the rounds' ratios
  --ember PATH    use this ember-x86_64 instead of building //user/linux:ember-x86_64
  --out FILE      write the Markdown results there (default bench/AFL-RESULTS.md; - for none)
  --keep          keep the temporary directory (afl-fuzz output folders and logs)
  -h, --help      this text

The exit status is 1 when a configuration could not run (no fuzzer_stats), 0 otherwise: missed targets
are reported, not failures (the numbers depend on the machine).
USAGE
}

seconds=20 rounds=3 ember="" out="$root/bench/AFL-RESULTS.md" keep=0
while (($#)); do
    case $1 in
    --seconds) seconds=${2:?}; shift 2 ;;
    --rounds) rounds=${2:?}; shift 2 ;;
    --ember) ember=${2:?}; shift 2 ;;
    --out) out=${2:?}; shift 2 ;;
    --keep) keep=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "bench afl: unknown option '$1'" >&2; usage >&2; exit 2 ;;
    esac
done
[[ $seconds =~ ^[1-9][0-9]*$ && $rounds =~ ^[1-9][0-9]*$ ]] || { echo "bench afl: bad --seconds/--rounds" >&2; exit 2; }

say() { echo "bench afl: $*" >&2; }
for tool in afl-fuzz afl-cc gcc; do
    command -v $tool >/dev/null || { say "$tool is missing (Debian's afl++: ./ember setup)"; exit 1; }
done

if [[ -z $ember ]]; then
    say "building ember-x86_64 (the project's default options: .bazelrc's -O2)"
    (cd "$root" && bazel build --ui_event_filters=-info,-stdout --noshow_progress //user/linux:ember-x86_64 >&2)
    ember="$root/bazel-bin/user/linux/ember-x86_64"
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/ember-bench-afl.XXXXXX")
cleanup() { if ((keep)); then say "kept $tmp"; else rm -rf "$tmp"; fi; }
trap cleanup EXIT

# Snapshot the binaries: the tree is shared and may be rebuilt while we measure.
mkdir -p "$tmp/afl-path" "$tmp/seeds"
cp "$ember" "$tmp/afl-path/afl-qemu-trace"
src="$here/target.c"
AFL_QUIET=1 afl-cc -O2 -o "$tmp/t-aflcc" "$src" 2>"$tmp/afl-cc.log" || { cat "$tmp/afl-cc.log" >&2; exit 1; }
gcc -O2 -o "$tmp/t-dyn" "$src"
gcc -O2 -static -o "$tmp/t-static" "$src"

# Fixed seeds: one input per record kind.
printf 'BNCHT\005hello' >"$tmp/seeds/text"
printf 'BNCHN\00312345' >"$tmp/seeds/number"
printf 'BNCHB\010abcdefgh' >"$tmp/seeds/blob"
printf 'BNCHT\003abcN\00242E\000' >"$tmp/seeds/mixed"

# Where parse_file is when ember runs the program: static is not PIE; a PIE goes to LINUX_ELF_PIE_BASE.
sym() { nm "$1" | awk -v s="$2" '$3 == s { print $1 }'; }
addr_static=$(printf '0x%x' $((0x$(sym "$tmp/t-static" parse_file))))
addr_dyn=$(printf '0x%x' $((0x555555554000 + 0x$(sym "$tmp/t-dyn" parse_file))))
main_static=$(printf '0x%x' $((0x$(sym "$tmp/t-static" main))))

export AFL_PATH="$tmp/afl-path"
export AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_SKIP_CRASHES=1
# The machine is shared: binding to a core another job is busy on would measure that job.
export AFL_NO_AFFINITY=1
unset AFL_QEMU_PERSISTENT_ADDR AFL_QEMU_PERSISTENT_GPR AFL_ENTRYPOINT AFL_DEBUG EMBER_AFL_FILE_INPUT 2>/dev/null || true

configs=(a b-dyn b-static b-static-main c-dyn c-static c-dyn-file)
declare -A what=(
    [a]="afl-cc build, AFL's fork server (native)"
    [b-dyn]="afl-fuzz -Q, gcc -O2 dynamic (PIE)"
    [b-static]="afl-fuzz -Q, gcc -O2 -static"
    [b-static-main]="(for comparison) -Q static, AFL_ENTRYPOINT=main"
    [c-dyn]="-Q persistent (parse_file), dynamic"
    [c-static]="-Q persistent (parse_file), static"
    [c-dyn-file]="(for comparison) c-dyn, afl-fuzz writes the @@ file"
)

run_one() {   # config round -> "execs_per_sec stability"
    local c=$1 r=$2 o="$tmp/out-$1-$2" cmd
    local fuzz=(afl-fuzz -V "$seconds" -s 12345 -t 1000 -i "$tmp/seeds" -o "$o")
    case $c in
    a) cmd=("${fuzz[@]}" -- "$tmp/t-aflcc" @@) ;;
    b-dyn) cmd=("${fuzz[@]}" -Q -- "$tmp/t-dyn" @@) ;;
    b-static) cmd=("${fuzz[@]}" -Q -- "$tmp/t-static" @@) ;;
    b-static-main) cmd=(env AFL_ENTRYPOINT="$main_static" "${fuzz[@]}" -Q -- "$tmp/t-static" @@) ;;
    c-dyn) cmd=(env AFL_QEMU_PERSISTENT_ADDR="$addr_dyn" AFL_QEMU_PERSISTENT_GPR=1
                 "${fuzz[@]}" -Q -- "$tmp/t-dyn" @@) ;;
    c-static) cmd=(env AFL_QEMU_PERSISTENT_ADDR="$addr_static" AFL_QEMU_PERSISTENT_GPR=1
                   "${fuzz[@]}" -Q -- "$tmp/t-static" @@) ;;
    c-dyn-file) cmd=(env AFL_QEMU_PERSISTENT_ADDR="$addr_dyn" AFL_QEMU_PERSISTENT_GPR=1 EMBER_AFL_FILE_INPUT=1
                     "${fuzz[@]}" -Q -- "$tmp/t-dyn" @@) ;;
    esac
    timeout $((seconds + 60)) "${cmd[@]}" >"$tmp/log-$c-$r" 2>&1 || true
    local stats="$o/default/fuzzer_stats"
    if [[ ! -f $stats ]]; then
        echo "- -"
        return
    fi
    awk -F' *: *' '$1 == "execs_per_sec" { e = $2 } $1 == "stability" { s = $2; sub("%", "", s) }
                   END { print e, s }' "$stats"
}

declare -A best stab all
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
minutes=$((rounds * ${#configs[@]} * (seconds + 3) / 60 + 1))
say "$rounds round(s) of ${#configs[@]} configurations, $seconds s each (about $minutes min)"
for ((r = 1; r <= rounds; r++)); do
    for c in "${configs[@]}"; do
        read -r e s < <(run_one "$c" "$r")
        say "round $r: $c: $e execs/s, stability $s%"
        all[$c,$r]=$e
        if [[ $e != - ]] &&
            { [[ -z ${best[$c]:-} ]] || awk -v a="$e" -v b="${best[$c]}" 'BEGIN { exit !(a > b) }'; }; then
            best[$c]=$e
            stab[$c]=$s
        fi
    done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

ratio() { awk -v a="${1:-0}" -v b="${2:-0}" 'BEGIN { if (a > 0 && b > 0) printf "%.2f", a / b; else print "n/a" }'; }
check() { awk -v v="$1" -v t="$2" 'BEGIN { print (v != "n/a" && v + 0 >= t) ? "yes" : "**no**" }'; }

median_ratio() {   # num den -> the median over the rounds of num/den
    local r
    for ((r = 1; r <= rounds; r++)); do ratio "${all[$1,$r]:-}" "${all[$2,$r]:-}"; echo; done |
        grep -v n/a | sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "n/a"; else if (NR % 2) print v[(NR + 1) / 2];
                                                         else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

failed=0
table() {
    echo "| config | what | execs/s | stability | × (a) | (c) / (b) |"
    echo "| --- | --- | ---: | ---: | ---: | ---: |"
    for c in "${configs[@]}"; do
        local e=${best[$c]:-} cb="" kind=${c#*-}
        [[ $c == c-* ]] && cb=$(ratio "$e" "${best[b-${kind%-file}]:-}")
        [[ $c == b-static-main ]] && cb=""
        printf '| %s | %s | %s | %s | %s | %s |\n' "$c" "${what[$c]}" "${e:-failed}" "${stab[$c]:+${stab[$c]}%}" \
            "$(ratio "$e" "${best[a]:-}")" "$cb"
    done
    # The targets from each round's ratios (configurations of one round ran minutes apart at most), their
    # median: a busy spell of the shared machine during one run moves one round, not the verdict.
    local b_a c_b b_a_s c_b_s minstab
    b_a=$(median_ratio b-dyn a)
    b_a_s=$(median_ratio b-static a)
    c_b=$(median_ratio c-dyn b-dyn)
    c_b_s=$(median_ratio c-static b-static)
    minstab=$(for c in "${configs[@]}"; do echo "${stab[$c]:-0}"; done | sort -n | head -1)
    echo
    echo "Every round (execs/s; the machine is shared, so rounds differ):"
    echo
    local hdr="| config |" sep="| --- |" r
    for ((r = 1; r <= rounds; r++)); do hdr+=" round $r |"; sep+=" ---: |"; done
    echo "$hdr"
    echo "$sep"
    for c in "${configs[@]}"; do
        local row="| $c |"
        for ((r = 1; r <= rounds; r++)); do row+=" ${all[$c,$r]:-} |"; done
        echo "$row"
    done
    local pair num den
    for pair in b-dyn/a b-static/a c-dyn/b-dyn c-static/b-static c-dyn-file/b-dyn; do
        num=${pair%/*} den=${pair#*/}
        local row="| *$num / $den* |"
        for ((r = 1; r <= rounds; r++)); do row+=" *$(ratio "${all[$num,$r]:-}" "${all[$den,$r]:-}")* |"; done
        echo "$row"
    done
    echo
    echo "Targets (issue 8), from the median of the rounds' ratios:"
    echo
    echo "- (b) ≥ 0.5 × (a): dynamic $b_a, static $b_a_s: $(check "$b_a" 0.5) / $(check "$b_a_s" 0.5)"
    echo "- (c) ≥ 5 × (b): dynamic $c_b, static $c_b_s: $(check "$c_b" 5) / $(check "$c_b_s" 5)"
    echo "- stability ≥ 99%: lowest $minstab%: $(check "$minstab" 99)"
}

afl_version=$(afl-fuzz -h 2>&1 | sed 's/\x1b\[[0-9;]*m//g' | grep -m1 -o 'afl-fuzz++[0-9a-z.]*' || true)
result=$(table)
echo "$result"
for c in "${configs[@]}"; do
    [[ -n ${best[$c]:-} ]] || failed=1
done
if [[ $out != - ]]; then
    {
        echo "# AFL++ benchmark: afl-fuzz natively, through ember (-Q) and in ember's persistent mode"
        echo
        echo "Made by \`./ember bench afl\` (bench/afl/run.sh): $rounds interleaved round(s) of $seconds s per"
        echo "configuration (\`afl-fuzz -V $seconds -s 12345 -t 1000\`, the four seeds of bench/afl/run.sh, \`@@\`),"
        echo "each cell of the first table the best round, the targets checked on the median of the rounds'"
        echo "ratios; execs/s and stability are afl-fuzz's own (\`fuzzer_stats\`). Target:"
        echo "bench/afl/target.c. Persistent mode: \`AFL_QEMU_PERSISTENT_ADDR\`=parse_file, \`AFL_QEMU_PERSISTENT_GPR=1\`,"
        echo "the default 1000 runs per child; ember asks afl-fuzz for the test cases in shared memory and"
        echo "writes the \`@@\` file itself (user/linux/afl/afl-testcase.c: rewritten in place, where afl-fuzz"
        echo "unlinks and creates it for every run). \`AFL_NO_AFFINITY=1\`: the machine is shared. b-static-main"
        echo "and c-dyn-file are no targets: the static program with the fork server at main instead of the ELF"
        echo "entry, to show what glibc's static start-up (run by every child when forking at the entry) costs;"
        echo "and c-dyn with afl-fuzz writing the file (\`EMBER_AFL_FILE_INPUT=1\`), to show what that costs."
        echo
        echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
        echo "- machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(nproc) CPUs, $(uname -sr)"
        echo "- load average (1, 5, 15 min): $load_before before, $load_after after"
        echo "- afl-fuzz: ${afl_version:-unknown}; ember: $(cd "$root" && git rev-parse --short HEAD 2>/dev/null || echo unknown) (+ working tree)"
        echo
        echo "$result"
    } >"$out"
    say "wrote $out"
fi
exit $failed
