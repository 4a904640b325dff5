import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Shows a batch's progress on stderr while it runs: a bar redrawn in place on a terminal (four
/// times a second), else a plain line every `interval`, so logs and CI get a record without
/// control characters.
public struct ProgressReporter: Sendable {
    private let progress: BatchProgress
    private let terminal: Bool
    private let interval: Duration

    /// A reporter of `progress`; `terminal` decides the form (by default, whether stderr is one).
    public init(_ progress: BatchProgress, interval: Duration, terminal: Bool = isatty(STDERR_FILENO) != 0) {
        self.progress = progress
        self.terminal = terminal
        self.interval = terminal ? .milliseconds(250) : interval
    }

    /// Shows progress until cancelled.
    public func run() async {
        while (try? await Task.sleep(for: interval)) != nil {
            show(progress.snapshot())
        }
    }

    /// Shows the final state (ending the terminal's line).
    public func finish() {
        let snapshot = progress.snapshot()
        show(snapshot)
        if terminal { write("\n") }
    }

    private func show(_ snapshot: BatchProgress.Snapshot) {
        write(terminal ? "\r\u{1B}[K\(snapshot.barLine)" : "\(snapshot.plainLine)\n")
    }

    private func write(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }
}
