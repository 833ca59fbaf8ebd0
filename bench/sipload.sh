#!/usr/bin/env bash
# bench/sipload.sh: how many calls per second the Go load generator itself sustains, UAC straight
# to UAS on loopback with no switch between them (bench/README.md, "Load generator").
# The UAS is pinned to CPU 0, the UAC to CPU 1; each rate places 4 s of calls of 1 s.
#
#   bench/sipload.sh 14000 30000 50000
#
# Prints one line per rate: calls created, succeeded, failed, retransmissions, the rate achieved,
# CPU µs per call of each side (utime+stime over the run: /usr/bin/time, /proc) and INVITE->200 p50/p99.
# Needs net.core.rmem_max and wmem_max of at least 4 MiB (bench/run.sh's sipbench raises rmem_max).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
[ $# -gt 0 ] || set -- 14000 30000 50000
work=$(mktemp -d)
CGO_ENABLED=0 go build -o "$work/sipload" ./bench/cmd/sipload
printf 'SEQUENTIAL\n' >"$work/numbers.csv"
for i in $(seq 1 1000); do printf '4420%07d;\n' "$i" >>"$work/numbers.csv"; done
port=15873
ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
for rate in "$@"; do
	taskset -c 0 "$work/sipload" -mode uas -bind "127.0.0.1:$port" -out "$work/uas.json" 2>/dev/null &
	uas=$!
	sleep 0.3
	u0=$(ticks "$uas")
	/usr/bin/time -f "%U %S" -o "$work/uac.time" taskset -c 1 "$work/sipload" -mode uac -target "127.0.0.1:$port" \
		-rate "$rate" -duration 4s -hold 1s -numbers "$work/numbers.csv" -out "$work/uac.json" 2>/dev/null || true
	u1=$(ticks "$uas")
	kill -TERM "$uas"
	wait "$uas" || true
	python3 - "$rate" "$(cat "$work/uac.time")" "$((u1 - u0))" "$work/uac.json" <<'EOF'
import json, os, sys
rate, uac_cpu, uas_ticks, path = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
hz = os.sysconf("SC_CLK_TCK")
uac_s = sum(float(x) for x in uac_cpu.split()[-2:])
d = json.load(open(path))["uac"]
n = max(d["succeeded"], 1)
print(f"{rate:>6}/s: created {d['created']} succeeded {d['succeeded']} failed {d['failed']} {d.get('failures', '')}"
      f" retransmitted INVITE/BYE {d['invite_retransmissions']}/{d['bye_retransmissions']}, achieved {d['rate']:.0f}/s;"
      f" CPU µs/call UAC {1e6 * uac_s / n:.1f} UAS {1e6 * uas_ticks / hz / n:.1f};"
      f" INVITE->200 p50 {d['invite_to_200']['p50_us']} p99 {d['invite_to_200']['p99_us']} µs")
EOF
	sleep 1
done
rm -rf "$work"
