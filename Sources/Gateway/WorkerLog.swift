import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A worker's log (`worker-<n>.log`): everything the worker writes on stdout and stderr, which
/// a ``WorkerLogRelay`` writes there. At `info` a busy worker writes a line for every task; the
/// relay moves the file to `worker-<n>.log.1` when it reaches its limit, as a container
/// runtime rotates a container's log.
struct WorkerLog: Sendable, Hashable {
    /// The file the worker writes.
    let file: URL

    /// The file's earlier part, once it was cut.
    var previous: URL { URL(filePath: file.path + ".1") }

    /// The last `lines` lines, from at most the last 64 KiB of ``previous`` and of the file
    /// (the file alone may hold fewer lines just after a cut).
    func tail(lines: Int) -> String {
        var text = Self.end(of: previous) + Self.end(of: file)
        if text.hasSuffix("\n") { text.removeLast() }
        return text.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines).joined(separator: "\n")
    }

    /// The last 64 KiB of `file` as text (empty when it cannot be read).
    private static func end(of file: URL) -> String {
        guard let handle = try? FileHandle(forReadingFrom: file) else { return "" }
        defer { try? handle.close() }
        let length = (try? handle.seekToEnd()) ?? 0
        try? handle.seek(toOffset: length - min(length, 64 << 10))
        return String(decoding: (try? handle.readToEnd()) ?? Data(), as: UTF8.self)
    }
}
