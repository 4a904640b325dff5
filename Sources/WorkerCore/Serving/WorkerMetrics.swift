import Prometheus
import Synchronization

/// The worker's counters and histograms, in a Prometheus registry that the HTTP endpoint
/// serves as `/metrics` and that a snapshot prints at shutdown or on SIGUSR1.
public final class WorkerMetrics: Sendable {
    /// The registry holding every metric below.
    public let registry = PrometheusCollectorRegistry()
    private let inFlightGauge: Gauge
    private let queueWait: DurationHistogram
    private let predictDuration: DurationHistogram
    private let loadSeconds: Gauge
    /// The counters by label value, made once each: making one looks it up in the registry
    /// after checking its name and help text, which cost a trivial HTTP predict a tenth of its
    /// time on its slot's thread.
    private let taskCounters = Mutex<[String: Counter]>([:])
    private let httpCounters = Mutex<[Int: Counter]>([:])

    private static let buckets: [Duration] = [
        .milliseconds(1), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
        .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5),
        .seconds(10), .seconds(30), .seconds(60),
    ]

    /// Makes the worker's metrics.
    public init() {
        inFlightGauge = registry.makeGauge(
            descriptor: .init(metricName: "launch_worker_tasks_in_flight", unitName: "", helpText: "Tasks running now.")
        )
        queueWait = registry.makeDurationHistogram(
            descriptor: .init(
                metricName: "launch_worker_queue_wait", unitName: "seconds",
                helpText: "Time from queueing to the start of a run."),
            buckets: Self.buckets)
        predictDuration = registry.makeDurationHistogram(
            descriptor: .init(
                metricName: "launch_worker_predict_duration", unitName: "seconds",
                helpText: "Time to run a task: input, predict, encoding, storing a pickle."),
            buckets: Self.buckets)
        loadSeconds = registry.makeGauge(
            descriptor: .init(
                metricName: "launch_worker_bundle_load", unitName: "seconds",
                helpText: "Time the bundle took to load."))
    }

    /// Counts a finished task by its status (`SUCCESS`, `FAILURE`, `TIMEOUT`, `REJECTED`).
    public func taskFinished(status: String, duration: Duration) {
        Self.counter(status, in: taskCounters) {
            registry.makeCounter(
                descriptor: .init(
                    metricName: "launch_worker_tasks", unitName: "total", helpText: "Tasks finished, by status."),
                labels: [("status", status)])
        }.increment()
        predictDuration.record(duration)
    }

    /// Counts an HTTP `/predict` answer by its status code.
    public func httpRequest(code: Int) {
        Self.counter(code, in: httpCounters) {
            registry.makeCounter(
                descriptor: .init(
                    metricName: "launch_worker_http_requests", unitName: "total",
                    helpText: "POST /predict requests answered, by HTTP status code."),
                labels: [("code", "\(code)")])
        }.increment()
    }

    /// The counter for `label` in `counters`, made by `make` the first time.
    private static func counter<Label: Hashable & Sendable>(
        _ label: Label, in counters: borrowing Mutex<[Label: Counter]>, make: () -> Counter
    ) -> Counter {
        if let counter = counters.withLock({ $0[label] }) { return counter }
        let counter = make()  // the registry gives every caller the same counter
        counters.withLock { $0[label] = counter }
        return counter
    }

    /// Records that a task started after waiting `wait` in its queue.
    public func taskStarted(wait: Duration?) {
        inFlightGauge.increment()
        if let wait { queueWait.record(max(wait, .zero)) }
    }

    /// Records that a task left its slot.
    public func taskLeft() {
        inFlightGauge.decrement()
    }

    /// Records the bundle's load time.
    public func bundleLoaded(in duration: Duration) {
        loadSeconds.set(Double(duration.components.seconds) + Double(duration.components.attoseconds) * 1e-18)
    }

    /// Every metric in Prometheus text format.
    public func snapshot() -> String {
        registry.emitToString()
    }
}
