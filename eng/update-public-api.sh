#!/usr/bin/env bash
# Adds every public symbol the PublicApiAnalyzers report as undeclared (RS0016) to PublicAPI.Unshipped.txt.
# `dotnet format analyzers --diagnostics RS0016` does nothing on SDK 10 (see shared/TOOLCHAIN.md §5).
set -euo pipefail
project=${1:-src/FastProxy}
file="$project/PublicAPI.Unshipped.txt"
new=$(dotnet build "$project" --no-incremental 2>&1 | grep -oP "RS0016: Symbol '\K[^']+(?=' is not part)" | sort -u || true)
{ tail -n +2 "$file"; printf '%s\n' "$new"; } | grep -v '^$' | sort -u > "$file.tmp"
{ echo '#nullable enable'; cat "$file.tmp"; } > "$file"; rm "$file.tmp"
echo "$(echo "$new" | grep -c . || true) symbols added to $file"
