-- wrk script: POST the JSON body in $BENCH_BODY to /predict, for our worker and the baseline alike.
wrk.method = "POST"
wrk.path = "/predict"
wrk.body = os.getenv("BENCH_BODY")
wrk.headers["Content-Type"] = "application/json"
