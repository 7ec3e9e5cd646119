#!/bin/sh
# Stub hook tool for the cold-start benchmark: shell builtins only (no forks), so the figures
# measure the charm, not the stub. Answers from answers/<tool>, drains stdin for `--file -`,
# appends the tool name to calls.log.
d=${0%/*}
t=${0##*/}
prev=
for a in "$@"; do
  if [ "$prev" = "--file" ] && [ "$a" = "-" ]; then
    while IFS= read -r _ || [ -n "$_" ]; do :; done
  fi
  prev=$a
done
printf '%s\n' "$t" >>"$d/calls.log"
if [ -f "$d/answers/$t" ]; then
  while IFS= read -r line || [ -n "$line" ]; do printf '%s\n' "$line"; done <"$d/answers/$t"
fi
exit 0
