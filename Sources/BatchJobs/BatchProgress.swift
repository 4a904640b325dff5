import Synchronization

/// How far a batch is: the inputs this run finished and failed, those an earlier run had
/// finished, and how many there are in all when that is known.
public final class BatchProgress: Sendable {
    /// Inputs whose results an earlier run wrote.
    public let previouslyDone: Int
    /// How many inputs there are, when known (an estimate from the input's line count).
    public let total: Int?
    /// When this run started.
    public let start: ContinuousClock.Instant
    private let finishedCount = Atomic(0)
    private let failedCount = Atomic(0)
    private let skippedCount = Atomic(0)
    private let previouslyFailed: Int

    /// Progress of a run that starts now, after earlier runs finished `previouslyDone` inputs,
    /// `previouslyFailed` of them failed.
    public init(total: Int?, previouslyDone: Int, previouslyFailed: Int, start: ContinuousClock.Instant = .now) {
        self.total = total
        self.previouslyDone = previouslyDone
        self.previouslyFailed = previouslyFailed
        self.start = start
    }

    /// Counts inputs this run finished, each failed or not.
    public func finished(_ failed: some Collection<Bool>) {
        finishedCount.add(failed.count, ordering: .relaxed)
        let failures = failed.count { $0 }
        if failures > 0 { failedCount.add(failures, ordering: .relaxed) }
    }

    /// Counts an input skipped because an earlier run finished it.
    public func skipped() {
        skippedCount.add(1, ordering: .relaxed)
    }

    /// What the counters say now.
    public func snapshot(at now: ContinuousClock.Instant = .now) -> Snapshot {
        Snapshot(
            finishedThisRun: finishedCount.load(ordering: .relaxed),
            failedThisRun: failedCount.load(ordering: .relaxed),
            skipped: skippedCount.load(ordering: .relaxed), previouslyDone: previouslyDone,
            previouslyFailed: previouslyFailed, total: total, elapsed: now - start)
    }

    /// The counters at one moment, and what they make (done, rate, ETA), as plain values.
    public struct Snapshot: Sendable, Equatable {
        public var finishedThisRun: Int
        public var failedThisRun: Int
        public var skipped: Int
        public var previouslyDone: Int
        public var previouslyFailed: Int
        public var total: Int?
        public var elapsed: Duration

        /// A snapshot from its parts.
        public init(
            finishedThisRun: Int, failedThisRun: Int, skipped: Int, previouslyDone: Int, previouslyFailed: Int,
            total: Int?, elapsed: Duration
        ) {
            self.finishedThisRun = finishedThisRun
            self.failedThisRun = failedThisRun
            self.skipped = skipped
            self.previouslyDone = previouslyDone
            self.previouslyFailed = previouslyFailed
            self.total = total
            self.elapsed = elapsed
        }

        /// Inputs with a result, earlier runs' included.
        public var done: Int { previouslyDone + finishedThisRun }
        /// Inputs that failed, earlier runs' included.
        public var failed: Int { previouslyFailed + failedThisRun }
        /// Inputs finished per second in this run.
        public var rate: Double { Double(finishedThisRun) / max(elapsed / .seconds(1), 1e-9) }
        /// Seconds left at this run's rate, when the total is known, something has finished and
        /// something is left.
        public var secondsLeft: Double? {
            guard let total, finishedThisRun > 0, done < total else { return nil }
            return Double(max(0, total - done)) / rate
        }
    }
}
