#!/usr/bin/env bash
# bench/sidebyside.sh: the side-by-side run of bench/README.md ("Latest run"):
# Trunkline against Kamailio's full pipeline with topoh, Go load generator —
# the ladder to both maxima, five interleaved pairs at 500, 1,000 and 3,000
# calls/s, the same ladder on two cores, then the sipp ladder (bench/run.sh).
# About 30 minutes on a quiet 2-CPU machine; results (logs and JSON) go to
# the directory given (default: a new temporary one). Needs what bench/run.sh
# needs, and bin/sipload.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-$(mktemp -d /tmp/sidebyside-XXXXXX)}
mkdir -p "$out"
make build >/dev/null
CGO_ENABLED=0 go build -o bin/sipbench ./bench/cmd/sipbench
CGO_ENABLED=0 go build -o bin/sipload ./bench/cmd/sipload
gen=(bin/sipbench -generator go -systems trunkline,kamailio-full -hold 0)
echo "results in $out; commit $(git rev-parse --short HEAD)"
echo "ladder $(date -u +%H:%M:%S)"
"${gen[@]}" -ladder 1000,2000,2500,3000,3500,4000,5000,6000,7000,8000,9000,10000 -runs 3 -fixed-rate 1000 -fixed-for 10s \
	-out "$out/ladder.json" >"$out/ladder.log" 2>&1
for r in 500 1000 3000; do
	for i in 1 2 3 4 5; do
		echo "fixed $r/s, pair $i $(date -u +%H:%M:%S)"
		"${gen[@]}" -ladder 0 -fixed-rate "$r" -fixed-for 10s -runs 1 -out "$out/fixed-$r-$i.json" >"$out/fixed-$r-$i.log" 2>&1
	done
done
echo "two cores $(date -u +%H:%M:%S)"
"${gen[@]}" -switch-cpu 0,1 -sipp-cpu 0,1 -generator-nice 10 -ladder 3000,4000,5000,6000,7000,8000,9000,10000,11000,12000,13000,14000 \
	-runs 3 -fixed-rate 1000 -fixed-for 10s -out "$out/twocores.json" >"$out/twocores.log" 2>&1
echo "sipp ladder $(date -u +%H:%M:%S)"
bash bench/run.sh -systems trunkline,kamailio-full >"$out/sipp.log" 2>&1
echo "done $(date -u +%H:%M:%S)"
