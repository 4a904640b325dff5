import Prometheus
import WorkerCore

/// The HTTP endpoint's own metrics, in the worker's registry beside its task metrics.
final class HTTPMetrics: Sendable {
    private let predictAnswers: LabelledCounters<Int>
    private let timeouts: [HTTPTimeout: Counter]

    /// Registers the endpoint's metrics in `registry`.
    init(registry: PrometheusCollectorRegistry) {
        predictAnswers = LabelledCounters(
            registry, metricName: "launch_worker_http_requests",
            helpText: "POST /predict requests answered, by HTTP status code.", label: "code")
        // Made at once, so each kind reads 0 before its first timeout (a rate needs a start).
        let descriptor = MetricNameDescriptor(
            metricName: "launch_worker_http_timeouts", unitName: "total",
            helpText: "HTTP connections closed because the client kept the server waiting, by what it waited for.")
        timeouts = Dictionary(
            uniqueKeysWithValues: HTTPTimeout.allCases.map { kind in
                (kind, registry.makeCounter(descriptor: descriptor, labels: [("kind", kind.rawValue)]))
            })
    }

    /// Counts a `/predict` answer by its status code.
    func predictAnswered(code: Int) {
        predictAnswers.increment(code)
    }

    /// Counts a connection closed because its client kept the server waiting for `kind`.
    func timedOut(_ kind: HTTPTimeout) {
        timeouts[kind]?.increment()
    }
}
