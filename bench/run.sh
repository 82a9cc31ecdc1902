#!/usr/bin/env bash
# Reproducible benchmark of Hearth on one machine, in one run:
#   - warm invoke latency and throughput: straight to a worker, through nginx
#     (upstream keepalive, balancing over eight workers), and through Hearth,
#     all to the same eight worker processes (Hearth's eight provisioned
#     echo-workers); and nginx to eight echo-workers outside any cgroup;
#   - cold start of the built-in XGBoost runtime and of a bring-your-own worker;
#   - a provisioned endpoint's first request after an idle gap;
#   - the built-in XGBoost runtime in worker processes (--builtin-runtime
#     process, the default) against a second server running it in-process
#     (--builtin-runtime in-process): cold start over raw HTTP and warm
#     throughput over eight provisioned workers;
#   - the in-process cold start back to back, without an idle gap (Go
#     benchmark);
#   - the CPU time Hearth and nginx spend per proxied request.
# Needs: go, nginx, wrk, and the AWS CLI (aws). Prints a Markdown report.
#
#   bench/run.sh [RUNS]        # RUNS repetitions (default 4); medians are reported
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-4}
DUR=${BENCH_DURATION:-8s}
# The proxies compared get the same parallelism: by default one thread of
# execution each (nginx's one worker process, GOMAXPROCS=1 for the Hearth
# that proxies to the echo-workers); PROXY_THREADS=2 gives each two (two
# nginx worker processes, GOMAXPROCS=2, Go's default on this machine). The
# in-process server always runs with Go's default.
PROXY_THREADS=${PROXY_THREADS:-1}
# HEARTH_GODEBUG is given to that Hearth as GODEBUG, for experiments with
# Go's scheduler (docs/BENCHMARKS.md, "Where the single-client latency goes").
for tool in go nginx wrk aws; do
	command -v "$tool" >/dev/null || { echo "bench: $tool is required" >&2; exit 1; }
done

work=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for n in nginx nginx-standalone; do
		[ -f "$work/$n.pid" ] && kill "$(cat "$work/$n.pid")" 2>/dev/null || true
	done
	rm -rf "$work"
}
trap cleanup EXIT

go build -o "$work/hearth" ./cmd/hearth
go build -o "$work/echo-worker" ./cmd/echo-worker
cp internal/xgboost/testdata/seed-abalone-tarball/model.tar.gz "$work/model.tar.gz"
payload=$(cat internal/xgboost/testdata/seed-abalone-tarball/payload.csv)
printf '%s' "$payload" > "$work/payload.csv"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
HP=$(free_port); NP=$(free_port); SP=$(free_port); IP=$(free_port)

# The echo workers use next to no memory: lift the budget so the eight
# provisioned ones and the on-demand endpoints all fit.
GODEBUG=${HEARTH_GODEBUG:-} GOMAXPROCS=$PROXY_THREADS "$work/hearth" serve --listen 127.0.0.1:$HP --data-dir "$work/data" --keep-warm 1s --metric-period 1s \
	--memory-budget 1000GiB --log-level warn >/dev/null 2>"$work/hearth.log" & pids+=($!)
hearth_pid=$!
# A second server with the built-in runtime in-process.
"$work/hearth" serve --listen 127.0.0.1:$IP --data-dir "$work/data-inprocess" --keep-warm 1s --metric-period 1s \
	--memory-budget 1000GiB --log-level warn --builtin-runtime in-process >/dev/null 2>"$work/hearth-inprocess.log" & pids+=($!)
for port in $HP $IP; do
	for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.05; done
done

