import Foundation
import JSONBytes
import Synchronization
import WorkerCore

#if canImport(Glibc)
    import Glibc
#endif

/// A batch's output folder: `batch.json` (what it is for), `results.jsonl` (one Launch response
/// per input, with its `id`), `journal` (``BatchJournal``), pickles under `results/`, and
/// `summary.json` at the end.
///
/// Opening it finds what an earlier run finished, cuts off what a crash left half written, and
/// refuses a folder made for another input, bundle or `--return-pickled`.
public final class BatchOutput: Sendable {
    /// The folder.
    public let folder: URL
    /// What earlier runs finished.
    public let previous: BatchJournal.Recovered
    /// The batch's id (``BatchManifest/batchID``).
    public let batchID: String
    /// How many inputs, in order, earlier runs submitted to a queue.
    public let previouslySubmitted: Int
    private let files: Mutex<Files>
    private let submitted: Mutex<Int>
    /// The `flock`ed `batch.lock`, held while this value lives.
    private let lock: Int32

    private struct Files {
        let results: Int32
        let journal: Int32
        /// Where `results.jsonl` ends once what waits is written.
        var end: Int
        var counts: [String: Int]
        /// `counts["FAILURE"]`, kept apart: `--max-failures` reads it after every result.
        var failures: Int
        /// Result and journal lines recorded but not yet written: one `write` each per 64 KiB
        /// rather than two per input, which had cost a sixth of a trivial batch's time.
        var waitingResults: [UInt8] = []
        var waitingJournal: [UInt8] = []

        /// Writes what waits: the result lines first, so that every journal line in the file has
        /// its result line before it.
        mutating func flush() throws(BatchOutputError) {
            guard !waitingResults.isEmpty || !waitingJournal.isEmpty else { return }
            try BatchOutput.append(waitingResults, to: results, name: Name.results)
            waitingResults.removeAll(keepingCapacity: true)
            try BatchOutput.append(waitingJournal, to: journal, name: Name.journal)
            waitingJournal.removeAll(keepingCapacity: true)
        }
    }

    /// How much recorded output may wait in memory before it is written.
    private static let flushThreshold = 1 << 16

    /// The folder's file names.
    public enum Name {
        public static let manifest = "batch.json"
        public static let results = "results.jsonl"
        public static let journal = "journal"
        public static let summary = "summary.json"
        public static let pickles = "results"
        public static let submitted = "submitted"
        public static let lock = "batch.lock"
    }

