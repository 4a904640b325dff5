import PythonBridge

/// A ``Slot`` that runs the loaded bundle on a dedicated Python thread of this process.
///
/// Slots whose predict releases the GIL (sleep, I/O, numpy, torch) overlap for real, since each
/// has a thread of its own. A timeout interrupts the predict by raising the runtime's
/// `TaskTimedOut` in the thread, from the interpreter's main thread.
public final class PythonSlot: ArgsChunkPredicting {
    /// The slot's thread.
    public let thread: PythonThread
    private let bundle: LoadedBundle
    private let interpreter: PythonInterpreter

    /// A slot that runs `bundle` on `thread`.
    public init(thread: PythonThread, bundle: LoadedBundle, interpreter: PythonInterpreter) {
        self.thread = thread
        self.bundle = bundle
        self.interpreter = interpreter
    }

    /// `count` slots for `bundle`, each on a new Python thread (`python-slot-0`, ...).
    public static func make(
        count: Int, bundle: LoadedBundle, interpreter: PythonInterpreter
    ) async throws(PythonBridgeError) -> [PythonSlot] {
        var slots: [PythonSlot] = []
        for index in 0..<count {
            let thread = try await interpreter.makeThread(name: "python-slot-\(index)")
            slots.append(PythonSlot(thread: thread, bundle: bundle, interpreter: interpreter))
        }
        return slots
    }

    public var name: String { thread.name }

    public var executor: any TaskExecutor { thread }

    public var isCurrent: Bool { thread.isCurrent }

    public var hasQueuedWork: Bool { thread.hasQueuedWork }

    public func predict(_ input: PredictInput, pickled: Bool) async throws -> PredictOutput {
        do {
            return try await bundle.call(input, pickled: pickled, on: thread)
        } catch let error as PythonError {
            throw PredictFailure(traceback: error.traceback)
        }
    }

    public func predictArgs(_ argsJSON: [String]) async throws -> [ArgsOutcome] {
        do {
            return try await bundle.callArgs(argsJSON, on: thread)
        } catch let error as PythonError {
            throw PredictFailure(traceback: error.traceback)
        }
    }

    public func interrupt() {
        interpreter.interrupt(thread, raising: bundle.timeoutException)
    }
}
