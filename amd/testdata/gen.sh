#!/usr/bin/env bash
# gen.sh builds the labelled AMD corpus offline from synthetic speech.
#
#   amd/testdata/gen.sh [OUTDIR [fresh [SEED]]]   (default: amd/testdata/corpus)
#
# Needs espeak-ng and sox. Deterministic: a fixed-seed LCG below picks every
# text, voice, level, pause and noise offset; sox runs with -R (repeatable
# noise and dither), so two runs on the same tool versions give the same files.
#
# Every file is 8 kHz mono 16-bit PCM, time 0 = the moment of answer. The
# audio goes through a telephone channel: band-pass 300-3400 Hz, a mu-law
# round trip, a level between -30 and -10 dBFS (RMS of the speech), and
# optionally white, pink or brown noise at 25, 15 or 10 dB SNR.
#
# labels.csv: file, label (human|machine|silence|sit), beep_end_ms (end of
# the last beep, from the generator's sample counts; empty if none), set
# (train|holdout), kind (what was drawn), speech_start_ms, greeting_end_ms.
# Classes:
#   human   speech starts 150-600 ms after answer, then 4 s in all
#           easy: a short answer ("Hello?", "Yeah, hi", "This is Mark")
#           hard: a longer first sentence, two hellos with a gap, low level,
#                 10 dB SNR noise
#   machine greetings of 3-9 s (12-16 s for the "long" kind) built from
#           recorded-greeting sentences with 250-600 ms pauses, then 0-600 ms
#           of silence and a beep of 300-2,500 Hz (kinds pin 350 Hz, 2,300 Hz
#           and 90 ms), 90-1,000 ms long, -24 to -8 dBFS peak, sometimes
#           doubled (80-200 ms apart), or no beep at all ("nobeep")
#   silence dead air: line noise only (-70 to -45 dBFS), sometimes a click
#   sit     the three SIT tones then an intercept announcement
# Set "train" uses one group of voices and seed; set "holdout" other voices
# and another seed, to check that the detector generalizes.
set -euo pipefail
export LC_ALL=C

