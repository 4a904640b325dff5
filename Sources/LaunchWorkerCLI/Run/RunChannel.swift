import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The child's end of `run`'s supervision: the pipe on which it tells the parent its phase
/// and the response (see ``RunSupervisor``).
struct RunChannel {
    /// The variable that marks `run`'s child; its value is the parent's process id.
    static let parentVariable = "LAUNCH_WORKER_RUN_PARENT"
    /// The child's descriptor for the pipe to its parent.
    static let descriptor: Int32 = 3

    /// The channel when this process is `run`'s child, nil when it is the command the user ran.
    ///
    /// Forgets the marker, so that a process the bundle starts is never taken for the child,
    /// and keeps the pipe from the programs the bundle executes. Asks to be killed when the
    /// parent dies, so a killed `run` leaves no predict running.
    ///
    /// - Throws: ``CLIError`` when the parent is already gone.
    static func inherited() throws(CLIError) -> RunChannel? {
        guard let parent = ProcessInfo.processInfo.environment[parentVariable].flatMap(pid_t.init) else {
            return nil
        }
        unsetenv(parentVariable)
        _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC)
        ParentDeathSignal.arm()
        // The parent may have died before the request above, and then nobody would send it.
        guard getppid() == parent else {
            throw CLIError(message: "launch-worker run ended before its child process started")
        }
        return RunChannel()
    }

    /// Sends `record` to the parent. A parent that is gone kills this process first (SIGKILL,
    /// above), so a failed write is not reported.
    func send(_ record: RunRecord) {
        Self.write(record.bytes, to: Self.descriptor)
    }

    /// Writes all of `bytes` to `descriptor`, or as much as it takes before an error.
    static func write(_ bytes: Data, to descriptor: Int32) {
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = Glibc.write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0, errno == EINTR { continue }
                guard written > 0 else { return }
                offset += written
            }
        }
    }
}
