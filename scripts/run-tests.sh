# Sourced by test.sh and test-asan.sh: node's test runner over the given files, one file at a time,
# with every test's temporary folders under one scratch folder that is removed when the run ends.
# A TERM, INT or HUP sent to the script (a CI timeout, Ctrl-C) is passed on to the runner.
scratch=$(mktemp -d "${TMPDIR:-/tmp}/geoseg-test-XXXXXX")
trap 'rm -rf "$scratch"' EXIT
TMPDIR="$scratch" node --import tsx --test --test-concurrency=1 "$@" &
runner=$!
trap 'kill -TERM "$runner" 2>/dev/null' TERM INT HUP
status=0
wait "$runner" || status=$?
# a trapped signal ends `wait` early: wait for the runner itself
while kill -0 "$runner" 2>/dev/null; do wait "$runner" || status=$?; done
exit "$status"
