import Prometheus
import Synchronization

/// The worker's counters and histograms, in a Prometheus registry that the HTTP endpoint
/// serves as `/metrics` (adding its own) and that a snapshot prints at shutdown or on SIGUSR1.
public final class WorkerMetrics: Sendable {
    /// The registry holding every metric below.
    public let registry = PrometheusCollectorRegistry()
    private let inFlightGauge: Gauge
    private let queueWait: DurationHistogram
    private let predictDuration: DurationHistogram
    private let loadSeconds: Gauge
    private let tasks: LabelledCounters<String>
    private let ran = Atomic(0)

    private static let buckets: [Duration] = [
        .milliseconds(1), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
        .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5),
        .seconds(10), .seconds(30), .seconds(60),
    ]

    /// Makes the worker's metrics.
    public init() {
        tasks = LabelledCounters(
            registry, metricName: "launch_worker_tasks", helpText: "Tasks finished, by status.", label: "status")
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
                helpText: "Time to run a task, from its start on a slot: input, predict, encoding, storing a pickle."),
            buckets: Self.buckets)
        loadSeconds = registry.makeGauge(
            descriptor: .init(
                metricName: "launch_worker_bundle_load", unitName: "seconds",
                helpText: "Time the bundle took to load."))
    }

    /// Counts a finished task by its status (`SUCCESS`, `FAILURE`, `TIMEOUT`, `REJECTED`) and
    /// records its run time.
    public func taskFinished(status: String, duration: Duration) {
        tasks.increment(status)
        predictDuration.record(duration)
        if status != "REJECTED" { ran.add(1, ordering: .relaxed) }
    }

    /// How many tasks ran to an end (any status but `REJECTED`): a pool's worker process asks to
    /// be recycled after `--max-tasks-per-process`.
    public var tasksRun: Int { ran.load(ordering: .relaxed) }

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
        loadSeconds.set(duration.seconds)
    }

    /// Every metric in Prometheus text format.
    public func snapshot() -> String {
        registry.emitToString()
    }
}

/// Counters of one metric told apart by one label, each made once: making one looks it up in
/// the registry after checking its name and help text, which cost a trivial HTTP predict a tenth
/// of its time on its slot's thread.
public final class LabelledCounters<Label: Hashable & Sendable & CustomStringConvertible>: Sendable {
    private let registry: PrometheusCollectorRegistry
    private let metricName: String
    private let helpText: String
    private let label: String
    private let counters = Mutex<[Label: Counter]>([:])

    /// The counters of `metricName`'s total (`<metricName>_total`) in `registry`, labelled
    /// `label`.
    public init(_ registry: PrometheusCollectorRegistry, metricName: String, helpText: String, label: String) {
        self.registry = registry
        self.metricName = metricName
        self.helpText = helpText
        self.label = label
    }

    /// Adds one to the counter for `value`.
    public func increment(_ value: Label) {
        if let counter = counters.withLock({ $0[value] }) {
            counter.increment()
            return
        }
        // The registry gives every caller the same counter.
        let counter = registry.makeCounter(
            descriptor: .init(metricName: metricName, unitName: "total", helpText: helpText),
            labels: [(label, value.description)])
        counter.increment()
        counters.withLock { $0[value] = counter }
    }
}
