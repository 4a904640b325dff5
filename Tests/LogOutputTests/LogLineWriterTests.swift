import Foundation
import Logging
import Synchronization
import Testing

@testable import LogOutput

/// A temporary file the writer under test writes to.
private final class LogFile {
    let url = FileManager.default.temporaryDirectory.appending(path: "log-output-\(UUID().uuidString).log")
    let fd: Int32

    init() {
        fd = open(url.path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0o600)
    }

    deinit {
        close(fd)
        try? FileManager.default.removeItem(at: url)
    }

    var lines: [String] {
        ((try? String(contentsOf: url, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }
}

/// Text collected from another thread: what `StreamLogHandler` writes, what a pipe gave.
private final class Collected: TextOutputStream, Sendable {
    let text = Mutex("")

    func write(_ string: String) {
        text.withLock { $0 += string }
    }
}

/// A copy of `stream` that writes to the same collected text.
private struct CollectedStream: TextOutputStream, Sendable {
    let collected: Collected

    mutating func write(_ string: String) {
        collected.write(string)
    }
}

@Suite("LogLineWriter and LogLineHandler")
struct LogLineWriterTests {
    @Test("lines of 8 threads logging at once all arrive whole, each thread's in its order")
    func manyThreads() async {
        let file = LogFile()
        let writer = LogLineWriter(fd: file.fd)
        await withTaskGroup(of: Void.self) { group in
            for thread in 0..<8 {
                group.addTask {
                    for index in 0..<500 { writer.append(Array("thread \(thread) line \(index)\n".utf8)) }
                }
            }
        }
        writer.flush()
        let lines = file.lines
        #expect(lines.count == 4000)
        for thread in 0..<8 {
            let own = lines.filter { $0.hasPrefix("thread \(thread) ") }
            #expect(own == (0..<500).map { "thread \(thread) line \($0)" })
        }
    }

    @Test("to a pipe, in pieces of whole lines, one longer than PIPE_BUF among them: every byte once, in order")
    func piecesToAPipe() throws {
        var ends: [Int32] = [0, 0]
        try #require(pipe(&ends) == 0)
        // Read as it fills, as a container's runtime reads a worker's stderr.
        let (readEnd, received, done) = (ends[0], Collected(), DispatchSemaphore(value: 0))
        Thread {
            var bytes: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 1 << 16)
            while case let count = read(readEnd, &chunk, chunk.count), count > 0 { bytes += chunk[..<count] }
            close(readEnd)
            received.write(String(decoding: bytes, as: UTF8.self))
            done.signal()
        }.start()
        let writer = LogLineWriter(fd: ends[1])
        let lines = (0..<2000).map { String(repeating: "x", count: $0 == 700 ? 10_000 : $0 % 97) + " \($0)" }
        for line in lines { writer.append(Array((line + "\n").utf8)) }
        writer.flush()
        close(ends[1])
        done.wait()
        let text = received.text.withLock { $0 }
        #expect(text.split(separator: "\n").map(String.init) == lines)
    }

    @Test("a warning is written before log returns, after the lines logged before it")
    func warningWrittenAtOnce() {
        let file = LogFile()
        var logger = Logger(label: "test") { LogLineHandler(label: $0, writer: LogLineWriter(fd: file.fd)) }
        logger.logLevel = .debug
        logger.info("first")
        logger.debug("second")
        logger.warning("third")
        #expect(file.lines.map { $0.components(separatedBy: "] ").last } == ["first", "second", "third"])
    }

    @Test("routine lines reach the file by themselves, without a flush")
    func writerThreadWrites() async throws {
        let file = LogFile()
        let logger = Logger(label: "test") { LogLineHandler(label: $0, writer: LogLineWriter(fd: file.fd)) }
        for index in 0..<3 { logger.info("line \(index)") }
        let deadline = ContinuousClock.now + .seconds(60)
        while file.lines.count < 3, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(file.lines.map { $0.components(separatedBy: "] ").last } == ["line 0", "line 1", "line 2"])
    }

    @Test("a write that fails (the reader stopped, the pipe full) drops the line; the next one arrives whole")
    func failedWriteDrops() throws {
        var ends: [Int32] = [0, 0]
        try #require(pipe(&ends) == 0)
        defer { ends.forEach { close($0) } }
        for end in ends { _ = fcntl(end, F_SETFL, fcntl(end, F_GETFL) | O_NONBLOCK) }
        let filler = [UInt8](repeating: UInt8(ascii: "f"), count: 4096)
        for size in [4096, 1] {
            while write(ends[1], filler, size) == size {}
        }
        let writer = LogLineWriter(fd: ends[1], limit: 0)
        writer.append(Array("dropped\n".utf8))  // returns: the write failed with EAGAIN
        var drained: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while case let count = read(ends[0], &chunk, chunk.count), count > 0 { drained += chunk[..<count] }
        #expect(drained.allSatisfy { $0 == UInt8(ascii: "f") }, "nothing of the dropped line, no part of it")
        writer.append(Array("kept\n".utf8))
        let count = read(ends[0], &chunk, chunk.count)
        #expect(count > 0 && String(decoding: chunk[..<count], as: UTF8.self) == "kept\n")
    }

    @Test("a line that would take the writer over its limit is written, after the rest, before append returns")
    func overLimit() {
        let file = LogFile()
        let writer = LogLineWriter(fd: file.fd, limit: 8)
        writer.append(Array("one\n".utf8))
        writer.append(Array("two\n".utf8))
        // Over the limit alone, so it is written at once whenever the writer thread took the rest.
        writer.append(Array("three three\n".utf8))
        #expect(file.lines == ["one", "two", "three three"])
        let immediate = LogLineWriter(fd: file.fd, limit: 0)
        immediate.append(Array("four\n".utf8))
        #expect(file.lines.last == "four")
    }

    @Test("lines read as StreamLogHandler's: level, label, sorted metadata, source, message")
    func sameLayoutAsStreamLogHandler() throws {
        let file = LogFile()
        let collected = Collected()
        for handler in [
            LogLineHandler(label: "launch-worker", writer: LogLineWriter(fd: file.fd)) as any LogHandler,
            StreamLogHandler(label: "launch-worker", stream: CollectedStream(collected: collected)),
        ] {
            var logger = Logger(label: "launch-worker") { _ in handler }
            logger[metadataKey: "endpoint"] = "bench"
            logger.error("roll-out failed", metadata: ["reason": "exit 2", "attempt": "1"])
            logger.warning("no metadata of its own")
        }
        let stream = collected.text.withLock { $0 }.split(separator: "\n").map(String.init)
        let ours = file.lines
        #expect(ours.count == 2)
        // The same text after the timestamp, which is the local time to the second.
        #expect(ours.map { $0.drop { $0 != " " } } == stream.map { $0.drop { $0 != " " } })
        let error = " error launch-worker: attempt=1 endpoint=bench reason=exit 2 [LogOutputTests] roll-out failed"
        #expect(ours.first?.hasSuffix(error) == true)
        let timestamp = try #require(ours.first?.prefix { $0 != " " })
        #expect(timestamp.wholeMatch(of: /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4}/) != nil)
    }
}
