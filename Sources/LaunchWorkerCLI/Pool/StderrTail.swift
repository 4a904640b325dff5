import CLinux
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A worker process's stderr, relayed to the supervisor's own as it comes, with its last lines
/// kept, so that when the process dies the supervisor can say what it wrote last (a traceback, a
/// fatal error) beside how it ended.
final class StderrTail: Sendable {
    /// How many of the last lines are kept.
    static let keptLines = 20

    private let lines = Mutex<[String]>([])

    /// Relays what arrives on `descriptor` (a pipe's read end, closed here at its end) on a
    /// thread of its own.
    init(reading descriptor: Int32) {
        Thread { [self] in
            clinux_name_this_thread("stderr-tail")
            relay(descriptor)
        }.start()
    }

    /// The last lines the process wrote, oldest first.
    var last: [String] { lines.withLock { $0 } }

    private func relay(_ descriptor: Int32) {
        defer { close(descriptor) }
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        var partial = Data()
        while true {
            let count = read(descriptor, &chunk, chunk.count)
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { break }
            chunk.withUnsafeBytes { _ = write(STDERR_FILENO, $0.baseAddress!, count) }
            partial.append(contentsOf: chunk[0..<count])
            keep(&partial)
        }
        if !partial.isEmpty { remember([String(decoding: partial, as: UTF8.self)]) }
    }

    /// Moves the whole lines in `partial` to the kept lines.
    private func keep(_ partial: inout Data) {
        guard let end = partial.lastIndex(of: UInt8(ascii: "\n")) else {
            if partial.count > 64 * 1024 { partial = partial.suffix(64 * 1024) }
            return
        }
        let complete = partial[partial.startIndex..<end]
        remember(
            complete.split(separator: UInt8(ascii: "\n")).suffix(Self.keptLines).map {
                String(decoding: $0, as: UTF8.self)
            })
        partial = Data(partial[partial.index(after: end)...])
    }

    private func remember(_ new: [String]) {
        lines.withLock { $0 = Array(($0 + new).suffix(Self.keptLines)) }
    }
}
