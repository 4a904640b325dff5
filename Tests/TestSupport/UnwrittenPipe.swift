import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A named pipe that no one writes to, for checking that reading a path never waits for a
/// writer. Should a read wait anyway, the pipe's other end is opened after a minute so the test
/// ends, and ``waitedForWriter`` says so.
public final class UnwrittenPipe: Sendable {
    /// The pipe's path.
    public let path: String
    private let done = DispatchSemaphore(value: 0)
    private let gaveUp = DispatchSemaphore(value: 0)

    /// Makes the pipe at `path`.
    public init(at path: String) throws {
        guard mkfifo(path, 0o600) == 0 else { throw FixtureError("cannot make a named pipe at \(path)") }
        self.path = path
        Thread.detachNewThread { [done, gaveUp] in
            guard done.wait(timeout: .now() + 60) == .timedOut else { return }
            gaveUp.signal()
            let fd = open(path, O_WRONLY)
            if fd >= 0 { close(fd) }
        }
    }

    /// Ends the watch: whether a read waited for a writer until the pipe's other end was opened.
    public func waitedForWriter() -> Bool {
        done.signal()
        return gaveUp.wait(timeout: .now()) == .success
    }
}
