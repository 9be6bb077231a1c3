#!/usr/bin/env bash
# Fuzz smoke test: runs every cargo-fuzz target in fuzz/ for a short time
# (default 20 s each) from its committed seed corpus, and fails on any crash
# or broken oracle. See fuzz/README.md for long campaigns.
#
# Works on the stable toolchain: cargo-fuzz needs nightly-only rustc flags
# (-Zsanitizer, sancov), which RUSTC_BOOTSTRAP=1 unlocks on stable.
#
# Environment:
#   FUZZ_SECS=N                      seconds per target (default 20)
#   FUZZ_TARGETS="a b"               targets to run (default: all of them)
#   PORTCULLIS_INSTALL_CARGO_FUZZ=1  install cargo-fuzz (cargo install
#                                    --locked) if missing; otherwise a missing
#                                    cargo-fuzz prints "skipped" and exits 0.
#   FUZZ_SANITIZER=none|address      default address (ASan); none is faster.
set -euo pipefail
cd "$(dirname "$0")/.."

secs=${FUZZ_SECS:-20}
sanitizer=${FUZZ_SANITIZER:-address}
targets=${FUZZ_TARGETS:-cookie_header session_id bearer_header jwt_verify claims_decode}

if ! cargo fuzz --version >/dev/null 2>&1; then
  if [ "${PORTCULLIS_INSTALL_CARGO_FUZZ:-0}" = "1" ]; then
    echo "== installing cargo-fuzz (cargo install cargo-fuzz --locked)"
    cargo install cargo-fuzz --locked
  else
    echo "fuzz-smoke: skipped: cargo-fuzz not installed (set PORTCULLIS_INSTALL_CARGO_FUZZ=1 to install it)"
    exit 0
  fi
fi

export RUSTC_BOOTSTRAP=1
start=$(date +%s)
echo "== cargo fuzz build (sanitizer: $sanitizer, debug assertions on)"
cargo fuzz build -a -s "$sanitizer"

log_dir=$(mktemp -d)
trap 'rm -rf "$log_dir"' EXIT
passed=0
failed=0
for t in $targets; do
  # Fresh working corpus each run; the committed seeds are read-only inputs.
  corpus="$log_dir/corpus-$t"
  mkdir -p "$corpus"
  log="$log_dir/$t.log"
  if cargo fuzz run -a -s "$sanitizer" "$t" "$corpus" "fuzz/seeds/$t" -- \
      -max_total_time="$secs" -print_final_stats=1 -close_fd_mask=1 >"$log" 2>&1; then
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    cov=$(grep -Eo 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -n 1)
    echo "fuzz-smoke: $t ok (${secs}s, ${execs:-?} execs, ${cov:-no stats})"
    passed=$((passed + 1))
  else
    echo "fuzz-smoke: $t FAILED; the end of its log:"
    tail -n 60 "$log"
    # Keep the crashing input where cargo fuzz put it (fuzz/artifacts/$t/).
    failed=$((failed + 1))
  fi
done
echo "fuzz-smoke: $(( $(date +%s) - start ))s in all"
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