    /// Opens `folder` for the batch `manifest` describes, making it when missing; with
    /// `restart`, what an earlier batch left there is removed first.
    ///
    /// - Throws: ``BatchOutputError`` when the folder holds another batch (what changed, and to
    ///   give `--restart` or another folder), or its files cannot be made or read.
    public init(folder: URL, manifest: BatchManifest, restart: Bool) throws(BatchOutputError) {
        self.folder = folder
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        } catch {
            throw BatchOutputError("--output \(folder.path): cannot make the folder: \(error.localizedDescription)")
        }
        let lock = try Self.lock(folder)
        do throws(BatchOutputError) {
            if restart {
                for name in [Name.manifest, Name.results, Name.journal, Name.summary, Name.pickles, Name.submitted] {
                    try? FileManager.default.removeItem(at: folder.appending(path: name))
                }
            }
            batchID = try Self.settle(manifest, in: folder)
            let submittedText = FileManager.default.contents(atPath: folder.appending(path: Name.submitted).path)
            previouslySubmitted =
                submittedText.flatMap {
                    Int(String(decoding: $0, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
                }
                ?? 0
            submitted = Mutex(previouslySubmitted)
            let resultsPath = folder.appending(path: Name.results).path
            let journalPath = folder.appending(path: Name.journal).path
            let recovered = try BatchJournal.recover(
                journal: journalPath, resultsLength: BatchJournal.fileLength(resultsPath))
            previous = recovered
            let results = try Self.openCut(resultsPath, to: recovered.resultsLength)
            let journal: Int32
            do {
                journal = try Self.openCut(journalPath, to: recovered.journalLength)
            } catch {
                close(results)
                throw error
            }
            files = Mutex(
                Files(
                    results: results, journal: journal, end: recovered.resultsLength, counts: recovered.counts,
                    failures: recovered.counts[TaskStatus.failure.rawValue, default: 0]))
        } catch {
            close(lock)
            throw error
        }
        self.lock = lock
    }

    /// Checks the folder's `batch.json` against `manifest`, or writes it for a new batch; returns
    /// the batch's id.
    private static func settle(_ manifest: BatchManifest, in folder: URL) throws(BatchOutputError) -> String {
        let manifestFile = folder.appending(path: Name.manifest)
        if let data = FileManager.default.contents(atPath: manifestFile.path) {
            guard let old = try? JSONDecoder().decode(BatchManifest.self, from: data) else {
                throw BatchOutputError(
                    "\(manifestFile.path) is not a batch manifest: give another --output folder, or --restart")
            }
            if let mismatch = old.mismatch(with: manifest) {
                throw BatchOutputError(
                    "\(folder.path) holds another batch: \(mismatch). Rerun with --restart to start over "
                        + "(its results are removed), or give another --output folder")
            }
            return old.batchID ?? "batch"
        }
        guard !FileManager.default.fileExists(atPath: folder.appending(path: Name.results).path) else {
            throw BatchOutputError(
                "\(folder.path) holds a results.jsonl that no batch.json describes: give another --output folder, "
                    + "or --restart to remove it")
        }
        var manifest = manifest
        manifest.batchID = "batch-\(RandomID.uuid())"
        try writeManifest(manifest, to: manifestFile)
        return manifest.batchID ?? "batch"
    }

    deinit {
        files.withLock { files in
            try? files.flush()
            close(files.results)
            close(files.journal)
        }
        close(lock)
    }

    /// Where pickled results go.
    public var picklesFolder: URL { folder.appending(path: Name.pickles) }

    /// How many results there are by status, earlier runs' included.
    public var counts: [String: Int] { files.withLock { $0.counts } }

    /// Records `item`'s result line and its journal line; they are written once 64 KiB wait, and
    /// by ``sync()`` (a crash loses what waits: those inputs run again on the rerun).
    ///
    /// - Throws: ``BatchOutputError`` when lines cannot be written (a full disk): the batch
    ///   stops, and a rerun resumes it.
    public func record(_ item: BatchItem, _ response: TaskResponse) throws(BatchOutputError) {
        _ = try record([BatchResult(item, response)], maxFailures: nil)
    }

    /// Records each of `results` in order as ``record(_:_:)`` does, under one lock, up to and
    /// including the one that makes `maxFailures` failures; returns how many it recorded, and
    /// how many have failed now (earlier runs' included).
    ///
    /// Lines are written straight into the waiting block: building each line apart, through a
    /// dictionary literal and string interpolation, was a quarter of a trivial batch's time.
    private func record(
        _ results: [BatchResult], maxFailures: Int?
    ) throws(BatchOutputError) -> (recorded: Int, failures: Int) {
        try files.withLock { files throws(BatchOutputError) in
            var recorded = 0
            var failed = 0
            for result in results {
                let start = files.waitingResults.count
                BatchLine.appendResult(id: result.id, result.response, to: &files.waitingResults)
                files.end += files.waitingResults.count - start
                let success = result.response.status == .success
                BatchLine.appendJournal(
                    index: result.index, success: success, end: files.end, to: &files.waitingJournal)
                recorded += 1
                if !success { failed += 1 }
                if let maxFailures, files.failures + failed >= maxFailures { break }
            }
            files.failures += failed
            // Only the statuses seen are counted: the summary lists no status with none.
            if failed > 0 { files.counts[TaskStatus.failure.rawValue, default: 0] += failed }
            if recorded > failed { files.counts[TaskStatus.success.rawValue, default: 0] += recorded - failed }
            if files.waitingResults.count >= Self.flushThreshold { try files.flush() }
            return (recorded, files.failures)
        }
    }

    /// Records `results` (a chunk's, in input order) as ``record(_:_:)`` does and counts them in
    /// `progress`; returns why the batch must stop now (its output cannot be written, or
    /// `maxFailures` inputs failed: the results after the last failure counted are dropped, and
    /// run again on a rerun), nil to go on. Both ways of running a batch record through it.
    func recordCounting(
        _ results: [BatchResult], progress: BatchProgress, maxFailures: Int?
    ) -> BatchRun.End? {
        let (recorded, failures): (Int, Int)
        do {
            (recorded, failures) = try record(results, maxFailures: maxFailures)
        } catch {
            return .outputError(error.message)
        }
        progress.finished(results[..<recorded].map { $0.response.status != .success })
        guard let maxFailures, failures >= maxFailures else { return nil }
        return .maxFailures
    }

    /// Remembers that the first `count` inputs were submitted to the queue: a rerun waits for
    /// their tasks instead of submitting them again. Written atomically when it changed, without
    /// an fsync: should a crash lose it, a rerun submits those tasks again (they may run twice;
    /// each input still gets one line).
    public func recordSubmitted(_ count: Int) {
        let changed = submitted.withLock { known in
            defer { known = count }
            return known != count
        }
        guard changed else { return }
        try? DurableFile.write(Array("\(count)\n".utf8), to: folder.appending(path: Name.submitted), sync: false)
    }

    /// Writes what was recorded and makes it durable (fsync of both files).
    ///
    /// - Throws: ``BatchOutputError`` when it cannot be written.
    public func sync() throws(BatchOutputError) {
        let (results, journal) = try files.withLock { files throws(BatchOutputError) in
            try files.flush()
            return (files.results, files.journal)
        }
        fsync(results)
        fsync(journal)
    }

    /// Writes `summary.json` durably.
    ///
    /// - Throws: ``BatchOutputError`` when it cannot be written.
    public func writeSummary(_ summary: BatchSummary) throws(BatchOutputError) {
        do {
            try DurableFile.write(summary.json(), to: folder.appending(path: Name.summary))
        } catch {
            throw BatchOutputError("cannot write the summary: \(error)")
        }
    }

    private static func writeManifest(_ manifest: BatchManifest, to file: URL) throws(BatchOutputError) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        do {
            try DurableFile.write(Array(try encoder.encode(manifest)), to: file)
        } catch {
            throw BatchOutputError("cannot write \(file.path): \(error)")
        }
    }

