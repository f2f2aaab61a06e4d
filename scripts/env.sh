# Sourced by the scripts: one build directory outside the clone, shared by developers' runs,
# the quick start and CI, so the (long) dependency build happens once per machine.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/zenith-build/target}"
export ZNT="$CARGO_TARGET_DIR/release/znt"
