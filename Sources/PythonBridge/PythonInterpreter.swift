import CPython
import Foundation
import Synchronization

/// The process's one embedded CPython interpreter.
///
/// ``start(environment:)`` initialises Python on a dedicated thread, which stays Python's main
/// thread (where `signal.signal` works); bundles are loaded there. Request work runs on further
/// threads from ``makeThreads(name:count:)``. Python's own signal handlers are not installed: the worker
/// owns SIGINT and SIGTERM.
///
/// - Important: CPython cannot be initialised twice in one process, so there is at most one
///   interpreter; it is never finalised (finalising after worker threads ran is fragile), the
///   process exits instead.
public final class PythonInterpreter: Sendable {
    /// The environment it runs in.
    public let environment: PythonEnvironment
    /// Python's main thread.
    public let mainThread: PythonThreads

    private static let started = Mutex<PythonEnvironment?>(nil)

    private init(environment: PythonEnvironment, mainThread: PythonThreads) {
        self.environment = environment
        self.mainThread = mainThread
    }

    /// Initialises Python in `environment` on a new thread and releases the GIL.
    ///
    /// - Throws: ``PythonBridgeError`` when Python fails to initialise, or was already started
    ///   in this process.
    public static func start(environment: PythonEnvironment) async throws(PythonBridgeError) -> PythonInterpreter {
        let previous = started.withLock { started in
            defer { started = started ?? environment }
            return started
        }
        if let previous {
            throw PythonBridgeError(
                .alreadyStarted, "Python was already started in this process (in \(previous.root.path))")
        }
        let mainThread = try await PythonThreads.start(
            name: "python-main", count: 1, takeover: .zero, busyTakeover: .zero
        ) {
            () throws(PythonBridgeError) in
            try initialize(environment)
            return PyEval_SaveThread()
        }
        return PythonInterpreter(environment: environment, mainThread: mainThread)
    }

    /// Starts `count` more threads sharing one queue, each with its own Python thread state, for
    /// request work (see ``PythonThreads`` for which of them runs what; `takeover` and
    /// `busyTakeover` are how long a piece runs, its thread off and on the CPU, before queued work
    /// may go to another thread; a busy takeover shorter than `takeover` counts as `takeover`;
    /// `stepsBack`: whether a thread that finished a piece while two others run short ones leaves
    /// the queue to them).
    public func makeThreads(
        name: String, count: Int = 1, takeover: Duration = .microseconds(250),
        busyTakeover: Duration = .milliseconds(2), stepsBack: Bool = true
    ) async throws(PythonBridgeError) -> PythonThreads {
        try await PythonThreads.start(
            name: name, count: count, takeover: takeover, busyTakeover: busyTakeover, stepsBack: stepsBack
        ) {
            () throws(PythonBridgeError) in
            _ = PyGILState_Ensure()
            return PyEval_SaveThread()
        }
    }

    /// Raises `exceptionType` inside `job` if it still runs (see
    /// ``PythonThreads/raise(_:in:_:)``), from the main thread, without waiting: a job stuck in C
    /// code holding the GIL would make a waiting caller stuck too.
    public func interrupt(_ job: PythonJob, raising exceptionType: PythonHandle) {
        mainThread.post { gil in
            _ = job.threads.raise(exceptionType.object(gil), in: job, gil)
        }
    }

    private static func initialize(_ environment: PythonEnvironment) throws(PythonBridgeError) {
        var config = PyConfig()
        PyConfig_InitPythonConfig(&config)
        defer { PyConfig_Clear(&config) }
        config.install_signal_handlers = 0
        config.parse_argv = 0
        // A bundle that crashes in C (SIGSEGV, SIGABRT, SIGBUS, SIGILL, SIGFPE) leaves every
        // Python thread's stack on stderr (faulthandler, all threads); the handler then passes
        // the signal on to the Swift runtime's backtracer.
        config.faulthandler = 1
        // Unbuffered, as `python -u`: the interpreter is never finalised, so a print still in a
        // buffer at exit, or when a bundle ends the process, would be lost.
        config.buffered_stdio = 0
        // Set explicitly: otherwise sys.executable comes from PATH, and multiprocessing's spawn
        // and the venv's site-packages both go wrong.
        var status = cpy_config_set_executable(&config, environment.executable.path)
        if PyStatus_Exception(status) == 0 { status = cpy_config_set_program_name(&config, "launch-worker") }
        if PyStatus_Exception(status) == 0 { status = Py_InitializeFromConfig(&config) }
        if PyStatus_Exception(status) != 0 {
            let reason = status.err_msg.map { String(cString: $0) } ?? "unknown error"
            throw PythonBridgeError(
                .initializationFailed, "Python failed to start in \(environment.root.path): \(reason)")
        }
    }
}
