/// One of a pool's P places: the worker process now in it, or when the next one starts after
/// the last died, and how many died in a row (for the backoff).
struct PoolPlace {
    /// The first restart's delay; each death in a row doubles it, up to ``longestDelay``.
    static let firstDelay = Duration.milliseconds(500)
    /// The longest delay between restarts: a crash loop retries this often, never faster.
    static let longestDelay = Duration.seconds(30)
    /// How long a process must have been ready before its death no longer counts as one more
    /// in a row (the backoff starts over).
    static let stableAfter = Duration.seconds(10)

    let index: Int
    /// The process now in the place.
    var process: WorkerProcess?
    /// When its process last became ready, while it is.
    var readySince: ContinuousClock.Instant?
    /// When the next process starts, after a death.
    var restartAt: ContinuousClock.Instant?
    /// How many processes in a row died here without having been ready for ``stableAfter``.
    var deathsInARow = 0
    /// Whether the place is done: its process exited for good (a drain, or `--exit-when-empty`).
    var finished = false
    /// The process started to replace ``process`` (recycling), until it is ready.
    var successor: WorkerProcess?
    /// When the next successor may start, after one died before it was ready.
    var successorNotBefore: ContinuousClock.Instant?
    /// Processes replaced by recycling, draining.
    var retiring: [WorkerProcess] = []
    /// How many processes the place has started: each gets a ready file of its own.
    var generation = 0
    /// Whether a rolling restart asked for the place's process to be replaced.
    var restartRequested = false

    /// Whether nothing runs in the place any more.
    var idle: Bool { finished && successor == nil && retiring.isEmpty }

    init(index: Int) {
        self.index = index
    }

    /// Records a death at `now` and returns the delay before the next start.
    mutating func died(at now: ContinuousClock.Instant) -> Duration {
        if let readySince, now - readySince >= Self.stableAfter { deathsInARow = 0 }
        process = nil
        restartRequested = false
        readySince = nil
        let delay = countDeath()
        restartAt = now + delay
        return delay
    }

    /// Records that a successor died before it was ready and returns the delay before the next.
    mutating func successorDied(at now: ContinuousClock.Instant) -> Duration {
        successor = nil
        let delay = countDeath()
        successorNotBefore = now + delay
        return delay
    }

    /// Counts one more death in a row and returns the backoff it earns.
    private mutating func countDeath() -> Duration {
        deathsInARow += 1
        return min(Self.firstDelay * (1 << min(deathsInARow - 1, 16)), Self.longestDelay)
    }
}
