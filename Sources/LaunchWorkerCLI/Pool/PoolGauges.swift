import Foundation

/// The pool's gauges (processes wanted, alive and ready; restarts), in Prometheus text in a file
/// the supervisor rewrites when they change and every worker process's `/metrics` shows
/// (`PoolMetrics`), since the supervisor serves no HTTP of its own.
struct PoolGauges: Equatable {
    var wanted: Int
    var alive = 0
    var ready = 0
    /// Processes started after the first P: after a death, recycling or a rolling restart.
    var restarts = 0

    var text: String {
        """
        # HELP launch_worker_pool_processes The pool's worker processes: wanted (--processes), alive, ready.
        # TYPE launch_worker_pool_processes gauge
        launch_worker_pool_processes{state="wanted"} \(wanted)
        launch_worker_pool_processes{state="alive"} \(alive)
        launch_worker_pool_processes{state="ready"} \(ready)
        # HELP launch_worker_pool_restarts_total Worker processes started after the first: after a death, recycling or SIGHUP.
        # TYPE launch_worker_pool_restarts_total counter
        launch_worker_pool_restarts_total \(restarts)

        """
    }
}

extension PoolLoop {
    /// The file holding the pool's gauges.
    var statusFile: String { "\(folder)/pool.prom" }

    /// Rewrites the gauges' file when they changed.
    func publishGauges() {
        var now = gauges
        let processes = places.flatMap { [$0.process, $0.successor].compactMap { $0 } + $0.retiring }
        now.alive = processes.count
        now.ready = places.filter { $0.readySince != nil }.count
        guard now != gauges || access(statusFile, F_OK) != 0 else { return }
        gauges = now
        try? Data(now.text.utf8).write(to: URL(filePath: statusFile), options: .atomic)
    }
}
