#!/usr/bin/env bash
# bench/sidebyside.sh: the side-by-side run of bench/README.md ("Latest run"):
# Trunkline against Kamailio's full pipeline with topoh, Go load generator —
# the ladder to both sustained maxima (10 s steps, the last call done within
# 0.5 s of its due end), five interleaved pairs at 500, 1,000 and 3,000
# calls/s, the added PDD at half of Trunkline's max interleaved with the
# floor (Kamailio's stateless forward in one process), the same ladder on
# two cores, then the sipp ladder (bench/run.sh). About 35 minutes on a
# quiet 2-CPU machine; results (logs and JSON) go to the directory given
# (default: a new temporary one). Needs what bench/run.sh needs, and
# bin/sipload.
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
sustained=(-step 10s -lag 500ms)
"${gen[@]}" "${sustained[@]}" -ladder 1000,2000,2500,3000,3500,4000,4500,5000,5500,6000,7000,8000,9000,10000 -runs 3 -fixed-rate 1000 -fixed-for 10s \
	-out "$out/ladder.json" >"$out/ladder.log" 2>&1
half=$(python3 -c 'import json,sys; print(max(1000, [r for r in json.load(open(sys.argv[1])) if r["system"] == "trunkline"][0]["max_cps"] // 2))' "$out/ladder.json")
for i in 1 2 3; do
	echo "added PDD at $half/s (half of Trunkline's max), trunkline and the floor, run $i $(date -u +%H:%M:%S)"
	"${gen[@]}" -systems trunkline -ladder 0 -fixed-rate "$half" -fixed-for 10s -runs 1 -out "$out/half-trunkline-$i.json" >"$out/half-trunkline-$i.log" 2>&1
	"${gen[@]}" -systems kamailio-stateless -kamailio-children 1 -ladder 0 -fixed-rate "$half" -fixed-for 10s -runs 1 -out "$out/half-floor-$i.json" >"$out/half-floor-$i.log" 2>&1
done
for r in 500 1000 3000; do
	for i in 1 2 3 4 5; do
		echo "fixed $r/s, pair $i $(date -u +%H:%M:%S)"
		"${gen[@]}" -ladder 0 -fixed-rate "$r" -fixed-for 10s -runs 1 -out "$out/fixed-$r-$i.json" >"$out/fixed-$r-$i.log" 2>&1
	done
done
echo "two cores $(date -u +%H:%M:%S)"
"${gen[@]}" "${sustained[@]}" -switch-cpu 0,1 -sipp-cpu 0,1 -generator-nice 10 -ladder 3000,4000,5000,6000,7000,8000,9000,10000,11000,12000,13000,14000 \
	-runs 3 -fixed-rate 1000 -fixed-for 10s -out "$out/twocores.json" >"$out/twocores.log" 2>&1
echo "sipp ladder $(date -u +%H:%M:%S)"
bash bench/run.sh -systems trunkline,kamailio-full >"$out/sipp.log" 2>&1
echo "done $(date -u +%H:%M:%S)"
