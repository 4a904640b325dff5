import Foundation
import Logging
import Synchronization
import WorkerCore

#if canImport(Glibc)
    import Glibc
#endif

/// Gives a file in `incoming/` whose name is not `<task_id>.json` its outcome: it is not run; it
/// gets a `FAILURE` response naming the problem and moves to `dead/`, under a task id of its own
/// (its name has none): `misnamed-<the name, other characters as _>-<its inode>`.
///
/// The response is written first, then the file moved: a worker that dies in between leaves the
/// file in `incoming/`, and the next look gives it the same id (the inode does not change), so
/// it is answered once, whichever worker moves it.
final class MisnamedFiles: Sendable {
    private let layout: SpoolLayout
    private let sync: Bool
    private let logger: Logger
    /// Names whose dead-lettering failed and was logged: tried again at every look, logged once.
    private let failing = Mutex<Set<[UInt8]>>([])

    /// Dead-letters into the spool at `layout`; `sync` makes the response durable.
    init(layout: SpoolLayout, sync: Bool, logger: Logger) {
        self.layout = layout
        self.sync = sync
        self.logger = logger
    }

    /// Answers the file `incoming/<name>` with a `FAILURE` saying `problem`, then moves it to
    /// `dead/`; a file another worker took meanwhile is left to it. A failure is logged (once)
    /// and leaves the file where it is, for the next look.
    func deadLetter(_ name: [UInt8], problem: String) {
        var info = stat()
        guard Self.withPath(layout.incoming.path, name, { lstat($0, &info) }) == 0 else { return }
        let id = Self.taskID(for: name, inode: UInt64(info.st_ino))
        let shown = Self.shown(name)
        let traceback = """
            the file incoming/\(shown) is not a task: \(problem). A task's file is named \
            <task_id>.json, where task_id is 1 to 200 characters of A-Z a-z 0-9 . _ - not starting \
            with '.' (docs/spool-protocol.md). It was not run; it was moved to dead/\(id).json.
            """
        let response = SpoolResponse(
            task: QueuedTask(id: id, body: []), response: .failure(traceback: traceback), timings: nil)
        let dead = layout.taskFile(id, in: layout.dead).path
        do {
            try DurableFile.write(
                response.jsonData(), to: layout.taskFile(id, in: layout.responses), via: layout.temporary, sync: sync)
            let failure = Self.withPath(layout.incoming.path, name) { rename($0, dead) == 0 ? 0 : errno }
            // ENOENT: another worker moved it (under the same id, with the same response).
            guard failure == 0 || failure == ENOENT else {
                throw SpoolError.system("cannot move it to", dead, errno: failure)
            }
        } catch {
            guard failing.withLock({ $0.insert(name).inserted }) else { return }
            logger.error(
                """
                a file in incoming/ is not a task, and cannot be moved to dead/ with its FAILURE response; \
                it stays in incoming/ and is tried again at every look
                """,
                metadata: ["file": "\(shown)", "problem": "\(problem)", "error": "\(error)"])
            return
        }
        failing.withLock { _ = $0.remove(name) }
        logger.error(
            "a file in incoming/ is not a task: it was moved to dead/ with a FAILURE response naming the problem",
            metadata: ["file": "\(shown)", "task_id": "\(id)", "problem": "\(problem)"])
    }

    /// What is wrong with a name in `incoming/` that is not a task's.
    static func problem(ofFileName name: [UInt8]) -> String {
        let suffix = Array(".json".utf8)
        // A name that is only ".json" is hidden, never misnamed.
        guard name.count > suffix.count, name.suffix(suffix.count).elementsEqual(suffix) else {
            return "its name does not end in .json"
        }
        let id = name.dropLast(suffix.count)
        var problems: [String] = []
        if id.count > 200 { problems.append("its task id is \(id.count) bytes long, over 200") }
        let text = String(decoding: id, as: UTF8.self)
        let others = text.unicodeScalars.filter { !isAllowed($0) }.map(String.init)
        if !others.isEmpty {
            var distinct: [String] = []
            for other in others where !distinct.contains(other) { distinct.append(other) }
            let listed = distinct.prefix(5).map { $0.debugDescription }.joined(separator: ", ")
            problems.append("its name holds characters other than A-Z a-z 0-9 . _ - (\(listed))")
        }
        return problems.isEmpty ? "its name is not a task file's" : problems.joined(separator: "; ")
    }

    /// The task id a misnamed file is answered under: readable, valid, and the same at every look
    /// while the file exists.
    static func taskID(for name: [UInt8], inode: UInt64) -> String {
        let text = String(decoding: name, as: UTF8.self)
        let stem = text.hasSuffix(".json") ? String(text.dropLast(5)) : text
        let readable = String(
            String.UnicodeScalarView(stem.unicodeScalars.map { isAllowed($0) ? $0 : "_" }).prefix(100))
        return "misnamed-\(readable)-\(String(inode, radix: 36))"
    }

    /// The name as logs and responses show it: quoted, with control characters escaped (and bytes
    /// that are not UTF-8 as U+FFFD).
    static func shown(_ name: [UInt8]) -> String {
        String(decoding: name, as: UTF8.self).debugDescription
    }

    private static func isAllowed(_ scalar: Unicode.Scalar) -> Bool {
        scalar.isASCII
            && (("A"..."Z").contains(scalar) || ("a"..."z").contains(scalar) || ("0"..."9").contains(scalar)
                || scalar == "." || scalar == "_" || scalar == "-")
    }

    /// Calls `body` with the C path of `name` (raw bytes) in `folder`.
    static func withPath<Result>(_ folder: String, _ name: [UInt8], _ body: (UnsafePointer<CChar>) -> Result) -> Result
    {
        let path = Array(folder.utf8) + [UInt8(ascii: "/")] + name + [0]
        return path.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { body($0.baseAddress!) }
        }
    }
}