    /// Takes the folder's lock, so that two batches never write into one folder (nor one
    /// restarts it under the other); the system drops it when the process ends, however.
    private static func lock(_ folder: URL) throws(BatchOutputError) -> Int32 {
        let path = folder.appending(path: Name.lock).path
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw BatchOutputError("\(path): cannot open it: \(String(cString: strerror(errno)))") }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            throw BatchOutputError(
                "another launch-worker batch is using \(folder.path): wait for it to end, or give another --output folder"
            )
        }
        return fd
    }

    /// Opens `path` for appending, made when missing and cut to `length` bytes.
    private static func openCut(_ path: String, to length: Int) throws(BatchOutputError) -> Int32 {
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw BatchOutputError("\(path): cannot open it: \(String(cString: strerror(errno)))") }
        guard ftruncate(fd, off_t(length)) == 0 else {
            close(fd)
            throw BatchOutputError("\(path): cannot cut it to \(length) bytes: \(String(cString: strerror(errno)))")
        }
        return fd
    }

    fileprivate static func append(_ bytes: [UInt8], to fd: Int32, name: String) throws(BatchOutputError) {
        var written = 0
        while written < bytes.count {
            let count = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + written, bytes.count - written) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else {
                throw BatchOutputError(
                    "cannot write \(name): \(String(cString: strerror(errno))); rerun the same command to resume")
            }
            written += count
        }
    }
}