OUT=${1:-"$(cd "$(dirname "$0")" && pwd)/corpus"}
mkdir -p "$OUT"
rm -f "$OUT"/*.wav
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
SOX=(sox -R -q -V1)
FMT=(-r 8000 -c 1 -b 16 -e signed-integer)
LABELS="$OUT/labels.csv"
echo "file,label,beep_end_ms,set,kind,speech_start_ms,greeting_end_ms" >"$LABELS"

# --- deterministic random numbers ------------------------------------------
SEED=1
rnd() { # rnd N -> R in [0,N)
	SEED=$(((SEED * 1103515245 + 12345) % 2147483648))
	R=$(((SEED / 65536) % $1))
}
range() { # range LO HI -> R in [LO,HI]
	rnd $(($2 - $1 + 1))
	R=$((R + $1))
}
pick() { # pick ARRAYNAME -> P
	local -n arr=$1
	rnd ${#arr[@]}
	P=${arr[$R]}
}

# --- building blocks (all write 8 kHz mono 16-bit files) -------------------
nsamp() { soxi -s "$1"; }

# say VOICE TEXT OUT: speech with leading/trailing silence trimmed, at
# roughly -20 dBFS; the speed and pitch vary.
say() {
	local speed pitch
	range 150 195
	speed=$R
	range 30 70
	pitch=$R
	espeak-ng -v "$1" -s "$speed" -p "$pitch" -w "$TMP/es.wav" "$2"
	"${SOX[@]}" "$TMP/es.wav" "${FMT[@]}" "$3" \
		silence 1 0.005 0.3% reverse silence 1 0.005 0.3% reverse
}

silence() { # silence MS OUT
	"${SOX[@]}" -n "${FMT[@]}" "$2" trim 0 "$(msec "$1")"
}

msec() { printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)); }

# tone HZ MS DB OUT: a sine with 4 ms ramps, peak level DB dBFS.
tone() {
	"${SOX[@]}" -n "${FMT[@]}" "$4" synth "$(msec "$2")" sine "$1" fade t 0.004 -0 0.004 gain "$3"
}

rmsdb() { "${SOX[@]}" "$1" -n stats 2>&1 | awk '/RMS lev dB/ {print $4}'; }

# Long noise beds, made once; each file takes a slice at a random offset.
for kind in white pink brown; do
	"${SOX[@]}" -n "${FMT[@]}" "$TMP/bed-$kind.wav" synth 120 "${kind}noise" sinc 300-3400 norm -20
done

# channel IN OUT LEVEL SNR NOISE: telephone band, speech at LEVEL dBFS RMS
# (measured on the voiced parts), noise at LEVEL-SNR (SNR 0 = no noise),
# mu-law round trip.
channel() {
	local in=$1 out=$2 level=$3 snr=$4 noise=$5 cur gain dur off
	"${SOX[@]}" "$in" "$TMP/bp.wav" sinc 300-3400
	"${SOX[@]}" "$TMP/bp.wav" "$TMP/voiced.wav" silence 1 0.01 1% -1 0.05 1% 2>/dev/null || true
	cur=$(rmsdb "$TMP/voiced.wav")
	[[ $cur == -inf || -z $cur ]] && cur=$(rmsdb "$TMP/bp.wav")
	[[ $cur == -inf ]] && cur=$level
	gain=$(awk -v l="$level" -v c="$cur" 'BEGIN {printf "%.2f", l - c}')
	"${SOX[@]}" "$TMP/bp.wav" "$TMP/lv.wav" gain "$gain"
	if [[ $snr -gt 0 ]]; then
		dur=$(nsamp "$TMP/lv.wav")
		rnd 800000
		off=$R
		# beds are at -20 dBFS peak; measure and set the RMS
		"${SOX[@]}" "$TMP/bed-$noise.wav" "$TMP/nz0.wav" trim "${off}s" "${dur}s"
		cur=$(rmsdb "$TMP/nz0.wav")
		gain=$(awk -v l="$level" -v s="$snr" -v c="$cur" 'BEGIN {printf "%.2f", l - s - c}')
		"${SOX[@]}" "$TMP/nz0.wav" "$TMP/nz.wav" gain "$gain"
		"${SOX[@]}" -m -v 1 "$TMP/lv.wav" -v 1 "$TMP/nz.wav" "$TMP/mx.wav"
	else
		cp "$TMP/lv.wav" "$TMP/mx.wav"
	fi
	"${SOX[@]}" "$TMP/mx.wav" -t wav -e u-law "$TMP/ul.wav"
	"${SOX[@]}" "$TMP/ul.wav" "${FMT[@]}" "$out"
}

# Level and noise condition for a file: mostly clean and mid-level, some hard.
condition() {
	local levels=(-30 -26 -22 -18 -14 -10) snrs=(0 0 25 15 10) noises=(white pink brown)
	pick levels
	LEVEL=$P
	pick snrs
	SNR=$P
	pick noises
	NOISE=$P
}

emit() { # emit FILE LABEL BEEP_END SET KIND SPEECH_START GREETING_END
	echo "$1,$2,$3,$4,$5,$6,$7" >>"$LABELS"
}

# --- texts ------------------------------------------------------------------
EASY=("Hello?" "Hello." "Yeah, hi." "Hi." "Hello, yes?" "This is Mark." "Yes?" "Hi there."
	"Speaking." "Hello, who is it?" "Yeah?" "Good morning." "Hey." "Sarah speaking.")
LONG=("Hello, this is Mark speaking, who is calling?" "Hi, yes, this is Jennifer, how can I help you?"
	"Good afternoon, Miller residence, Tom speaking." "Hello, you've got Sam, what's up?"
	"Yeah, hi, sorry, I was just in the other room.")
SENT=("Hi, you have reached Mark." "Hello, this is Jennifer Miller." "You have reached the Johnson family."
	"I can't come to the phone right now." "Sorry we missed your call." "Please leave your name and number."
	"and I will get back to you as soon as possible." "Leave a message after the tone." "Thanks for calling."
	"We are away from the office at the moment." "Our office hours are nine to five, Monday to Friday."
	"If this is urgent, please call my mobile." "Have a great day." "Please record your message."
	"The person you are calling is not available." "At the tone, please record your message."
	"When you have finished recording, you may hang up." "Hi, it's Dave, do your thing.")
SITTEXT=("The number you have dialed is not in service. Please check the number and try again."
	"We're sorry, your call cannot be completed as dialed."
	"The number you have reached has been disconnected.")
BEEPHZ=(350 440 500 600 700 800 850 1000 1200 1400 1500 1800 2000 2300 2500 300 950 1600)
BEEPMS=(90 100 150 200 250 300 400 430 500 700 1000)

# --- generators ---------------------------------------------------------------
human() { # human NAME SET KIND VOICE
	local name=$1 set=$2 kind=$3 voice=$4 lead parts=() total start
	range 150 600
	lead=$R
	silence "$lead" "$TMP/h0.wav"
	parts+=("$TMP/h0.wav")
	case $kind in
	easy | lowlevel | noisy)
		pick EASY
		say "$voice" "$P" "$TMP/h1.wav"
		parts+=("$TMP/h1.wav")
		;;
	long)
		pick LONG
		say "$voice" "$P" "$TMP/h1.wav"
		parts+=("$TMP/h1.wav")
		;;
	twohellos)
		say "$voice" "Hello?" "$TMP/h1.wav"
		range 700 1500
		silence "$R" "$TMP/h2.wav"
		say "$voice" "Hello?" "$TMP/h3.wav"
		parts+=("$TMP/h1.wav" "$TMP/h2.wav" "$TMP/h3.wav")
		;;
	esac
	silence 4000 "$TMP/ht.wav"
	parts+=("$TMP/ht.wav")
	"${SOX[@]}" "${parts[@]}" "$TMP/hraw.wav" trim 0 4.0
	condition
	case $kind in
	lowlevel) LEVEL=-30 ;;
	noisy) SNR=10 ;;
	esac
	channel "$TMP/hraw.wav" "$OUT/$name.wav" "$LEVEL" "$SNR" "$NOISE"
	emit "$name.wav" human "" "$set" "$kind/${LEVEL}dB/snr$SNR" "$lead" ""
}

machine() { # machine NAME SET KIND VOICE
	local name=$1 set=$2 kind=$3 voice=$4 target lead n=0 parts=() i pause hz ms gap blevel beepend="" greetend
	range 3000 9000
	target=$R
	[[ $kind == long ]] && { range 12000 16000; target=$R; }
	range 100 500
	lead=$R
	silence "$lead" "$TMP/m0.wav"
	parts+=("$TMP/m0.wav")
	n=$((lead * 8)) # running length in samples
	i=0
	while [[ $n -lt $(((target - 800) * 8)) && $i -lt 14 ]]; do
		pick SENT
		say "$voice" "$P" "$TMP/ms$i.wav"
		parts+=("$TMP/ms$i.wav")
		n=$((n + $(nsamp "$TMP/ms$i.wav")))
		range 250 600
		pause=$R
		silence "$pause" "$TMP/mp$i.wav"
		parts+=("$TMP/mp$i.wav")
		n=$((n + pause * 8))
		i=$((i + 1))
	done
	greetend=$(((n - pause * 8) / 8))
	if [[ $kind != nobeep ]]; then
		pick BEEPHZ
		hz=$P
		pick BEEPMS
		ms=$P
		[[ $kind == shortbeep ]] && ms=90
		[[ $kind == lowbeep ]] && hz=350
		[[ $kind == highbeep ]] && hz=2300
		range 0 600
		gap=$R
		range 8 24
		blevel=-$R
		silence "$gap" "$TMP/mg.wav"
		tone "$hz" "$ms" "$blevel" "$TMP/mb.wav"
		parts+=("$TMP/mg.wav" "$TMP/mb.wav")
		n=$((n + (gap + ms) * 8))
		if [[ $kind == doublebeep ]]; then
			range 80 200
			silence "$R" "$TMP/mg2.wav"
			tone "$hz" "$ms" "$blevel" "$TMP/mb2.wav"
			parts+=("$TMP/mg2.wav" "$TMP/mb2.wav")
			n=$((n + (R + ms) * 8))
		fi
		beepend=$((n / 8))
		silence 1000 "$TMP/mt.wav"
	else
		silence 3000 "$TMP/mt.wav"
	fi
	parts+=("$TMP/mt.wav")
	"${SOX[@]}" "${parts[@]}" "$TMP/mraw.wav"
	condition
	channel "$TMP/mraw.wav" "$OUT/$name.wav" "$LEVEL" "$SNR" "$NOISE"
	emit "$name.wav" machine "$beepend" "$set" "$kind/${hz:-0}Hz/${ms:-0}ms/${blevel:-0}dB/${LEVEL}dB/snr$SNR" "$lead" "$greetend"
}

deadair() { # deadair NAME SET
	local name=$1 set=$2 levels=(-70 -60 -55 -50 -45) noises=(white pink brown)
	pick levels
	local lv=$P
	pick noises
	local nz=$P
	rnd 800000
	"${SOX[@]}" "$TMP/bed-$nz.wav" "$TMP/d0.wav" trim "${R}s" 40000s
	local cur
	cur=$(rmsdb "$TMP/d0.wav")
	"${SOX[@]}" "$TMP/d0.wav" "$TMP/d1.wav" gain "$(awk -v l="$lv" -v c="$cur" 'BEGIN {printf "%.2f", l - c}')"
	rnd 3
	if [[ $R -eq 0 ]]; then # a click of the handset at a random time
		range 500 4000
		local at=$R
		silence "$at" "$TMP/c0.wav"
		"${SOX[@]}" -n "${FMT[@]}" "$TMP/c1.wav" synth 0.01 square 150 gain -12
		silence 1000 "$TMP/c2.wav"
		"${SOX[@]}" "$TMP/c0.wav" "$TMP/c1.wav" "$TMP/c2.wav" "$TMP/c3.wav" trim 0 5
		"${SOX[@]}" -m -v 1 "$TMP/d1.wav" -v 1 "$TMP/c3.wav" "$TMP/d2.wav"
	else
		cp "$TMP/d1.wav" "$TMP/d2.wav"
	fi
	"${SOX[@]}" "$TMP/d2.wav" -t wav -e u-law "$TMP/dul.wav"
	"${SOX[@]}" "$TMP/dul.wav" "${FMT[@]}" "$OUT/$name.wav"
	emit "$name.wav" silence "" "$set" "noise/${nz}/${lv}dB" "" ""
}

sit() { # sit NAME SET VOICE
	local name=$1 set=$2 voice=$3 d1 d2 f1 f2 lows=(913.8 985.2) mids=(1370.6 1428.5) durs=(274 380)
	pick lows
	f1=$P
	pick mids
	f2=$P
	pick durs
	d1=$P
	pick durs
	d2=$P
	range 100 400
	silence "$R" "$TMP/s0.wav"
	tone "$f1" "$d1" -14 "$TMP/s1.wav"
	tone "$f2" "$d2" -14 "$TMP/s2.wav"
	tone 1776.7 380 -14 "$TMP/s3.wav"
	silence 200 "$TMP/s4.wav"
	pick SITTEXT
	say "$voice" "$P" "$TMP/s5.wav"
	"${SOX[@]}" "$TMP/s0.wav" "$TMP/s1.wav" "$TMP/s2.wav" "$TMP/s3.wav" "$TMP/s4.wav" "$TMP/s5.wav" "$TMP/sraw.wav" trim 0 5
	condition
	channel "$TMP/sraw.wav" "$OUT/$name.wav" "$LEVEL" "$SNR" "$NOISE"
	emit "$name.wav" sit "" "$set" "sit/${f1}/${f2}/${LEVEL}dB/snr$SNR" "" ""
}

# build SET SEED VOICES... : one set with its own voices and random stream.
build() {
	local set=$1 scale=$2 i k kinds
	SEED=$3
	shift 3
	local voices=("$@")
	i=0
	kinds=(easy easy easy easy easy lowlevel noisy long twohellos)
	for ((k = 0; k < 48 / scale; k++)); do
		pick voices
		human "$set-human-$(printf %03d $i)" "$set" "${kinds[$((k % ${#kinds[@]}))]}" "$P"
		i=$((i + 1))
	done
	kinds=(beep beep beep beep doublebeep shortbeep lowbeep highbeep nobeep nobeep long beep)
	for ((k = 0; k < 54 / scale; k++)); do
		pick voices
		machine "$set-machine-$(printf %03d $i)" "$set" "${kinds[$((k % ${#kinds[@]}))]}" "$P"
		i=$((i + 1))
	done
	for ((k = 0; k < 9 / scale; k++)); do
		deadair "$set-silence-$(printf %03d $i)" "$set"
		i=$((i + 1))
	done
	for ((k = 0; k < 6 / scale; k++)); do
		pick voices
		sit "$set-sit-$(printf %03d $i)" "$set" "$P"
		i=$((i + 1))
	done
}

if [[ ${2:-} == fresh ]]; then
	# A sample never used while tuning: other voices, another seed, not
	# committed. Run: gen.sh /tmp/fresh fresh 99 && cadenza amd eval /tmp/fresh
	build fresh 2 "${3:-4242}" en-gb-x-rp+f1 en-us+m2 en+Alicia en-029+m4 en-gb+m6 en-us-nyc+f2
else
	build train 1 20261123 en-us en-us+f3 en+m3 en-gb+f2 en-gb-x-rp+m1 en-029+f4 en-us+m7
	build holdout 3 777 en-gb-scotland+f5 en-us-nyc+m5 en+klatt en-gb-x-gbclan+f1 en+Annie
fi
echo "wrote $(($(wc -l <"$LABELS") - 1)) files to $OUT" >&2
