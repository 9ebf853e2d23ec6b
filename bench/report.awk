# bench/report.awk: formats bench/run's measurements as a plain table or as Markdown, with the ratios,
# the geometric means of ember/qemu and ember/native, and the issue's targets checked.
#
# Input, one line per workload, tab-separated: label, then for native, interp, jit, qemu and jit-cold
# one "status|best_seconds|peak_rss_kb" field each, then the workload's key. jit runs with the
# translations an earlier run kept (-tbcache), jit-cold without (-tbcache off). Variables: markdown, date,
# machine, os, commit, qemu_version, load, runs, quick, jit_na.

function cell_status(i) { split($(i + 1), p, "|"); return p[1] }
function cell_secs(i)   { split($(i + 1), p, "|"); return p[2] }
function cell_kb(i)     { split($(i + 1), p, "|"); return p[3] }

function fmt_secs(s) { return s < 10 ? sprintf("%.3f", s) : sprintf("%.2f", s) }
function fmt_ratio(r) { return r < 10 ? sprintf("%.2fx", r) : sprintf("%.1fx", r) }
function fmt_mb(kb) { return kb == "" ? "-" : sprintf(kb < 10240 ? "%.1f" : "%.0f", kb / 1024) }

# The workloads the issue's "integer workloads within 3x of native" target covers: all but the
# floating-point kernel and the start-up loop.
function is_integer(key) { return key != "nbody" && key != "startup" }

BEGIN {
    ncfg = 5
    cfg[1] = "native"; cfg[2] = "interp"; cfg[3] = "jit"; cfg[4] = "qemu"; cfg[5] = "jit-cold"
    order[1] = 1; order[2] = 2; order[3] = 3; order[4] = 5; order[5] = 4
    n = 0
}

{
    n++
    label[n] = $1
    key[n] = $(ncfg + 2)
    for (i = 1; i <= ncfg; i++) {
        st[n, i] = cell_status(i)
        secs[n, i] = cell_secs(i)
        kb[n, i] = cell_kb(i)
        ok[n, i] = st[n, i] == "ok" && secs[n, i] != ""
    }
}

# "12.10 (19.8x)" style: seconds, then ratios to native and (for the ember columns) to qemu.
function time_cell(w, i, with_qemu,    s) {
    if (!ok[w, i])
        return st[w, i] == "skipped" ? "skipped" : st[w, i]
    s = fmt_secs(secs[w, i])
    if (i == 1)
        return s
    s = s " (" (ok[w, 1] && secs[w, 1] > 0 ? fmt_ratio(secs[w, i] / secs[w, 1]) : "-")
    if (with_qemu)
        s = s ", " (ok[w, 4] && secs[w, 4] > 0 ? fmt_ratio(secs[w, i] / secs[w, 4]) " qemu" : "- qemu")
    return s ")"
}

# Columns in table order: native, interp, jit, jit-cold, qemu.
function rss_cell(w,    s, j, i) {
    s = ""
    for (j = 1; j <= ncfg; j++) {
        i = order[j]
        s = s (j > 1 ? " / " : "") (ok[w, i] ? fmt_mb(kb[w, i]) : "-")
    }
    return s
}

# Geometric mean of column a over column b, across the workloads where both ran correctly.
function geomean(a, b,    w, sum, cnt) {
    sum = 0; cnt = 0
    for (w = 1; w <= n; w++) {
        if (ok[w, a] && ok[w, b] && secs[w, a] > 0 && secs[w, b] > 0) {
            sum += log(secs[w, a] / secs[w, b]); cnt++
        }
    }
    if (cnt == 0)
        return "n/a"
    return sprintf("%.2fx", exp(sum / cnt)) (cnt < n ? sprintf(" (over %d of %d workloads)", cnt, n) : "")
}

