import CLinux
import Foundation

/// Runs blocking work (file I/O, waiting on a `flock`) on a thread of its own and suspends
/// until it ends, so it never holds one of Swift's cooperative threads.
public func runBlocking<Value: Sendable>(_ body: @escaping @Sendable () throws -> Value) async throws -> Value {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread {
            clinux_name_this_thread("launch-worker-io")
            continuation.resume(with: Result { try body() })
        }
        thread.start()
    }
}
