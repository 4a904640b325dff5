import CLinux
import Foundation
import Logging
import Synchronization
import WorkerCore

#if canImport(Glibc)
    import Glibc
#endif

/// Writes what every worker writes on stdout and stderr into its log, and keeps each log under
/// `--worker-log-size`, as a container runtime keeps a container's log: a worker writes into a
/// pipe, and a thread of the relay's own appends what it reads to `worker-<n>.log`; before a
/// write would take the file over the limit, the file is renamed to `worker-<n>.log.1` (over
/// the earlier one) and a new one started. Nothing a worker writes is lost to a cut (cutting a
/// file the worker itself appended to, by copying and emptying it, lost what came meanwhile),
/// and a worker never waits for the disk: what cannot be written (a full disk) is dropped, said
/// once in the gateway's log.
final class WorkerLogRelay: Sendable {
    private let limit: UInt64
    private let logger: Logger

    /// A relay keeping logs under `limit` bytes, saying its failures through `logger`.
    init(limit: UInt64, logger: Logger) {
        self.limit = limit
        self.logger = logger
    }

    /// Relays what arrives on `input` (the read end of a worker's output pipe, closed here)
    /// into `log` on a thread of its own, until every writer has closed the pipe (the worker
    /// exited); the flag returned is set then.
    func relay(_ log: WorkerLog, from input: Int32) -> Finished {
        let limit = limit
        let logger = logger
        let finished = Finished()
        let thread = Thread {
            clinux_name_this_thread("worker-log")
            Self.run(log, input: input, limit: limit) { problem in
                logger.error("a worker's log: \(problem)", metadata: ["log": "\(log.file.path)"])
            }
            finished.set()
        }
        thread.start()
        return finished
    }

    /// Whether a relay has written everything its worker wrote.
    final class Finished: Sendable {
        private let value = Atomic(false)

        /// Set once the pipe ended and its last bytes are in the log.
        var isSet: Bool { value.load(ordering: .acquiring) }

        fileprivate func set() { value.store(true, ordering: .releasing) }
    }

    /// Appends what arrives on `input`, in reads of up to `readSize` bytes, to `log`'s file,
    /// cutting as ``relay(_:from:)`` says, until the pipe ends; closes `input`. Each kind of
    /// problem (a file that cannot be written, a cut that cannot be made) is `report`ed once.
    static func run(
        _ log: WorkerLog, input: Int32, limit: UInt64, readSize: Int = 64 << 10, report: (String) -> Void
    ) {
        var output = Output(log: log, limit: limit)
        var buffer = [UInt8](repeating: 0, count: readSize)
        var reported: Set<Output.Problem> = []
        // Made at once, so a worker that writes nothing still has its (empty) log.
        if let problem = output.open() {
            reported.insert(.write); report("\(problem); what the worker writes is dropped")
        }
        while true {
            let count = buffer.withUnsafeMutableBytes { read(input, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { break }
            output.write(buffer[..<count]) { problem, text in
                if reported.insert(problem).inserted { report(text) }
            }
        }
        close(input)
        output.close()
    }

    /// The log file being written, opened when first needed.
    private struct Output {
        /// What can go wrong, said once each.
        enum Problem {
            /// The file cannot be opened or written: what arrives is dropped.
            case write
            /// The file cannot be moved to ``WorkerLog/previous``: it grows past the limit.
            case cut
        }

        let log: WorkerLog
        let limit: UInt64
        var descriptor: Int32 = -1
        /// The file's size, as far as this relay knows it.
        var size: UInt64 = 0
        /// False once a cut failed.
        var canCut = true

        init(log: WorkerLog, limit: UInt64) {
            self.log = log
            self.limit = limit
        }

        /// Appends `bytes`, cutting the file first where a write would take it over the limit:
        /// after the whole lines that fit, so a file holds whole lines (a line longer than the
        /// limit gets a file of its own).
        mutating func write(_ bytes: ArraySlice<UInt8>, report: (Problem, String) -> Void) {
            var rest = bytes
            while !rest.isEmpty {
                if let problem = open() { return report(.write, "\(problem); what the worker writes is dropped") }
                var piece = rest
                let room = Int(min(limit - min(size, limit), UInt64(rest.count)))
                if rest.count > room, canCut {
                    let newline = UInt8(ascii: "\n")
                    if let end = rest.prefix(room).lastIndex(of: newline) {
                        piece = rest[...end]
                    } else if size > 0 {
                        piece = rest.prefix(0)  // no whole line fits: cut first
                    } else {
                        piece = rest[..<(rest.firstIndex(of: newline).map { $0 + 1 } ?? rest.endIndex)]
                    }
                }
                if !piece.isEmpty, let problem = append(piece) {
                    report(.write, "\(problem); what the worker writes is dropped")
                }
                rest = rest[piece.endIndex...]
                if !rest.isEmpty, let problem = cut() {
                    canCut = false
                    report(.cut, "\(problem); it grows past --worker-log-size")
                }
            }
        }

        /// Opens the file unless it is open, appending to what a worker before wrote there.
        /// Returns what went wrong, if anything.
        mutating func open() -> String? {
            guard descriptor < 0 else { return nil }
            descriptor = Glibc.open(log.file.path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
            guard descriptor >= 0 else { return "cannot open \(log.file.path): \(String(cString: strerror(errno)))" }
            var status = stat()
            size = fstat(descriptor, &status) == 0 ? UInt64(status.st_size) : 0
            return nil
        }

        /// Moves the file to ``WorkerLog/previous``; the next write starts a new one. Returns
        /// what went wrong, if anything.
        private mutating func cut() -> String? {
            guard rename(log.file.path, log.previous.path) == 0 else {
                return "cannot rename \(log.file.path) to \(log.previous.path): \(String(cString: strerror(errno)))"
            }
            close()
            return nil
        }

        /// Writes `bytes` whole to the open file. Returns what went wrong, if anything.
        private mutating func append(_ bytes: ArraySlice<UInt8>) -> String? {
            size += UInt64(bytes.count)
            do {
                try DurableFile.writeAll(bytes, to: descriptor, destination: log.file.path)
                return nil
            } catch {
                return error.description
            }
        }

        mutating func close() {
            if descriptor >= 0 { Glibc.close(descriptor) }
            descriptor = -1
            size = 0
        }
    }
}
