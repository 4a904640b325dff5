import Foundation
import URLRedaction

/// The creation log of one environment: every line the build printed (resolver, downloads,
/// installs) and each step with its time, written to `<environments>/<key>.log` as it comes,
/// so a build that fails, or is killed, leaves its log behind.
final class CreationLog {
    private let handle: FileHandle?
    private let start = ContinuousClock.now
    private var tail: [String] = []
    /// The log file.
    let file: URL

    /// How many of the last lines an error quotes.
    static let tailLength = 20

    /// Starts a fresh log at `file` (an earlier build's log is replaced).
    init(file: URL) {
        self.file = file
        _ = FileManager.default.createFile(atPath: file.path, contents: nil)
        handle = try? FileHandle(forWritingTo: file)
    }

    deinit { try? handle?.close() }

    /// Writes a step line, such as `== installing 3 requirements`, with the time since the start.
    func step(_ text: String) {
        write("== [\(elapsed)] \(text)")
    }

    /// Writes a line the installer printed; returns it as written (with any URL's password
    /// hidden), for the progress display.
    @discardableResult
    func output(_ text: String) -> String {
        write(text)
    }

    /// The last ``tailLength`` lines, for an error message.
    var lastLines: String { tail.joined(separator: "\n") }

    /// Seconds since the log started, such as `1.25 s`.
    var elapsed: String {
        let duration = ContinuousClock.now - start
        let seconds = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
        return String(format: "%.2f s", seconds)
    }

    /// Writes `line` with any URL's password hidden: the log is shown to whoever asks for the
    /// bundle's creation log, and a private index's token must not be.
    @discardableResult
    private func write(_ line: String) -> String {
        let line = URLSecrets.hidden(in: line)
        handle?.write(Data((line + "\n").utf8))
        tail.append(line)
        if tail.count > Self.tailLength { tail.removeFirst() }
        return line
    }
}
