import Foundation
import WorkerCore

#if canImport(Glibc)
    import Glibc
#endif

/// The folders of a spool (see docs/spool-protocol.md) and the rules for task ids.
public struct SpoolLayout: Sendable {
    /// The spool's root folder.
    public let root: URL
    /// Tasks waiting to run: `incoming/<task_id>.json` (a fixed name producers rely on).
    public let incoming: URL
    /// Responses: `responses/<task_id>.json` (fixed).
    public let responses: URL
    /// Tasks that will never run again (fixed).
    public let dead: URL
    /// Temporary files, renamed into place when whole.
    public let temporary: URL
    /// `claimed/<worker_id>/<task_id>.json`: tasks being run, by owner, each with its answer
    /// staged next to it (`<task_id>.answer`) once it finished, until that is committed.
    public let claimed: URL
    /// `workers/<worker_id>.lock`: held by live workers.
    public let workers: URL
    /// `attempts/<task_id>`: how many times a worker died running the task.
    public let attempts: URL
    /// Pickled results, unless the worker is told otherwise.
    public let results: URL

    /// The layout of the spool at `root`.
    public init(root: URL) {
        let root = root.standardizedFileURL
        self.root = root
        incoming = root.appending(path: "incoming")
        responses = root.appending(path: "responses")
        dead = root.appending(path: "dead")
        temporary = root.appending(path: "tmp")
        claimed = root.appending(path: "claimed")
        workers = root.appending(path: "workers")
        attempts = root.appending(path: "attempts")
        results = root.appending(path: "results")
    }

    /// Makes every folder that is missing.
    ///
    /// - Throws: ``SpoolError`` naming the folder that cannot be made.
    public func create() throws(SpoolError) {
        for folder in [incoming, responses, dead, temporary, claimed, workers, attempts] {
            do {
                try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            } catch {
                throw SpoolError("cannot make the spool folder \(folder.path): \(error.localizedDescription)")
            }
        }
    }

    /// The file of task `id` in `folder`.
    public func taskFile(_ id: String, in folder: URL) -> URL {
        folder.appending(path: "\(id).json")
    }

    /// Whether `id` is a valid task id: 1 to 200 characters of `A-Z a-z 0-9 . _ -`, not
    /// starting with `.`.
    public static func isValidTaskID(_ id: String) -> Bool {
        guard !id.isEmpty, id.utf8.count <= 200, !id.hasPrefix(".") else { return false }
        return id.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
        }
    }

    /// The task id of a file name in `incoming/` or `claimed/`, or nil for names to ignore.
    static func taskID(fromFileName name: String) -> String? {
        guard name.hasSuffix(".json") else { return nil }
        let id = String(name.dropLast(5))
        return isValidTaskID(id) ? id : nil
    }
}

/// A spool that cannot be used, or a file operation on it that failed.
public struct SpoolError: Error, Sendable, CustomStringConvertible {
    /// What went wrong, with the path.
    public var description: String

    /// Makes an error with a message naming the path.
    public init(_ description: String) {
        self.description = description
    }

    /// An error for a failed system call on `path`, with `errno`'s text.
    static func system(_ what: String, _ path: String, errno code: Int32 = errno) -> SpoolError {
        SpoolError("\(what) \(path): \(String(cString: strerror(code)))")
    }
}
