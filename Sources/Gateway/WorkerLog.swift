import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A worker's log (`worker-<n>.log`): everything the worker writes on stderr, which it appends
/// to, so the gateway may cut the file while the worker writes. At `info` a busy worker writes
/// a line for every task; ``keep(under:)`` moves what the file holds to `worker-<n>.log.1`
/// once it is over its limit, as a container runtime rotates a container's log.
struct WorkerLog: Sendable, Hashable {
    /// The file the worker writes.
    let file: URL

    /// The file's earlier part, once it was cut.
    var previous: URL { URL(filePath: file.path + ".1") }

    /// Why a log cannot be opened or cut.
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// Opens the file (made if missing) for a worker to append to.
    func openForAppending() throws(Failure) -> FileHandle {
        let descriptor = open(file.path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw Failure(description: "cannot open \(file.path): \(String(cString: strerror(errno)))")
        }
        return FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
    }

    /// When the file is over `limit` bytes, copies it over ``previous`` (the earlier one stays
    /// until the copy is whole) and empties it; the worker's next line starts it again. A line
    /// the worker writes between the copy and the cut is lost, as with logrotate's
    /// `copytruncate`.
    ///
    /// - Throws: when the copy cannot be made (the disk is full): the file is left whole.
    func keep(under limit: UInt64) throws(Failure) {
        guard let size = Self.size(of: file), size > limit else { return }
        let copy = URL(filePath: previous.path + ".partial")
        try? FileManager.default.removeItem(at: copy)
        do {
            try FileManager.default.copyItem(at: file, to: copy)
        } catch {
            try? FileManager.default.removeItem(at: copy)
            throw Failure(description: "cannot copy \(file.path) to cut it: \(error)")
        }
        guard rename(copy.path, previous.path) == 0 else {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(at: copy)
            throw Failure(description: "cannot rename \(copy.path) to \(previous.path): \(reason)")
        }
        truncate(file.path, 0)
    }

    /// The last `lines` lines, from at most the last 64 KiB of ``previous`` and of the file
    /// (the file alone may hold fewer lines just after a cut).
    func tail(lines: Int) -> String {
        var text = Self.end(of: previous) + Self.end(of: file)
        if text.hasSuffix("\n") { text.removeLast() }
        return text.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines).joined(separator: "\n")
    }

    private static func size(of file: URL) -> UInt64? {
        (try? FileManager.default.attributesOfItem(atPath: file.path))?[.size] as? UInt64
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
