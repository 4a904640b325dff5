/// One of the worker's `per_worker` places to run a request: what the serving loop, the task
/// runner and the HTTP endpoint need of it, whatever runs predict behind it.
///
/// The one implementation today is ``PythonSlot``: the loaded bundle on this process's Python
/// threads, which a worker's slots share. The serving code names only this protocol, so another way of running
/// requests (another scheduling of threads, a process of its own) plugs in here.
public protocol Slot: AnyObject, Sendable {
    /// The slot's name in logs (`python-slot-0`).
    var name: String { get }

    /// The executor a task using this slot should prefer: its calls to ``predict(_:pickled:)``
    /// then run without a hand-off between threads, and whatever else the task blocks on (an
    /// answer's durable writes) blocks the slot's thread, never Swift's cooperative pool.
    var executor: any TaskExecutor { get }

    /// Whether the caller runs on the slot's own executor.
    var isCurrent: Bool { get }

    /// Whether work waits for the slot's executor while it runs something else (a request
    /// waiting for the only slot waits there).
    var hasQueuedWork: Bool { get }

    /// Calls the bundle's predict with `input` and encodes its output (JSON text, or a pickle
    /// when `pickled`).
    ///
    /// - Throws: ``PredictFailure`` when predict raises (the timeout's interruption included) or
    ///   its output cannot be encoded; `CancellationError` when the caller was cancelled before
    ///   the call started.
    func predict(_ input: PredictInput, pickled: Bool) async throws -> PredictOutput

    /// Interrupts the predict running on this slot, if any, without waiting for it: the call
    /// then ends with a ``PredictFailure`` as soon as the bundle's code can be interrupted.
    func interrupt()
}

/// A predict that raised, or whose output could not be encoded: the task's `FAILURE`.
public struct PredictFailure: Error, Sendable {
    /// What the user reads: the Python traceback, or why the output could not be encoded.
    public var traceback: String

    /// A failure with `traceback`.
    public init(traceback: String) {
        self.traceback = traceback
    }
}
