-- wrk script: POST the JSON body in $BENCH_BODY to $BENCH_PATH (default /predict), for our
-- worker, the gateway and the baselines alike; $BENCH_AUTH, when set, is the Authorization header.
wrk.method = "POST"
wrk.path = os.getenv("BENCH_PATH") or "/predict"
wrk.body = os.getenv("BENCH_BODY")
wrk.headers["Content-Type"] = "application/json"
if os.getenv("BENCH_AUTH") then
    wrk.headers["Authorization"] = os.getenv("BENCH_AUTH")
end