export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench AWS_DEFAULT_REGION=us-east-1
H="aws --endpoint-url http://127.0.0.1:$HP"
deploy() { # name image artifact pc
	local name=$1 image=$2 data=$3 pc=$4
	local container="Image=$image"
	[ -n "$data" ] && container="$container,ModelDataUrl=$data"
	$H sagemaker create-model --model-name "$name" --primary-container "$container" >/dev/null
	local sc="\"MemorySizeInMB\":2048,\"MaxConcurrency\":8"
	[ "$pc" -gt 0 ] && sc="$sc,\"ProvisionedConcurrency\":$pc"
	$H sagemaker create-endpoint-config --endpoint-config-name "$name" \
		--production-variants "[{\"VariantName\":\"AllTraffic\",\"ModelName\":\"$name\",\"ServerlessConfig\":{$sc}}]" >/dev/null
	$H sagemaker create-endpoint --endpoint-name "$name" --endpoint-config-name "$name" >/dev/null
	local status
	while status=$($H sagemaker describe-endpoint --endpoint-name "$name" --query EndpointStatus --output text); [ "$status" != InService ]; do
		[ "$status" = Failed ] && { echo "bench: endpoint $name failed:" >&2; $H sagemaker describe-endpoint --endpoint-name "$name" --query FailureReason --output text >&2; exit 1; }
		sleep 0.05
	done
}
XGB=683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1
deploy echo-pc "$work/echo-worker" "" 8
deploy echo-od "$work/echo-worker" "" 0
deploy xgb-pc "$XGB" "file://$work/model.tar.gz" 1
deploy xgb-od "$XGB" "file://$work/model.tar.gz" 0
deploy xgb-tp "$XGB" "file://$work/model.tar.gz" 8
H="aws --endpoint-url http://127.0.0.1:$IP"
deploy xgb-od "$XGB" "file://$work/model.tar.gz" 0
deploy xgb-tp "$XGB" "file://$work/model.tar.gz" 8
H="aws --endpoint-url http://127.0.0.1:$HP"

# nginx proxies to the very worker processes Hearth serves echo-pc with
# (found by their environment), balancing over all eight as Hearth does,
# and "direct" sends to the first of them: every path ends in the same
# eight processes, in the cgroups Hearth made for them. A second nginx
# proxies to eight echo-workers started here, outside any cgroup, to show
# what the workers' cgroups cost any proxy.
WPS=()
for c in $(pgrep -P "$hearth_pid"); do
	env=$(tr '\0' '\n' <"/proc/$c/environ" 2>/dev/null) || continue
	grep -qx 'SAGEMAKER_ENDPOINT_NAME=echo-pc' <<<"$env" || continue
	WPS+=("$(sed -n 's/^SAGEMAKER_BIND_TO_PORT=//p' <<<"$env")")
