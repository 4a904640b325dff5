import Prometheus
import WorkerCore

/// The HTTP endpoint's own metrics, in the worker's registry beside its task metrics.
final class HTTPMetrics: Sendable {
    private let predictAnswers: LabelledCounters<Int>

    /// Registers the endpoint's metrics in `registry`.
    init(registry: PrometheusCollectorRegistry) {
        predictAnswers = LabelledCounters(
            registry, metricName: "launch_worker_http_requests",
            helpText: "POST /predict requests answered, by HTTP status code.", label: "code")
    }

    /// Counts a `/predict` answer by its status code.
    func predictAnswered(code: Int) {
        predictAnswers.increment(code)
    }
}
