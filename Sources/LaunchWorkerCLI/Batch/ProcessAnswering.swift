import BatchJobs
import Foundation
import Synchronization
import WorkerCore

#if canImport(Glibc)
    import Glibc
#endif

/// Answers a batch's chunks in worker processes (`batch --processes P`), each with its own
/// interpreter and `--per-worker` slots: this process reads the input and writes the output
/// folder and journal, as it does alone, so resuming works the same way.
///
/// Each process gets a chunk more than it has slots, so that it finds its next chunk waiting
/// when it finishes one; a chunk goes to the process holding the fewest, the next in turn among
/// equals.
final class ProcessAnswering: BatchAnswering {
    private let processes: [BatchWorkerProcess]
    private let perProcess: Int
    private let turn = Atomic(0)

    private init(processes: [BatchWorkerProcess], perProcess: Int) {
        self.processes = processes
        self.perProcess = perProcess
    }

    /// Starts `count` worker processes with the batch's `arguments` (program name first) and
    /// waits until each has loaded the bundle.
    ///
    /// - Throws: ``CLIError`` when one cannot start or load the bundle (its error is above).
    static func start(count: Int, perWorker: Int, arguments: [String]) async throws(CLIError) -> ProcessAnswering {
        // A worker that died must not take this process with it when a chunk is written to it.
        signal(SIGPIPE, SIG_IGN)
        var processes: [BatchWorkerProcess] = []
        for index in 0..<count {
            processes.append(try BatchWorkerProcess.start(index: index, arguments: arguments))
        }
        for process in processes where !(await process.waitUntilReady()) {
            throw CLIError(
                message: "batch worker process \(process.index) (pid \(process.pid)) did not load the bundle: "
                    + "its error is above")
        }
        return ProcessAnswering(processes: processes, perProcess: perWorker + 1)
    }

    var lanes: [(any TaskExecutor)?] { Array(repeating: nil, count: processes.count * perProcess) }

    func answer(_ requests: [BatchRequest]) async throws(BatchStop) -> [TaskResponse] {
        let first = turn.add(1, ordering: .relaxed).newValue
        let inTurn = processes.indices.map { processes[(first + $0) % processes.count] }
        let process = inTurn.min { $0.inFlight < $1.inFlight } ?? processes[0]
        return try await process.answer(requests).get()
    }
}
