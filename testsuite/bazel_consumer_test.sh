#!/bin/bash
# examples/bazel-consumer, a workspace that uses Ember through local_repository, built and tested by a
# nested Bazel (its own output base under TEST_TMPDIR, offline): an ember_x86_64_test that must pass, one
# that must fail, and an ordinary cc_test run with --run_under=@ember//user/linux:ember-x86_64 (checked to
# really run under ember through EMBER_STRACE's trace in its log).
#
#   bazel_consumer_test.sh PATH-OF-EMBER'S-README   (any file at the root of the checkout, to find it)
set -u
root=$(dirname "$(readlink -f "$1")")
tmp=${TEST_TMPDIR:-$(mktemp -d)}
ws=$tmp/consumer
rm -rf "$ws"
cp -r "$root/examples/bazel-consumer" "$ws"
# The example names Ember by a relative path ("../.."): point it at the checkout from the copy.
sed -i "s|\"\.\./\.\.|\"$root|g" "$ws/WORKSPACE"
cd "$ws" || exit 1
bz() {
    bazel --batch --output_base="$tmp/output_base" --nohome_rc "$@" --symlink_prefix=/ --spawn_strategy=standalone \
        --test_output=all 2>&1
}
fail=0
out=$(bz test //:greet_test)
if [ $? != 0 ] || ! grep -q 'hello, world' <<<"$out"; then
    echo "FAIL: greet_test (args and env through ember_x86_64_test) did not pass:"; echo "$out" | tail -40; fail=1
fi
out=$(bz test //:greet_fails_test)
rc=$?
if [ $rc != 3 ] || ! grep -q 'hello, moon' <<<"$out"; then
    echo "FAIL: greet_fails_test should fail (bazel status 3), got $rc:"; echo "$out" | tail -40; fail=1
fi
out=$(bz test --run_under=@ember//user/linux:ember-x86_64 --test_env=EMBER_STRACE=1 //:plain_test)
if [ $? != 0 ] || ! grep -q 'plain_test: ok' <<<"$out" || ! grep -q 'exit_group(0)' <<<"$out"; then
    echo "FAIL: plain_test with --run_under did not pass under ember:"; echo "$out" | tail -40; fail=1
fi
[ $fail = 0 ] && echo "PASS: the consumer workspace's tests pass and fail as they should"
exit $fail
