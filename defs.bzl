"""Bazel rules for running x86-64 programs under Ember from any workspace.

    load("@ember//:defs.bzl", "ember_x86_64_test")

    ember_x86_64_test(
        name = "hello_under_ember",
        binary = ":hello",          # any x86-64 executable target (cc_binary, a prebuilt file, ...)
        args = ["--flag"],          # passed to the program
        env = {"GREETING": "hi"},   # set in the program's environment
        data = ["testdata.txt"],    # extra runfiles
    )

The test passes exactly when the program exits with status 0 under ember-x86_64. Its standard output and
error, TEST_TMPDIR, TEST_UNDECLARED_OUTPUTS_DIR and XML_OUTPUT_FILE are those of any Bazel test: ember
passes the environment through and exits with the program's status.

For ordinary cc_test targets no rule is needed:
    bazel test --run_under=@ember//user/linux:ember-x86_64 //...
"""

_EMBER = Label("//user/linux:ember-x86_64")
_LAUNCHER = Label("//tools:ember_test_launcher.sh")

def ember_x86_64_test(name, binary, args = [], data = [], env = {}, ember_opts = [], **kwargs):
    """A test that runs the executable target `binary` under ember-x86_64.

    Args:
      name: the test's name.
      binary: the x86-64 program (a label of an executable target or file).
      args: the program's arguments ($(location) and $(rootpath) are expanded, as for sh_test).
      data: more files the program needs at run time (in its runfiles).
      env: variables set in the program's environment.
      ember_opts: options for ember-x86_64 itself, before the program (e.g. ["-backend", "interp"]).
      **kwargs: size, timeout, tags, flaky, shard_count, visibility... as for any test.
    """
    native.sh_test(
        name = name,
        srcs = [_LAUNCHER],
        args = ["$(rootpath %s)" % _EMBER, "$(rootpath %s)" % binary, str(len(ember_opts))] + ember_opts + args,
        data = [_EMBER, binary] + data,
        env = env,
        **kwargs
    )
