import Foundation
import WorkerCore

#if canImport(Glibc)
    import Glibc
#endif

/// `incoming/` as a worker reads it: the task files, oldest first, and an outcome for every other
/// file, so that nothing waits there forever unnoticed.
///
/// A name that is not `<task_id>.json` is dead-lettered at once (``MisnamedFiles``). A hidden
/// name (starting with `.`) is a producer writing in place (as `rsync` does): it is left alone,
/// unless nobody changed it for `abandonedAfter` (a producer that died mid-write), when it is
/// dead-lettered too.
struct IncomingFolder: Sendable {
    let path: String
    let abandonedAfter: Duration
    let misnamed: MisnamedFiles

    /// One entry of the folder: its name's bytes (any bytes but `/` and NUL) and, for names that
    /// are valid UTF-8, the name.
    struct Entry {
        let bytes: [UInt8]
        var name: String? { String(validating: bytes, as: UTF8.self) }
    }

    /// The names of the task files waiting, oldest first, after dead-lettering every misnamed or
    /// abandoned file.
    ///
    /// - Throws: ``QueueUnavailableError`` when the folder cannot be read.
    func scan() throws(QueueUnavailableError) -> [String] {
        var tasks: [String] = []
        for entry in try entries() {
            if entry.bytes.first == UInt8(ascii: ".") {
                guard let age = age(of: entry), age > abandonedAfter else { continue }
                misnamed.deadLetter(
                    entry.bytes,
                    problem: """
                        it is a hidden file (its name starts with .) that nobody changed for \
                        \(age.formattedSeconds): a producer that never finished writing it in place
                        """)
            } else if let name = entry.name, SpoolLayout.taskID(fromFileName: name) != nil {
                tasks.append(name)
            } else {
                misnamed.deadLetter(entry.bytes, problem: MisnamedFiles.problem(ofFileName: entry.bytes))
            }
        }
        guard tasks.count > 1 else { return tasks }
        // Files queued within the clock's resolution tie: their names decide, so every look agrees.
        let dated: [(name: String, modified: Double)] = tasks.map { ($0, modified("\(path)/\($0)") ?? 0) }
        return dated.sorted { ($0.modified, $0.name) < ($1.modified, $1.name) }.map(\.name)
    }

    /// Whether the folder holds nothing at all: no task, no hidden file a producer still writes,
    /// no misnamed file that could not be dead-lettered. False when it cannot be read.
    func isEmpty() -> Bool {
        (try? entries())?.isEmpty ?? false
    }

    /// Every entry but `.` and `..`, read with `readdir` so that a name that is not UTF-8 is seen
    /// (and dead-lettered) too.
    private func entries() throws(QueueUnavailableError) -> [Entry] {
        guard let folder = opendir(path) else {
            throw QueueUnavailableError("cannot read \(path): \(String(cString: strerror(errno)))")
        }
        defer { closedir(folder) }
        var entries: [Entry] = []
        while let entry = readdir(folder) {
            let bytes = withUnsafeBytes(of: &entry.pointee.d_name) { raw in
                Array(raw.prefix { $0 != 0 })
            }
            if bytes == [UInt8(ascii: ".")] || bytes == [UInt8(ascii: "."), UInt8(ascii: ".")] { continue }
            entries.append(Entry(bytes: bytes))
        }
        return entries
    }

    /// How long ago the entry was last changed; nil when it is gone.
    private func age(of entry: Entry) -> Duration? {
        var info = stat()
        let found = MisnamedFiles.withPath(path, entry.bytes) { lstat($0, &info) == 0 }
        guard found else { return nil }
        let modified = Double(info.st_mtim.tv_sec) + Double(info.st_mtim.tv_nsec) / 1_000_000_000
        return .seconds(max(Date().timeIntervalSince1970 - modified, 0))
    }

    /// The modification time of the file at `path`, in seconds since 1970; nil when it is gone.
    private func modified(_ path: String) -> Double? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return Double(info.st_mtim.tv_sec) + Double(info.st_mtim.tv_nsec) / 1_000_000_000
    }
}
