import BatchJobs
import Foundation
import TestSupport
import Testing
import WorkerCore

private func manifest(input: String = "aa", bundle: String = "bb", pickled: Bool = false) -> BatchManifest {
    BatchManifest(
        input: .init(path: "in.csv", format: .csv, digest: FileDigest(sha256: input, bytes: 1, lines: 1)),
        bundle: .init(name: "b", location: "b", sha256: bundle), returnPickled: pickled, queue: nil)
}

private func item(_ index: Int) -> BatchItem {
    BatchItem(index: index, line: index + 2, id: "id-\(index)", request: .failure(BadRow(line: index + 2, "x")))
}

private func lines(_ file: URL) throws -> [String] {
    try String(contentsOf: file, encoding: .utf8).split(separator: "\n").map(String.init)
}

/// `folder`'s output opened again once an earlier `BatchOutput` of this process let go of it. A
/// child process another test spawns at that moment holds a copy of the lock's descriptor until
/// its exec closes it (a failure seen under load), so the lock may stay taken a moment longer.
private func reopened(_ folder: URL, _ manifest: BatchManifest, restart: Bool = false) async throws -> BatchOutput {
    let deadline = ContinuousClock.now + .seconds(30)
    while true {
        do {
            return try BatchOutput(folder: folder, manifest: manifest, restart: restart)
        } catch {
            guard error.message.hasPrefix("another launch-worker batch"), ContinuousClock.now < deadline else {
                throw error
            }
            try await Task.sleep(for: .milliseconds(10))
        }
    }
}

@Suite("batch output folder and journal")
struct BatchJournalTests {
    @Test("results and journal written, then read back on a resume")
    func resume() async throws {
        let folder = try Checkout.temporaryFolder("batch-out")
        do {
            let output = try BatchOutput(folder: folder, manifest: manifest(), restart: false)
            try output.record(item(0), .success(result: "1"))
            try output.record(item(2), .failure(traceback: "boom"))
        }
        let again = try await reopened(folder, manifest())
        #expect(again.previous.done.contains(0) && again.previous.done.contains(2) && !again.previous.done.contains(1))
        #expect(again.previous.counts == ["SUCCESS": 1, "FAILURE": 1])
        let written = try lines(folder.appending(path: "results.jsonl"))
        #expect(
            written == [
                #"{"id":"id-0","status":"SUCCESS","result":"1"}"#,
                #"{"id":"id-2","status":"FAILURE","traceback":"boom"}"#,
            ])
    }

    @Test("a result line without its journal line, and half lines, are cut off: that input runs again")
    func crashLeftovers() async throws {
        let folder = try Checkout.temporaryFolder("batch-out")
        do {
            let output = try BatchOutput(folder: folder, manifest: manifest(), restart: false)
            try output.record(item(0), .success(result: "1"))
        }
        let results = try FileHandle(forWritingTo: folder.appending(path: "results.jsonl"))
        try results.seekToEnd()
        try results.write(
            contentsOf: Data("{\"id\":\"id-1\",\"status\":\"SUCCESS\",\"result\":\"2\"}\n{\"id\":\"id-2\"".utf8))
        try results.close()
        let journal = try FileHandle(forWritingTo: folder.appending(path: "journal"))
        try journal.seekToEnd()
        try journal.write(contentsOf: Data("1 S 9".utf8))
        try journal.close()
        let again = try await reopened(folder, manifest())
        #expect(again.previous.done.count == 1)
        #expect(!again.previous.done.contains(1))
        try again.record(item(1), .success(result: "2"))
        try again.sync()
        let written = try lines(folder.appending(path: "results.jsonl"))
        #expect(written.count == 2)
        #expect(written.last == #"{"id":"id-1","status":"SUCCESS","result":"2"}"#)
    }

    @Test("a folder of another input, bundle or --return-pickled is refused, unless restarted")
    func refused() async throws {
        let folder = try Checkout.temporaryFolder("batch-out")
        do {
            let output = try BatchOutput(folder: folder, manifest: manifest(), restart: false)
            try output.record(item(0), .success(result: "1"))
        }
        for other in [manifest(input: "cc"), manifest(bundle: "dd"), manifest(pickled: true)] {
            await #expect(throws: BatchOutputError.self) { try await reopened(folder, other) }
        }
        let restarted = try await reopened(folder, manifest(input: "cc"), restart: true)
        #expect(restarted.previous.done.count == 0)
        #expect(try String(contentsOf: folder.appending(path: "results.jsonl"), encoding: .utf8).isEmpty)
    }

    @Test("a folder another batch is using is refused, even with --restart, until that batch lets go")
    func locked() async throws {
        let folder = try Checkout.temporaryFolder("batch-out")
        do {
            let running = try BatchOutput(folder: folder, manifest: manifest(), restart: false)
            try running.record(item(0), .success(result: "1"))
            #expect(throws: BatchOutputError.self) {
                try BatchOutput(folder: folder, manifest: manifest(), restart: true)
            }
        }
        let after = try await reopened(folder, manifest())
        #expect(after.previous.done.count == 1)
    }

    @Test("the done set keeps one bit per input")
    func doneSet() {
        var done = DoneSet()
        let first = done.insert(1000)
        let second = done.insert(1000)
        #expect(first && !second)
        #expect(done.contains(1000) && !done.contains(999) && !done.contains(5000))
        #expect(done.count == 1)
    }
}
