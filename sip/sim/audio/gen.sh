#!/bin/sh
# Regenerates the simulator's bundled speech: 8 kHz mono 16-bit WAVs made
# with espeak-ng (text to speech) and sox (resample, telephone band-pass,
# normalise). Beeps and SIT tones are synthesized in Go, not stored here.
# Run from anywhere: sh sip/sim/audio/gen.sh
set -eu
cd "$(dirname "$0")"
command -v espeak-ng >/dev/null || { echo "espeak-ng is required" >&2; exit 1; }
command -v sox >/dev/null || { echo "sox is required" >&2; exit 1; }

say() { # say FILE VOICE SPEED TEXT
	out=$1 voice=$2 speed=$3
	shift 3
	tmp=$(mktemp --suffix=.wav)
	espeak-ng -v "$voice" -s "$speed" -w "$tmp" "$*"
	# Telephone channel: 8 kHz, 300-3400 Hz, normalised to -3 dBFS.
	sox "$tmp" -r 8000 -c 1 -b 16 -e signed-integer "$out" sinc 300-3400 norm -3
	rm -f "$tmp"
}

sayTrimmed() { # sayTrimmed FILE VOICE SPEED TEXT: say, without the silence around the words
	say "$@"
	sox "$1" "$1.trim.wav" silence 1 0.05 0.5% reverse silence 1 0.05 0.5% reverse
	mv "$1.trim.wav" "$1"
}

say hello1.wav en-us 160 "Hello?"
say hello2.wav en-us+f3 150 "Hello, who is this?"
say hello3.wav en-gb 155 "Yeah, hello."
say greeting_short.wav en-us 170 "Hi, leave a message."
say greeting_medium.wav en-us+f2 165 "Hi, you have reached Sam. I can't take your call right now. Please leave a message after the tone."
say greeting_long.wav en-gb 160 "Hello, you have reached the voicemail of Alex Morgan at Northwind Traders. I am either on the other line or away from my desk. Please leave your name, your number and a short message after the tone, and I will get back to you as soon as I can. Thank you."
say announce.wav en-us 165 "The number you have dialed is not in service."
say message.wav en-us 165 "Hello, this is Cadenza calling about your appointment tomorrow at ten. Please call us back. Thank you."
# The agent speaks briskly and without leading silence: every connected
# call waits for the greeting, and the demo's first wave lasts as long as
# its connected calls.
sayTrimmed agent.wav en-us+m3 190 "Hi there, how can I help?"
