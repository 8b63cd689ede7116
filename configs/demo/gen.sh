#!/bin/sh
# Regenerates the demo's voicemail messages (8 kHz mono 16-bit WAV, band-passed
# to the telephone band, normalised to -3 dBFS, silence trimmed at both ends).
set -eu
say() { espeak-ng -s 240 -w "$1.tmp.wav" "$2"; sox "$1.tmp.wav" -r 8000 -c 1 -b 16 "$1" sinc 300-3400 norm -3 \
	silence 1 0.05 0.5% reverse silence 1 0.05 0.5% reverse; rm -f "$1.tmp.wav"; }
say vm-intro.wav "Acme Solar here. Please call us back."
say vm-final.wav "Acme Solar, last call. Call us back."
