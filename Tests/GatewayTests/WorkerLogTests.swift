import Foundation
import Testing

@testable import Gateway

/// A worker's log file, cut at its size while the worker appends to it.
@Suite("WorkerLog")
struct WorkerLogTests {
    /// A log in a folder of its own, removed by the caller.
    private func log() throws -> (WorkerLog, URL) {
        let folder = FileManager.default.temporaryDirectory.appending(path: "worker-log-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return (WorkerLog(file: folder.appending(path: "worker-1.log")), folder)
    }

    private func text(_ file: URL) throws -> String {
        try String(contentsOf: file, encoding: .utf8)
    }

    @Test("a log over its limit moves to .1 and starts again; what the worker appends lands in the new file")
    func cutOverLimit() throws {
        let (log, folder) = try log()
        defer { try? FileManager.default.removeItem(at: folder) }
        let worker = try log.openForAppending()
        worker.write(Data("one\ntwo\n".utf8))
        try log.keep(under: 100)
        #expect(try text(log.file) == "one\ntwo\n", "under the limit, nothing moves")
        #expect(!FileManager.default.fileExists(atPath: log.previous.path))
        try log.keep(under: 4)
        #expect(try text(log.previous) == "one\ntwo\n")
        #expect(try text(log.file) == "")
        worker.write(Data("three\n".utf8))
        try worker.close()
        #expect(try text(log.file) == "three\n", "appended at the start of the emptied file, no hole before it")
        #expect(log.tail(lines: 2) == "two\nthree", "the tail reaches back into .1")
    }

    @Test("a cut that cannot be made throws, and leaves the log and its earlier part whole")
    func failedCutKeepsTheLog() throws {
        let (log, folder) = try log()
        defer { try? FileManager.default.removeItem(at: folder) }
        try Data("a line\n".utf8).write(to: log.file)
        // `.1` a folder that is not empty: the copy cannot be renamed over it.
        try FileManager.default.createDirectory(at: log.previous, withIntermediateDirectories: true)
        try Data().write(to: log.previous.appending(path: "kept"))
        #expect(throws: WorkerLog.Failure.self) { try log.keep(under: 1) }
        #expect(try text(log.file) == "a line\n")
        #expect(FileManager.default.fileExists(atPath: log.previous.appending(path: "kept").path))
        let left = try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
        #expect(left == ["worker-1.log", "worker-1.log.1"], "no partial copy left behind")
    }
}
