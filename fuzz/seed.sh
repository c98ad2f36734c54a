#!/bin/sh
# Seeds fuzz/corpus/<target>/ with a few real corpus files. The copies are not
# committed (/fuzz/corpus is gitignored): the corpus lives beside the repo.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
corpus=${CORPUS:-$here/../../shared/corpus}
[ -d "$corpus" ] || { echo "corpus not found at $corpus (set CORPUS=...)" >&2; exit 1; }

seed() { # target file...
    target=$1; shift
    mkdir -p "$here/corpus/$target"
    for f in "$@"; do cp "$f" "$here/corpus/$target/$(seed_name "$f")"; done
}

seed_name() { # .../service/document/file -> service-document-file
    echo "$(basename "$(dirname "$(dirname "$1")")")-$(basename "$(dirname "$1")")-$(basename "$1")"
}

md="$corpus/twitter/privacy-policy/2023-08-24T095329Z.md
$corpus/reddit/privacy-policy/2021-01-07T014808Z.md
$corpus/google/privacy-policy/2020-07-29T143020Z.md
$corpus/twitter/terms-of-service/2020-07-29T133237Z.md"
# shellcheck disable=SC2086
seed extract_markdown $md
# shellcheck disable=SC2086
seed clauses_split $md
seed extract_html "$corpus"/twitter/privacy-policy/snapshots/*.html "$here"/../src/pipeline/classify/testdata/*.html
# command_parse: real mention HTML from the parser's fixtures.
mkdir -p "$here/corpus/command_parse"
cp "$here"/../src/mentions/testdata/*.html "$here/corpus/command_parse/"
# classify: the target reads 2 bytes of status (little endian), 2 bytes for
# the extraction check, one header line, then the body.
mkdir -p "$here/corpus/classify"
for f in "$here"/../src/pipeline/classify/testdata/*.html; do
    { printf '\310\000\012\100content-type: text/html\n'; cat "$f"; } > "$here/corpus/classify/$(basename "$f")"
done
# diff: two consecutive versions concatenated, so the halves are the old and new side.
mkdir -p "$here/corpus/diff"
cat "$corpus/twitter/privacy-policy/2023-05-18T184358Z.md" "$corpus/twitter/privacy-policy/2023-09-29T231259Z.md" \
    > "$here/corpus/diff/twitter-2023-05-vs-2023-09"
cat "$corpus/reddit/privacy-policy/2020-12-29T070418Z.md" "$corpus/reddit/privacy-policy/2021-01-07T014808Z.md" \
    > "$here/corpus/diff/reddit-truncated"
echo "seeded $(find "$here/corpus" -type f | wc -l) files under $here/corpus"