done
[ ${#WPS[@]} -eq 8 ] || { echo "bench: found ${#WPS[@]} echo-pc workers, want 8" >&2; exit 1; }
WP=${WPS[0]}
SPS=()
for _ in 1 2 3 4 5 6 7 8; do
	p=$(free_port); SPS+=("$p")
	SAGEMAKER_BIND_TO_PORT=$p "$work/echo-worker" serve >/dev/null & pids+=($!)
done
nginx_conf() { # name port upstream-ports...
	local name=$1 port=$2; shift 2
	cat > "$work/$name.conf" <<NGINX
worker_processes $PROXY_THREADS;
pid $work/$name.pid;
error_log $work/$name-error.log;
events { worker_connections 1024; }
http {
	access_log off;
	upstream worker { $(for p in "$@"; do printf 'server 127.0.0.1:%s; ' "$p"; done) keepalive 64; }
	server {
		listen 127.0.0.1:$port;
		location / { proxy_pass http://worker; proxy_http_version 1.1; proxy_set_header Connection ""; }
	}
}
NGINX
	nginx -c "$work/$name.conf" -p "$work"
}
nginx_conf nginx "$NP" "${WPS[@]}"
nginx_conf nginx-standalone "$SP" "${SPS[@]}"
sleep 0.2
nginx_pids=$(pgrep -P "$(cat "$work/nginx.pid")" | paste -sd,)
nginx_standalone_pids=$(pgrep -P "$(cat "$work/nginx-standalone.pid")" | paste -sd,)

cat > "$work/post.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "text/csv"
wrk.body = os.getenv("BODY")
LUA
export BODY="$payload"

# wrk_run URL CONNECTIONS [PIDS] → "p50_us p99_us rps cpu_us_per_request_of_PIDS
# context_switches_per_request_of_PIDS"
ticks() { # PID[,PID...] → their utime+stime
	local t=0 p
	for p in ${1//,/ }; do t=$((t + $(awk '{ print $14 + $15 }' "/proc/$p/stat"))); done
	echo $t
}
switches() { # PID[,PID...] → the context switches of all their threads
	local p
	for p in ${1//,/ }; do cat "/proc/$p/task/"*/status; done |
		awk '/^(non)?voluntary_ctxt_switches/ { n += $2 } END { print n + 0 }'
}
wrk_run() {
	local t0 t1 s0 s1 out
	t0=$(ticks "${3:-}"); s0=$(switches "${3:-}")
	out=$(wrk -t1 -c"$2" -d"$DUR" --latency -s "$work/post.lua" "$1")
	t1=$(ticks "${3:-}"); s1=$(switches "${3:-}")
	awk -v ticks=$((t1 - t0)) -v sw=$((s1 - s0)) -v hz="$(getconf CLK_TCK)" '
		function us(v) { if (v ~ /us$/) return v+0; if (v ~ /ms$/) return (v+0)*1000; if (v ~ /s$/) return (v+0)*1000000; return v }
		/^ +50%/ { p50 = us($2) } /^ +99%/ { p99 = us($2) } /^Requests\/sec/ { rps = $2 } / requests in / { n = $1 }
		END { printf "%d %d %d %d %.1f\n", p50, p99, rps, n ? ticks * 1000000 / hz / n : 0, n ? sw / n : 0 }' <<<"$out"
}
# cold_raw PORT ENDPOINT FIRST → "first_p50_us again_p50_us" over raw HTTP
# (curl, a new connection each): 7 rounds of a request after 2 s idle (> 1 s
# keep-warm; FIRST is how it must be served: cold, or warm-provisioned for a
# provisioned endpoint's first request after idle), each followed by the
# same request again, warm, so that what the client, the connection and the
# machine's load cost shows in both.
cold_raw() {
	local cold=() warm=() line
	for _ in 1 2 3 4 5 6 7; do
		sleep 2
		again=warm-on-demand
		[ "$3" = warm-provisioned ] && again=warm-provisioned
		for want in "$3" "$again"; do
			line=$(curl -s -o /dev/null -w '%{time_total} %header{x-hearth-served-by}' -H 'Content-Type: text/csv' \
				--data-binary "@$work/payload.csv" "http://127.0.0.1:$1/endpoints/$2/invocations")
			[ "${line#* }" = $want ] || { echo "bench: $2 on :$1 served ${line#* }, want $want" >&2; exit 1; }
			us=$(awk -v s="${line%% *}" 'BEGIN { printf "%d", s * 1000000 }')
			if [ ${#cold[@]} -eq ${#warm[@]} ]; then cold+=("$us"); else warm+=("$us"); fi
		done
	done
	echo "$(printf '%s\n' "${cold[@]}" | median) $(printf '%s\n' "${warm[@]}" | median)"
}
# median: the middle value, or the mean of the two middle ones (whole
# numbers stay whole).
# bench_raw PORT ENDPOINT → the p50 of 7 requests, each after 2 s idle, over
# one kept-alive connection (hearth bench coldstart --raw), e.g. "1.2ms".
bench_raw() {
	"$work/hearth" bench coldstart --raw --endpoint-url "http://127.0.0.1:$1" --endpoints "$2" --idle 2s --rounds 7 \
		--body "$payload" 2>/dev/null | awk -v ep="$2" '$1 == ep && NF == 4 { print $3 }'
}
median() { sort -n | awk '{ a[NR] = $1 } END {
	if (NR % 2) { print a[(NR + 1) / 2]; exit }
	v = (a[NR / 2] + a[NR / 2 + 1]) / 2
	if (a[NR / 2] ~ /^-?[0-9]+$/ && a[NR / 2 + 1] ~ /^-?[0-9]+$/) printf "%d\n", v; else printf "%.2f\n", v }'; }

declare -A R
for run in $(seq "$RUNS"); do
	# nginx and Hearth take turns going first, so that a machine whose
	# speed drifts during the runs favours neither (use an even RUNS).
	pair="nginx hearth"
	[ $((run % 2)) -eq 0 ] && pair="hearth nginx"
	for target in direct $pair nginx-standalone; do
		pid=
		case $target in
			direct) url="http://127.0.0.1:$WP/invocations" ;;
			nginx) url="http://127.0.0.1:$NP/invocations"; pid=$nginx_pids ;;
			nginx-standalone) url="http://127.0.0.1:$SP/invocations"; pid=$nginx_standalone_pids ;;
			hearth) url="http://127.0.0.1:$HP/endpoints/echo-pc/invocations"; pid=$hearth_pid ;;
		esac
		read -r p50 p99 _ cpu1 sw1 <<<"$(wrk_run "$url" 1 "$pid")"
		read -r _ _ rps cpu _ <<<"$(wrk_run "$url" 8 "$pid")"
		R[$target.p50]+="$p50 "; R[$target.p99]+="$p99 "; R[$target.rps]+="$rps "; R[$target.cpu]+="$cpu "
		R[$target.cpu1]+="$cpu1 "; R[$target.sw1]+="$sw1 "
		R[$target.last50]=$p50; R[$target.lastrps]=$rps
	done
	# Hearth against nginx within this run: the difference of their p50s
	# (the direct p50 cancels out) and the ratio of their req/s.
	R[gap]+="$((${R[hearth.last50]} - ${R[nginx.last50]})) "
	R[rpsratio]+="$(awk -v a="${R[hearth.lastrps]}" -v b="${R[nginx.lastrps]}" 'BEGIN { printf "%.2f", a / b }') "
	# The built-in runtime, in worker processes and in-process.
	for rt in process in-process; do
		port=$HP; [ $rt = in-process ] && port=$IP
		url="http://127.0.0.1:$port/endpoints/xgb-tp/invocations"
		read -r p50 _ _ _ <<<"$(wrk_run "$url" 1)"
		read -r _ _ rps _ <<<"$(wrk_run "$url" 8)"
		R[xgb-$rt.p50]+="$p50 "; R[xgb-$rt.rps]+="$rps "
		read -r cold warm <<<"$(cold_raw "$port" xgb-od cold)"
		R[xgb-$rt.cold]+="$cold "; R[xgb-$rt.coldwarm]+="$warm "
		read -r first _ <<<"$(cold_raw "$port" xgb-tp warm-provisioned)"
		R[xgb-$rt.idle]+="$first "
		# The same two over one kept-alive connection from a client already
		# running (hearth bench coldstart --raw), each after its own idle
		# gap: what the server takes, without curl's start and connection.
		R[xgb-$rt.rawcold]+="$(bench_raw "$port" xgb-od) "
		R[xgb-$rt.rawidle]+="$(bench_raw "$port" xgb-tp) "
	done
	# Cold starts and first-after-idle: 2 s idle > 1 s keep-warm.
	for ep in xgb-od echo-od xgb-pc; do
		out=$("$work/hearth" bench coldstart --endpoint-url "http://127.0.0.1:$HP" --endpoints "$ep" --idle 2s --rounds 7 \
			--body "$payload" 2>/dev/null | awk -v ep="$ep" '$1 == ep && NF == 4 { print $3 }')
		R[$ep.p50]+="$out "
	done
done

# Auto scaling reaction at 1 s metric periods: from the start of load on a
# provisioned endpoint to its provisioned concurrency rising, and from the
# end of load to its return to the minimum.
deploy scale-pc "$work/echo-worker" "" 1
$H application-autoscaling register-scalable-target --service-namespace sagemaker \
	--resource-id endpoint/scale-pc/variant/AllTraffic --scalable-dimension sagemaker:variant:DesiredProvisionedConcurrency \
	--min-capacity 1 --max-capacity 4 >/dev/null
$H application-autoscaling put-scaling-policy --policy-name util --service-namespace sagemaker \
	--resource-id endpoint/scale-pc/variant/AllTraffic --scalable-dimension sagemaker:variant:DesiredProvisionedConcurrency \
	--policy-type TargetTrackingScaling --target-tracking-scaling-policy-configuration \
	'{"TargetValue":0.5,"PredefinedMetricSpecification":{"PredefinedMetricType":"SageMakerVariantProvisionedConcurrencyUtilization"},"ScaleInCooldown":1,"ScaleOutCooldown":1}' >/dev/null
pc() { $H sagemaker describe-endpoint --endpoint-name scale-pc --query 'ProductionVariants[0].CurrentServerlessConfig.ProvisionedConcurrency' --output text; }
cat > "$work/sleep.lua" <<'LUA'
wrk.method = "POST"
wrk.body = "sleep 100ms"
LUA
wrk -t1 -c3 -d120s -s "$work/sleep.lua" "http://127.0.0.1:$HP/endpoints/scale-pc/invocations" >/dev/null & load=$!
t0=$(date +%s.%N)
while [ "$(pc)" -lt 2 ]; do sleep 0.1; done
out_s=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
kill $load; wait $load 2>/dev/null || true
t0=$(date +%s.%N)
while [ "$(pc)" -ne 1 ]; do sleep 0.2; done
in_s=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')

# In-process cold starts back to back, without an idle gap before each:
# the server's parts in one process on a real loopback listener, a
# kept-alive raw HTTP client, the worker expired by a fake clock before each
# request (a Go benchmark; p50 of 300 cold starts a run). The figures after
# an idle gap add what an idle spell costs on the host: waking up, and page
# faults on memory given back while idle (docs/BENCHMARKS.md).
for _ in $(seq "$RUNS"); do
	R[btb]+="$(go test ./internal/gateway -run '^$' -bench 'BuiltinColdStart/in-process' -benchtime 300x 2>/dev/null |
		awk '/^BenchmarkBuiltinColdStart/ { for (i = 1; i < NF; i++) if ($(i + 1) == "p50-µs") print int($i) }') "
done

num() { # "1.23ms" | "456µs" → microseconds
	awk '{ v = $1; if (v ~ /ms$/) printf "%d\n", (v+0)*1000; else if (v ~ /µs$/) printf "%d\n", v+0; else if (v ~ /s$/) printf "%d\n", (v+0)*1000000 }'
}
m() { tr ' ' '\n' <<<"${R[$1]}" | grep -v '^$' | median; }
mu() { tr ' ' '\n' <<<"${R[$1]}" | grep -v '^$' | num | median; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

d50=$(m direct.p50); n50=$(m nginx.p50); h50=$(m hearth.p50)
drps=$(m direct.rps); nrps=$(m nginx.rps); hrps=$(m hearth.rps)
echo "## Warm invoke ($(nproc) cores, $(date -u +%Y-%m-%d), medians of $RUNS runs, wrk $DUR; proxies with $PROXY_THREADS thread(s) of execution each: nginx worker_processes $PROXY_THREADS, Hearth GOMAXPROCS=$PROXY_THREADS${HEARTH_GODEBUG:+ GODEBUG=$HEARTH_GODEBUG})"
echo
echo "| path | p50 latency (1 client) | p99 (1 client) | added p50 vs direct | req/s (8 clients) | req/s vs direct |"
echo "| --- | --- | --- | --- | --- | --- |"
echo "| direct to worker | ${d50} µs | $(m direct.p99) µs | — | $drps | 1.00 |"
echo "| nginx → the same 8 workers | ${n50} µs | $(m nginx.p99) µs | +$((n50 - d50)) µs | $nrps | $(ratio "$nrps" "$drps") |"
echo "| Hearth → its 8 provisioned workers | ${h50} µs | $(m hearth.p99) µs | +$((h50 - d50)) µs | $hrps | $(ratio "$hrps" "$drps") |"
echo "| nginx → 8 echo-workers outside any cgroup | $(m nginx-standalone.p50) µs | $(m nginx-standalone.p99) µs | — | $(m nginx-standalone.rps) | — |"
echo
echo "Hearth vs nginx over the same workers: $(ratio "$hrps" "$nrps")× the req/s; added p50 +$((h50 - d50)) µs vs +$((n50 - d50)) µs."
echo "Median of the runs' own figures: Hearth's p50 minus nginx's $(tr ' ' '\n' <<<"${R[gap]}" | grep -v '^$' | median) µs; Hearth's req/s over nginx's $(tr ' ' '\n' <<<"${R[rpsratio]}" | grep -v '^$' | median)×."
echo "Each run on its own, Hearth's p50 minus nginx's: $(sed 's/ $//; s/ /, /g' <<<"${R[gap]}") µs; Hearth's req/s over nginx's: $(sed 's/ $//; s/ /, /g' <<<"${R[rpsratio]}")."
echo "CPU per proxied request (8 clients, utime+stime of the proxy process / requests): nginx $(m nginx.cpu) µs, Hearth $(m hearth.cpu) µs (nginx to workers outside cgroups: $(m nginx-standalone.cpu) µs)."
echo "At one client, per request: nginx $(m nginx.cpu1) µs of CPU and $(m nginx.sw1) context switches of its threads, Hearth $(m hearth.cpu1) µs and $(m hearth.sw1)."
echo "The workers' cgroups (memory limit, CPU weight; one group each) cost nginx $(ratio "$nrps" "$(m nginx-standalone.rps)")× the req/s it reaches over workers outside any cgroup."
echo
echo "## Built-in XGBoost runtime: worker processes vs in-process (seed model, 8 provisioned workers; medians of $RUNS runs)"
echo
echo "| --builtin-runtime | warm p50 (wrk, 1 client) | req/s (wrk, 8 clients) | on-demand cold start p50 (curl, new connection, after 2 s idle) | provisioned, first request after 2 s idle (curl) | the cold request again, warm (curl) | on-demand cold start p50 (raw HTTP, kept-alive connection, after 2 s idle) | provisioned, first request after 2 s idle (the same) |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
for rt in process in-process; do
	rps=$(m xgb-$rt.rps)
	[ $rt = in-process ] && rps="$rps ($(ratio "$rps" "$(m xgb-process.rps)")×)"
	echo "| $rt | $(m xgb-$rt.p50) µs | $rps | $(m xgb-$rt.cold) µs | $(m xgb-$rt.idle) µs | $(m xgb-$rt.coldwarm) µs | $(mu xgb-$rt.rawcold) µs | $(mu xgb-$rt.rawidle) µs |"
done
echo
echo "In-process cold start back to back (raw HTTP, kept-alive connection, no idle gap; go test -bench BuiltinColdStart/in-process, p50 of 300, median of $RUNS runs): $(m btb) µs (runs: $(sed 's/ $//; s/ /, /g' <<<"${R[btb]}") µs)."
echo "After the same 2 s idle gap, the in-process on-demand cold start took $(( $(mu xgb-in-process.rawcold) - $(mu xgb-in-process.rawidle) )) µs more than the provisioned endpoint's first request, which starts nothing (both raw HTTP)."
echo
echo "## Cold start and first request after idle (p50 of 7 rounds, median of $RUNS runs)"
echo
echo "| case | p50 |"
echo "| --- | --- |"
echo "| on-demand cold start, built-in XGBoost | $(mu xgb-od.p50) µs |"
echo "| on-demand cold start, bring-your-own echo-worker | $(mu echo-od.p50) µs |"
echo "| provisioned, first request after idle (XGBoost) | $(mu xgb-pc.p50) µs |"
echo
echo "## Auto scaling reaction, 1 s metric periods (target tracking on provisioned-concurrency utilization, target 0.5)"
echo
echo "| event | time |"
echo "| --- | --- |"
echo "| load starts → provisioned concurrency rises | ${out_s} s (AWS timing: 3 periods above target) |"
echo "| load ends → back to the minimum | ${in_s} s (AWS timing: 15 periods below 90 % of target) |"
