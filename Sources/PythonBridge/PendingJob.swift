import Synchronization

/// One job's continuation, and whether it started or was cancelled first.
final class PendingJob<Value: Sendable>: Sendable {
    private enum State {
        case waiting(CheckedContinuation<Value, any Error>?)
        case started(CheckedContinuation<Value, any Error>?)
        /// Cancelled or finished: the continuation was resumed.
        case cancelled
    }

    private let state = Mutex<State>(.waiting(nil))

    func attach(_ continuation: CheckedContinuation<Value, any Error>) {
        let cancelledAlready = state.withLock { state -> Bool in
            guard case .waiting = state else { return true }
            state = .waiting(continuation)
            return false
        }
        if cancelledAlready { continuation.resume(throwing: CancellationError()) }
    }

    /// Marks the job started; false when it was cancelled and must be skipped.
    func start() -> Bool {
        state.withLock { state in
            guard case .waiting(let continuation) = state else { return false }
            state = .started(continuation)
            return true
        }
    }

    /// Resumes the caller with `CancellationError` now, whether or not the job started; a
    /// started job's result is dropped when it ends.
    func cancel() {
        let continuation = state.withLock { state -> CheckedContinuation<Value, any Error>? in
            switch state {
            case .waiting(let continuation), .started(let continuation):
                state = .cancelled
                return continuation
            case .cancelled:
                return nil
            }
        }
        continuation?.resume(throwing: CancellationError())
    }

    /// Resumes the caller with the job's outcome, unless it was cancelled meanwhile.
    func finish(_ result: Result<Value, any Error>) {
        let continuation = state.withLock { state -> CheckedContinuation<Value, any Error>? in
            guard case .started(let continuation) = state else { return nil }
            state = .cancelled
            return continuation
        }
        continuation?.resume(with: result)
    }
}
