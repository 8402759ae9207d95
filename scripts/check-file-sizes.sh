#!/usr/bin/env bash
# Fail when a tracked file is over the size limit (5 MB by default): test media are
# generated or taken from registry packages, never committed.
set -euo pipefail
limit=${1:-5242880}
cd "$(git rev-parse --show-toplevel)"
too_big=$(git ls-files -z | xargs -0 -r stat --format='%s %n' -- 2>/dev/null \
    | awk -v limit="$limit" '$1 > limit { print }')
if [ -n "$too_big" ]; then
    echo "tracked files over $limit bytes (generate them, or take them from a registry package):" >&2
    echo "$too_big" >&2
    exit 1
fi
