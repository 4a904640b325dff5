import PythonBridge
import Synchronization

/// A ``Slot`` that runs the loaded bundle on the Python threads of this process.
///
/// A worker's slots share one ``PythonThreads``, as many threads as slots: short GIL-bound calls
/// run back to back on one hot thread, and calls that release the GIL (sleep, I/O, numpy, torch)
/// overlap on as many threads as there are slots. A timeout interrupts the slot's own predict
/// by raising the runtime's `TaskTimedOut` in the job that runs it, from the interpreter's main
/// thread.
public final class PythonSlot: ArgsChunkPredicting {
    public let name: String
    /// The threads the slot's predicts run on, shared with the worker's other slots.
    public let threads: PythonThreads
    private let bundle: LoadedBundle
    private let interpreter: PythonInterpreter
    /// The job running this slot's predict, while one runs.
    private let runningJob = Mutex<PythonJob?>(nil)

    /// A slot named `name` that runs `bundle` on `threads`.
    public init(name: String, threads: PythonThreads, bundle: LoadedBundle, interpreter: PythonInterpreter) {
        self.name = name
        self.threads = threads
        self.bundle = bundle
        self.interpreter = interpreter
    }

    /// What a worker's slots wait on besides the bundle's calls, which sets how soon queued work
    /// goes to another thread behind a piece that stays on the CPU (``PythonThreads``).
    public enum Waits: Sendable {
        /// Only the bundle's calls: such a piece most likely holds the GIL (or waits for a CPU),
        /// so queued work waits for the busy takeover time (2 ms) before another thread takes it.
        case calls
        /// Round trips to a broker between calls (Redis), which overlap across threads: the
        /// takeover time (250 µs) whether the piece is on the CPU or not, and a thread that
        /// finished a piece takes the next even while others run theirs.
        case brokerRoundTrips
    }

    /// `count` slots for `bundle`, sharing `count` new Python threads (`python-slot-0`, ...).
    public static func make(
        count: Int, bundle: LoadedBundle, interpreter: PythonInterpreter, waits: Waits = .calls
    ) async throws(PythonBridgeError) -> [PythonSlot] {
        // For round trips, a piece on the CPU is taken over as soon as one off it (a busy
        // takeover is never shorter than the takeover), and threads do not step back: a Redis
        // worker's round trips overlap across threads only while the threads stay awake
        // (per_worker 20 fell from about 20,000 to 8,000 tasks/s when they stepped back).
        let threads =
            waits == .calls
            ? try await interpreter.makeThreads(name: "python-slot", count: count)
            : try await interpreter.makeThreads(
                name: "python-slot", count: count, busyTakeover: .zero, stepsBack: false)
        return (0..<count).map {
            PythonSlot(name: "python-slot-\($0)", threads: threads, bundle: bundle, interpreter: interpreter)
        }
    }

    public var executor: any TaskExecutor { threads }

    public var isCurrent: Bool { threads.isCurrent }

    public var hasQueuedWork: Bool { threads.hasQueuedWork }

    public func predict(_ input: PredictInput, pickled: Bool) async throws -> PredictOutput {
        defer { runningJob.withLock { $0 = nil } }
        do {
            return try await bundle.call(input, pickled: pickled, on: threads) { job in
                self.runningJob.withLock { $0 = job }
            }
        } catch let error as PythonError {
            throw PredictFailure(traceback: error.traceback)
        }
    }

    public func predictArgs(_ argsJSON: [String]) async throws -> [ArgsOutcome] {
        do {
            return try await bundle.callArgs(argsJSON, on: threads)
        } catch let error as PythonError {
            throw PredictFailure(traceback: error.traceback)
        }
    }

    public func interrupt() {
        guard let job = runningJob.withLock({ $0 }) else { return }
        interpreter.interrupt(job, raising: bundle.timeoutException)
    }
}
