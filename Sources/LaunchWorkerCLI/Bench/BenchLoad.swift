import Foundation
import Synchronization

/// How much load to drive: a number of requests or a duration, from `concurrency` callers.
struct BenchLoad: Sendable {
    var requests: Int?
    var duration: Duration?
    var concurrency: Int

    /// Hands out request tickets until the count or the time is used up.
    final class Tickets: Sendable {
        private let left: Mutex<Int>
        private let deadline: ContinuousClock.Instant?

        init(_ load: BenchLoad) {
            left = Mutex(load.requests ?? Int.max)
            deadline = load.duration.map { ContinuousClock.now + $0 }
        }

        /// Whether another request may start.
        func take() -> Bool {
            if let deadline, ContinuousClock.now >= deadline { return false }
            return left.withLock { left in
                guard left > 0 else { return false }
                left -= 1
                return true
            }
        }
    }
}

/// Latencies and errors gathered by the callers.
final class BenchSamples: Sendable {
    private let state = Mutex<(latencies: [Duration], errors: [String: Int])>(([], [:]))

    /// Records a request that took `latency`, failed with `error` when not nil.
    func record(_ latency: Duration, error: String?) {
        state.withLock { state in
            state.latencies.append(latency)
            if let error { state.errors[error, default: 0] += 1 }
        }
    }

    var latencies: [Duration] { state.withLock { $0.latencies } }
    var errors: [String: Int] { state.withLock { $0.errors } }
}
