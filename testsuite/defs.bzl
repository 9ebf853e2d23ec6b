"""Macros for the end-to-end test suite.

guest_program builds one C/C++ test program three ways (static, static-pie, dynamic) so that the ELF
loader sees ET_EXEC, self-relocating ET_DYN and ET_DYN with PT_INTERP. guest_asm_program builds a
libc-free assembly program (static and static-pie only: with no libc there is nothing to link
dynamically). guest_compare_test runs one of those programs natively and under ember-x86_64 and
compares stdout, optionally stderr, and the exit status, one sh_test per link mode.
"""

# Link mode -> (suffix, extra copts, extra linkopts). Debian's gcc builds PIE by default, so the
# dynamic mode is a PIE with PT_INTERP; --as-needed drops the libstdc++ Bazel links into every C
# binary so that dynamic C programs need only libc.
GUEST_MODES = {
    "static": ([], ["-static"]),
    "static_pie": (["-fPIE"], ["-static-pie"]),  # needs BFD ld: gold lacks --no-dynamic-linker
    "dynamic": ([], ["-Wl,--as-needed"]),
}

ALL_MODES = ["static", "static_pie", "dynamic"]
ASM_MODES = ["static", "static_pie"]

EMBER = "//user/linux:ember-x86_64"

# Backends besides ember's default one: each guest_compare_test also gets NAME_MODE_BACKEND variants
# run with "-backend BACKEND": the interpreter (the reference) is checked against native runs exactly like
# the default JIT.
EXTRA_BACKENDS = ["interp"]
COMPARE = "//testsuite:compare.sh"

def guest_program(name, srcs, copts = [], linkopts = [], deps = [], modes = ALL_MODES):
    """One cc_binary per link mode, named NAME_static, NAME_static_pie, NAME_dynamic."""
    for mode in modes:
        mode_copts, mode_linkopts = GUEST_MODES[mode]
        native.cc_binary(
            name = name + "_" + mode,
            srcs = srcs,
            copts = mode_copts + copts,
            linkopts = ["-fuse-ld=bfd"] + mode_linkopts + linkopts,
            deps = deps,
            visibility = ["//visibility:public"],
        )

def guest_asm_program(name, srcs, modes = ASM_MODES):
    """An assembly program with its own _start and no libc (-nostdlib)."""
    for mode in modes:
        mode_copts, mode_linkopts = GUEST_MODES[mode]
        native.cc_binary(
            name = name + "_" + mode,
            srcs = srcs,
            copts = mode_copts,
            linkopts = ["-fuse-ld=bfd"] + mode_linkopts + ["-nostdlib"],
            visibility = ["//visibility:public"],
        )

def guest_compare_test(
        name,
        program = None,
        args = [],
        modes = ALL_MODES,
        stdin = None,
        stderr = False,
        expect_status = 0,
        data = [],
        manual_modes = [],
        ember_opts = [],
        run_timeout = None,
        timeout = "moderate",
        tags = []):
    """Runs //testsuite/guest:PROGRAM_MODE natively and under ember; one sh_test per mode.

    name: the tests are NAME_MODE (e.g. guest_signals_static_pie).
    program: the guest_program name (defaults to name without a "guest_" prefix).
    args: the guest's arguments (the same in both runs).
    stdin: a label whose file is fed to the guest's standard input (default: /dev/null).
    stderr: also compare standard error.
    expect_status: the status the native run must have (128+N when killed by signal N).
    data: extra labels the guest needs; "{mode}" is replaced by the link mode.
    manual_modes: modes tagged "manual" (known not to pass yet; run them by name).
    ember_opts: options given to ember before the program (e.g. ["-backend", "jit"]).
    run_timeout: seconds each of the two runs may take before it counts as a hang (compare.sh: 120).
    """
    if program == None:
        program = name[len("guest_"):] if name.startswith("guest_") else name
    for mode in modes:
        prog = "//testsuite/guest:%s_%s" % (program, mode)
        extra = [d.replace("{mode}", mode) for d in data]
        opts = ["--expect-status", str(expect_status)]
        if stderr:
            opts.append("--stderr")
        for o in ember_opts:
            opts += ["--ember-opt", o]
        if run_timeout != None:
            opts += ["--timeout", str(run_timeout)]
        test_data = [EMBER, prog] + extra
        if stdin != None:
            opts += ["--stdin", "$(rootpath %s)" % stdin]
            test_data.append(stdin)
        mode_tags = tags + (["manual"] if mode in manual_modes else [])
        for backend in [None] + EXTRA_BACKENDS:
            backend_opts = [] if backend == None else ["--ember-opt", "-backend", "--ember-opt", backend]
            native.sh_test(
                name = "%s_%s" % (name, mode) + ("" if backend == None else "_" + backend),
                srcs = [COMPARE],
                args = opts + backend_opts + ["--", "$(rootpath %s)" % EMBER, "$(rootpath %s)" % prog] + args,
                data = test_data,
                timeout = timeout,
                tags = mode_tags,
            )
