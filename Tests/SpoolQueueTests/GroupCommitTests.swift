import Foundation
import Logging
import Synchronization
import TestSupport
import Testing
import WorkerCore

@testable import SpoolQueue

/// Keeps every message logged through it, for tests that wait for a log line.
private final class LogRecord: Sendable {
    private let messages = Mutex<[String]>([])

    var logger: Logger {
        Logger(label: "test") { _ in Handler(record: self) }
    }

    func contains(_ text: String) -> Bool {
        messages.withLock { $0.contains { $0.contains(text) } }
    }

    private struct Handler: LogHandler {
        let record: LogRecord
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let metadata = (event.metadata ?? [:]).sorted { $0.key < $1.key }.map { " \($0.key)=\($0.value)" }
            record.messages.withLock { $0.append("\(event.message)\(metadata.joined())") }
        }
    }
}

@Suite("Group commit of answers with fsync")
struct GroupCommitTests {
    @Test("answers from four concurrent slots, four waiting at most, all land in responses/ once committed")
    func groupCommit() async throws {
        let layout = SpoolLayout(root: try Checkout.temporaryFolder("group-commit"))
        let queue = try openSpool(layout, maxStagedAnswers: 4)
        let producer = try SpoolProducer(layout: layout)
        for index in 0..<100 { try producer.submit(request, id: "t\(index)") }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<4 {
                group.addTask {
                    while let task = try await queue.next() {
                        try await queue.finish(
                            task, response: .success(result: task.id), timings: now, disposition: .answered)
                    }
                }
            }
            try await group.waitForAll()
        }
        await queue.commitStaged()
        #expect(names(layout.responses).count == 100)
        for index in 0..<100 { #expect(producer.status(of: "t\(index)").result == "t\(index)") }
        #expect(claimFiles(layout, queue).isEmpty)
        #expect(names(layout.incoming).isEmpty)
        #expect(names(layout.temporary).isEmpty)
    }

    @Test("an answered claim's file holds the next answer: after the first, a task neither creates nor deletes a file")
    func claimFilesAreReused() async throws {
        let layout = SpoolLayout(root: try Checkout.temporaryFolder("spares"))
        let queue = try openSpool(layout)
        let producer = try SpoolProducer(layout: layout)
        var inodes: [String: UInt64] = [:]
        // The first claim is far longer than any answer: the answer written over it is cut to length.
        let long = Array(#"{"args": {"x": "\#(String(repeating: "a", count: 5000))"}}"#.utf8)
        for index in 0..<5 {
            try producer.submit(index == 0 ? long : request, id: "t\(index)")
            inodes["t\(index)"] = try inode(layout.taskFile("t\(index)", in: layout.incoming))
            let task = try #require(try await queue.next())
            try await queue.finish(task, response: .success(result: task.id), timings: now, disposition: .answered)
            await queue.commitStaged()
            #expect(producer.status(of: task.id).result == task.id)
        }
        // Each answer after the first lands in the file the task before it was claimed in.
        for index in 1..<5 {
            #expect(try inode(layout.taskFile("t\(index)", in: layout.responses)) == inodes["t\(index - 1)"])
        }
        #expect(claimFiles(layout, queue).isEmpty)
        #expect(names(layout.claimed.appending(path: queue.workerID)).count == 1)  // the last claim, kept
    }

    private func inode(_ file: URL) throws -> UInt64 {
        try #require(try FileManager.default.attributesOfItem(atPath: file.path)[.systemFileNumber] as? UInt64)
    }

    @Test("a group that cannot be committed is retried; its task reads STARTED until it is")
    func retried() async throws {
        let layout = SpoolLayout(root: try Checkout.temporaryFolder("commit-retry"))
        let record = LogRecord()
        let queue = try openSpool(layout, logger: record.logger)
        let producer = try SpoolProducer(layout: layout)
        try producer.submit(request, id: "t1")
        let task = try #require(try await queue.next())
        // responses/ is a plain file for a while: no commit can open it.
        let away = layout.root.appending(path: "responses-away")
        try FileManager.default.moveItem(at: layout.responses, to: away)
        try Data().write(to: layout.responses)
        try await queue.finish(task, response: .success(result: "2"), timings: now, disposition: .answered)
        try await eventually("the failed commit was logged") { record.contains("cannot make answers durable") }
        #expect(producer.status(of: "t1").status == .started)
        #expect(claimFiles(layout, queue) == ["t1.answer", "t1.json"])

        try FileManager.default.removeItem(at: layout.responses)
        try FileManager.default.moveItem(at: away, to: layout.responses)
        await queue.commitStaged()
        #expect(producer.status(of: "t1").result == "2")
        #expect(claimFiles(layout, queue).isEmpty)
    }

    @Test("finish returns while up to 64 answers wait for a failing disk (the default), and waits for the 65th")
    func backlogLimit() async throws {
        #expect(SpoolQueue.Configuration().maxStagedAnswers == 64)
        let layout = SpoolLayout(root: try Checkout.temporaryFolder("commit-backlog"))
        let record = LogRecord()
        let queue = try openSpool(layout, logger: record.logger)
        let producer = try SpoolProducer(layout: layout)
        for index in 0..<65 { try producer.submit(request, id: "t\(index)") }
        var tasks: [QueuedTask] = []
        while let task = try await queue.next() { tasks.append(task) }
        #expect(tasks.count == 65)
        let away = layout.root.appending(path: "responses-away")
        try FileManager.default.moveItem(at: layout.responses, to: away)
        try Data().write(to: layout.responses)

        let staged = FinishFlag()
        let first64 = Task {
            for task in tasks.prefix(64) {
                try await queue.finish(task, response: .success(result: "1"), timings: now, disposition: .answered)
            }
            staged.set()
        }
        try await eventually("64 answers were staged without waiting") { staged.isSet }
        try await first64.value
        let last = FinishFlag()
        let lastFinish = Task {
            try await queue.finish(tasks[64], response: .success(result: "1"), timings: now, disposition: .answered)
            last.set()
        }
        // Once a group of 65 failed, the 65th answer is staged and its finish waits for room.
        try await eventually("a group of 65 answers failed") { record.contains("answers=65") }
        #expect(!last.isSet)

        try FileManager.default.removeItem(at: layout.responses)
        try FileManager.default.moveItem(at: away, to: layout.responses)
        try await lastFinish.value
        #expect(last.isSet)
        await queue.commitStaged()
        #expect(names(layout.responses).count == 65)
    }

    @Test("a failing group commit is retried after 50 ms, doubling to 5 s; a commit starts again at 50 ms")
    func commitBackoff() {
        var backoff = CommitBackoff()
        let pauses = (0..<10).map { _ in backoff.failed() }
        let expected: [Duration] = [
            .milliseconds(50), .milliseconds(100), .milliseconds(200), .milliseconds(400), .milliseconds(800),
            .milliseconds(1600), .milliseconds(3200), .seconds(5), .seconds(5), .seconds(5),
        ]
        #expect(pauses == expected)
        backoff.succeeded()
        #expect(backoff.failed() == .milliseconds(50))
    }
}

/// Set once a call returned.
private final class FinishFlag: Sendable {
    private let flag = Mutex(false)
    var isSet: Bool { flag.withLock { $0 } }
    func set() { flag.withLock { $0 = true } }
}