# The issue's targets for one ember backend (column i), as one line each.
function targets(i, name,    w, g, sum, cnt, bad, line) {
    sum = 0; cnt = 0
    for (w = 1; w <= n; w++)
        if (ok[w, i] && ok[w, 4]) { sum += log(secs[w, i] / secs[w, 4]); cnt++ }
    if (cnt == 0) {
        print bullet name ": not measured (" ((i == 3 || i == 5) && jit_na != "" ? jit_na : "no runs") ")"
        return
    }
    g = exp(sum / cnt)
    print bullet name ": geometric mean of ember/qemu " sprintf("%.2f", g) \
          (cnt < n ? sprintf(" over %d of %d workloads", cnt, n) : "") " (target < 0.7): " \
          (g < 0.7 && cnt == n ? "met" : "NOT met")
    bad = ""
    for (w = 1; w <= n; w++)
        if (!ok[w, i] || (ok[w, 4] && secs[w, i] > secs[w, 4])) bad = bad " " key[w]
    print bullet name ": no workload slower than qemu (or failing): " (bad == "" ? "met" : "NOT met:" bad)
    bad = ""
    for (w = 1; w <= n; w++)
        if (is_integer(key[w]) && (!ok[w, i] || secs[w, i] > 3 * secs[w, 1])) bad = bad " " key[w]
    print bullet name ": integer workloads within 3x of native: " (bad == "" ? "met" : "NOT met:" bad)
    bad = ""
    for (w = 1; w <= n; w++)
        if (key[w] == "startup" && (!ok[w, i] || (ok[w, 4] && secs[w, i] > secs[w, 4]))) bad = " startup"
    print bullet name ": static hello-world start-up no slower than qemu: " (bad == "" ? "met" : "NOT met")
    bad = ""
    for (w = 1; w <= n; w++)
        if (!ok[w, i] || (ok[w, 4] && kb[w, i] + 0 > kb[w, 4] + 0)) bad = bad " " key[w]
    print bullet name ": peak RSS no more than qemu's: " (bad == "" ? "met" : "NOT met:" bad)
}

END {
    ncol = 7
    head[1] = "workload"
    head[2] = "native s"
    head[3] = "interp s (x native)"
    head[4] = "jit s (x native, x qemu)"
    head[5] = "jit, nothing kept s (x native, x qemu)"
    head[6] = "qemu s (x native)"
    head[7] = "peak RSS MB native / interp / jit / jit nothing kept / qemu"
    for (w = 1; w <= n; w++) {
        row[w, 1] = label[w]
        row[w, 2] = time_cell(w, 1, 0)
        row[w, 3] = time_cell(w, 2, 0)
        row[w, 4] = time_cell(w, 3, 1)
        row[w, 5] = time_cell(w, 5, 1)
        row[w, 6] = time_cell(w, 4, 0)
        row[w, 7] = rss_cell(w)
    }
    if (markdown) {
        print "# Ember benchmark results"
        print ""
        print "Measured with `./ember bench" (quick ? " --quick" : "") "`: best wall time of " runs " run(s) per cell;"
        print "peak RSS is the largest of the runs. Every emulated run printed exactly what the native run"
        print "printed unless its cell says otherwise. See README.md for the workloads. The jit column runs with"
        print "the translations an earlier run of the same program kept (-tbcache; one untimed run first), as a"
        print "program run again does; the next column with none kept (-tbcache off), as a first run."
        print ""
        print "- Date: " date
        print "- Machine: " machine
        print "- OS: " os
        print "- ember: " commit ", built with the project's default options (.bazelrc: -O2)"
        print "- qemu: " qemu_version
        print "- Load: " load " (other work on the machine makes every column slower)"
        print ""
        line = "|"; sep = "|"
        for (c = 1; c <= ncol; c++) { line = line " " head[c] " |"; sep = sep (c == 1 ? " --- |" : " ---: |") }
        print line
        print sep
        for (w = 1; w <= n; w++) {
            line = "|"
            for (c = 1; c <= ncol; c++) line = line " " row[w, c] " |"
            print line
        }
        print ""
        bullet = "- "
    } else {
        for (c = 1; c <= ncol; c++) width[c] = length(head[c])
        for (w = 1; w <= n; w++)
            for (c = 1; c <= ncol; c++) if (length(row[w, c]) > width[c]) width[c] = length(row[w, c])
        line = ""
        for (c = 1; c <= ncol; c++) line = line sprintf(c == 1 ? "%-" width[c] "s" : "  %" width[c] "s", head[c])
        print line
        for (w = 1; w <= n; w++) {
            line = ""
            for (c = 1; c <= ncol; c++) line = line sprintf(c == 1 ? "%-" width[c] "s" : "  %" width[c] "s", row[w, c])
            print line
        }
        print ""
        bullet = ""
    }
    print bullet "geometric mean interp/qemu: " geomean(2, 4) ", jit/qemu: " geomean(3, 4) \
          ", jit nothing kept/qemu: " geomean(5, 4)
    print bullet "geometric mean interp/native: " geomean(2, 1) ", jit/native: " geomean(3, 1) \
          ", jit nothing kept/native: " geomean(5, 1) ", qemu/native: " geomean(4, 1)
    if (markdown) {
        print ""
        print "## The issue's targets"
        print ""
    } else {
        print ""
        print "targets:"
        bullet = "  "
    }
    targets(3, "jit")
    targets(5, "jit, nothing kept")
    targets(2, "interp")
}
