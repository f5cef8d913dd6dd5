#!/bin/sh
# Prints the Debian packages of the languages named in $1 ("python c go",
# or "full" for every file in languages/), from each languages/<name>.yaml's
# `packages: [a, b]` line. Used by deploy/Dockerfile.
#   lang-packages.sh "python c" languages/
set -eu
want=$1
dir=${2:-languages}
if [ "$want" != full ]; then
    for w in $want; do
        grep -qx "name: *$w" "$dir"/*.yaml ||
            { echo "lang-packages.sh: no language named '$w' in $dir" >&2; exit 1; }
    done
fi
for f in "$dir"/*.yaml; do
    name=$(sed -n 's/^name: *//p' "$f")
    if [ "$want" != full ]; then
        case " $want " in *" $name "*) ;; *) continue ;; esac
    fi
    sed -n 's/^packages: *\[\(.*\)\]/\1/p' "$f" | tr ',' ' '
done | tr -s ' \n' '\n\n' | sed '/^$/d' | sort -u | tr '\n' ' '
