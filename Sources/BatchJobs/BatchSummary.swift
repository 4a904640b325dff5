import Foundation

/// `summary.json`: how a batch stands when a run ends: results by status, whether every input
/// has one, why it stopped, this run's duration and throughput, and the input, bundle and
/// environment it ran with.
public struct BatchSummary: Sendable, Codable {
    /// What this run did.
    public struct Run: Sendable, Codable {
        /// Inputs this run finished.
        public var processed: Int
        /// Inputs skipped because an earlier run had finished them.
        public var skipped: Int
        public var seconds: Double
        public var itemsPerSecond: Double
        public var startedAt: Date
        public var finishedAt: Date

        enum CodingKeys: String, CodingKey {
            case processed, skipped, seconds
            case itemsPerSecond = "items_per_second"
            case startedAt = "started_at"
            case finishedAt = "finished_at"
        }
    }

    /// Lines in `results.jsonl`: inputs with a result, all runs together.
    public var results: Int
    /// Results by status (`SUCCESS`, `FAILURE`).
    public var byStatus: [String: Int]
    /// Whether every input has its result.
    public var complete: Bool
    /// Why the run stopped before the end: `max_failures`, `interrupted`, `input_error`,
    /// `output_error`; nil when it reached it.
    public var stopped: String?
    /// What stopped it, in words.
    public var message: String?
    public var run: Run
    public var input: BatchManifest.Input
    public var bundle: BatchManifest.Bundle
    /// The worker and its settings: version, Python, `per_worker`, timeout, queue.
    public var environment: [String: String]
    /// The most memory this process held (VmHWM).
    public var peakRSSBytes: Int

    enum CodingKeys: String, CodingKey {
        case results, complete, stopped, message, run, input, bundle, environment
        case byStatus = "by_status"
        case peakRSSBytes = "peak_rss_bytes"
    }

    /// The summary of a run that ended with `end`, from its progress and the batch's manifest.
    public init(
        end: BatchRun.End, progress: BatchProgress.Snapshot, counts: [String: Int], startedAt: Date,
        manifest: BatchManifest, environment: [String: String], peakRSSBytes: Int
    ) {
        results = counts.values.reduce(0, +)
        byStatus = counts
        complete = end == .finished
        switch end {
        case .finished: stopped = nil
        case .maxFailures:
            (stopped, message) = ("max_failures", "stopped after \(progress.failed) failures (--max-failures)")
        case .interrupted: (stopped, message) = ("interrupted", "interrupted: rerun the same command to resume")
        case .inputError(let reason): (stopped, message) = ("input_error", reason)
        case .outputError(let reason): (stopped, message) = ("output_error", reason)
        case .workerError(let reason): (stopped, message) = ("worker_error", reason)
        }
        let seconds = progress.elapsed / .seconds(1)
        run = Run(
            processed: progress.finishedThisRun, skipped: progress.skipped, seconds: seconds,
            itemsPerSecond: progress.rate, startedAt: startedAt, finishedAt: startedAt.addingTimeInterval(seconds))
        input = manifest.input
        bundle = manifest.bundle
        self.environment = environment
        self.peakRSSBytes = peakRSSBytes
    }

    /// The summary as pretty JSON, keys sorted.
    public func json() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return Array((try? encoder.encode(self)) ?? Data()) + [0x0A]
    }

    /// One line for people, at the end of the run.
    public var line: String {
        let statuses = byStatus.sorted { $0.key > $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
        let state = complete ? "complete" : "NOT complete (\(message ?? stopped ?? ""))"
        return "batch \(state): \(results) results (\(statuses.isEmpty ? "none" : statuses)); this run "
            + "\(run.processed) in \(String(format: "%.1f", run.seconds)) s, \(String(format: "%.0f", run.itemsPerSecond))/s"
    }
}
