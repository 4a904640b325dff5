import Foundation
import Testing

@testable import Gateway

#if canImport(Glibc)
    import Glibc
#endif

/// A worker's log, written from the worker's pipe by the relay and cut at its size.
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

    /// Relays `writes` (each one `write` into a pipe, the pipe then closed, as when the worker
    /// exits) into `log`, reading `readSize` bytes at a time; returns the problems reported.
    private func relay(_ writes: [String], into log: WorkerLog, limit: UInt64, readSize: Int) throws -> [String] {
        var ends: [Int32] = [0, 0]
        try #require(pipe(&ends) == 0)
        for text in writes {
            let written = text.utf8CString.withUnsafeBufferPointer { write(ends[1], $0.baseAddress, $0.count - 1) }
            try #require(written == text.utf8.count)
        }
        close(ends[1])
        var problems: [String] = []
        WorkerLogRelay.run(log, input: ends[0], limit: limit, readSize: readSize) { problems.append($0) }
        return problems
    }

    private static let lines = (0..<15).map { "line \($0 < 10 ? "0" : "")\($0)\n" }  // 8 bytes each

    @Test("past its limit the log moves to .1 and starts again, and nothing written is lost to the cut")
    func cutOverLimit() throws {
        let (log, folder) = try log()
        defer { try? FileManager.default.removeItem(at: folder) }
        // Reads of two lines: 64 bytes fill the file, the next read starts a new one.
        let problems = try relay(Self.lines, into: log, limit: 64, readSize: 16)
        #expect(problems.isEmpty)
        #expect(try text(log.previous) == Self.lines[..<8].joined())
        #expect(try text(log.file) == Self.lines[8...].joined())
        #expect(log.tail(lines: 9) == String(Self.lines[6...].joined().dropLast()), "the tail reaches back into .1")
    }

    @Test("a worker started again appends to the log its predecessor left")
    func appendsToTheLogLeft() throws {
        let (log, folder) = try log()
        defer { try? FileManager.default.removeItem(at: folder) }
        try Data("before\n".utf8).write(to: log.file)
        #expect(try relay(["after\n"], into: log, limit: 1 << 20, readSize: 1 << 16).isEmpty)
        #expect(try text(log.file) == "before\nafter\n")
        #expect(!FileManager.default.fileExists(atPath: log.previous.path))
    }

    @Test("a cut that cannot be made is said once, and the log keeps everything")
    func failedCutKeepsTheLog() throws {
        let (log, folder) = try log()
        defer { try? FileManager.default.removeItem(at: folder) }
        // `.1` a folder that is not empty: the file cannot be renamed over it.
        try FileManager.default.createDirectory(at: log.previous, withIntermediateDirectories: true)
        try Data().write(to: log.previous.appending(path: "kept"))
        let problems = try relay(Self.lines, into: log, limit: 16, readSize: 16)
        #expect(problems.count == 1)
        #expect(problems.first?.contains("cannot rename") == true, "\(problems)")
        #expect(try text(log.file) == Self.lines.joined())
        #expect(FileManager.default.fileExists(atPath: log.previous.appending(path: "kept").path))
    }

    @Test("a log that cannot be written: what arrives is still read to the end (no worker waits on it), said once")
    func unwritableLogIsDrained() throws {
        let (log, folder) = try log()
        try FileManager.default.removeItem(at: folder)
        // 60 KiB, read and dropped in reads of 4 KiB.
        let many = Array(repeating: String(repeating: "x", count: 1023) + "\n", count: 60)
        let problems = try relay(many, into: log, limit: 1 << 20, readSize: 4096)
        #expect(problems.count == 1)
        #expect(problems.first?.contains("cannot open") == true, "\(problems)")
        #expect(!FileManager.default.fileExists(atPath: log.file.path))
    }
}
