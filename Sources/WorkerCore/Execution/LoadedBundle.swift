import Foundation
import LaunchBundle
import PythonBridge

/// A bundle loaded into the interpreter: its predict callable, ready to be called from any
/// ``PythonThreads``.
///
/// Loading follows the bundle contract (section 2) in the runtime's `launch_worker.loader`;
/// each call goes through `launch_worker.invoke.run_request`, which decodes `args`, calls
/// predict and encodes the output, all in one Python call.
public final class LoadedBundle: Sendable {
    /// The bundle on disk.
    public let bundle: BundleDirectory
    /// How long loading took (unpickling plus the bundle's own load functions).
    public let loadDuration: Duration
    /// `launch_worker.invoke.TaskTimedOut`, raised inside a predict that ran past its timeout.
    public let timeoutException: PythonHandle
    private let predict: PythonHandle
    private let runRequest: PythonHandle
    private let runArgsChunk: PythonHandle

    private init(
        bundle: BundleDirectory, loadDuration: Duration, predict: PythonHandle, runRequest: PythonHandle,
        runArgsChunk: PythonHandle, timeoutException: PythonHandle
    ) {
        self.bundle = bundle
        self.loadDuration = loadDuration
        self.predict = predict
        self.runRequest = runRequest
        self.runArgsChunk = runArgsChunk
        self.timeoutException = timeoutException
    }

    /// Loads `bundle` on the interpreter's main thread.
    ///
    /// - Parameter codeFolder: an empty folder to unpack a `zip` bundle's code into; it stays on
    ///   `sys.path` while the bundle runs. Unused for `cloudpickle` bundles.
    /// - Throws: ``BundleLoadError`` with the Python traceback when unpickling, importing or a
    ///   load function fails.
    public static func load(
        _ bundle: BundleDirectory, codeFolder: URL?, interpreter: PythonInterpreter
    ) async throws(BundleLoadError) -> LoadedBundle {
        let clock = ContinuousClock()
        let start = clock.now
        let thread = interpreter.mainThread
        let metadata = bundle.metadata
        let artifact = bundle.artifact.path
        do {
            let (predict, runRequest, runArgsChunk, timeoutException) = try await thread.run { gil in
                let loader = try gil.importModule("launch_worker.loader").attribute("load_bundle")
                let predict = try loader.call(
                    gil.string(metadata.packagingType.rawValue),
                    gil.string(artifact),
                    gil.optionalString(metadata.appConfigJSON),
                    gil.optionalString(metadata.loadPredictFnModulePath),
                    gil.optionalString(metadata.loadModelFnModulePath),
                    gil.optionalString(codeFolder?.path))
                let invoke = try gil.importModule("launch_worker.invoke")
                return (
                    PythonHandle(predict, droppedOn: thread),
                    PythonHandle(try invoke.attribute("run_request"), droppedOn: thread),
                    PythonHandle(try invoke.attribute("run_args_chunk"), droppedOn: thread),
                    PythonHandle(try invoke.attribute("TaskTimedOut"), droppedOn: thread)
                )
            }
            return LoadedBundle(
                bundle: bundle, loadDuration: clock.now - start, predict: predict, runRequest: runRequest,
                runArgsChunk: runArgsChunk, timeoutException: timeoutException)
        } catch let error as PythonError {
            throw BundleLoadError(bundle: bundle.folder.path, python: error)
        } catch {
            throw BundleLoadError(
                bundle: bundle.folder.path,
                python: PythonError(typeName: "CancellationError", message: "loading was cancelled", traceback: ""))
        }
    }

    /// Calls predict on one of `threads` with the GIL held for the call only; `started` learns
    /// which job runs it (to interrupt it), on the thread, as the call starts.
    ///
    /// - Throws: ``PythonError`` when predict raises or its output cannot be encoded;
    ///   `CancellationError` when the caller was cancelled before the call started.
    public func call(
        _ input: PredictInput, pickled: Bool, on threads: PythonThreads,
        started: @escaping @Sendable (PythonJob?) -> Void = { _ in }
    ) async throws -> PredictOutput {
        let predict = self.predict
        let runRequest = self.runRequest
        return try await threads.run { gil in
            started(threads.currentJob)
            let output = try runRequest.object(gil).call(
                predict.object(gil),
                input.argsJSON.map { try gil.string($0) } ?? gil.none,
                gil.optionalBytes(input.data),
                gil.optionalBytes(input.pickledCall),
                gil.bool(pickled))
            if let pickle = try output.bytesValue() { return .pickled(pickle) }
            if let text = try output.stringValue() { return .json(text) }
            throw PythonError(
                typeName: "TypeError", message: "run_request returned \(output)",
                traceback: "run_request returned neither str nor bytes")
        }
    }

    /// Calls predict with each of `argsJSON` (JSON objects: keyword arguments) on one of `threads`, with
    /// the GIL held once for them all (`launch_worker.invoke.run_args_chunk`), and encodes each
    /// output as JSON text, the same text ``call(_:pickled:on:started:)`` gives for each.
    ///
    /// - Throws: ``PythonError`` when the call itself fails (not a predict: each predict's
    ///   failure is its own ``ArgsOutcome``); `CancellationError` as ``call(_:pickled:on:started:)``.
    public func callArgs(_ argsJSON: [String], on threads: PythonThreads) async throws -> [ArgsOutcome] {
        let predict = self.predict
        let runArgsChunk = self.runArgsChunk
        return try await threads.run { gil in
            let answer = try runArgsChunk.object(gil).call(predict.object(gil), gil.stringList(argsJSON))
            let texts = try answer.item(0)
            let failedList = try answer.item(1)
            var failed = Set<Int>()
            for position in 0..<(try failedList.count()) {
                if let index = try failedList.item(position).intValue() { failed.insert(index) }
            }
            return try (0..<texts.count()).map { index throws(PythonError) in
                let text = try texts.item(index).stringValue() ?? ""
                return failed.contains(index) ? .failure(traceback: text) : .json(text)
            }
        }
    }
}

/// What one input of ``LoadedBundle/callArgs(_:on:)`` came to.
public enum ArgsOutcome: Sendable, Equatable {
    /// predict's output, as `json.dumps` writes it.
    case json(String)
    /// predict raised, or its output cannot be encoded: the formatted traceback.
    case failure(traceback: String)
}

/// What predict is called with, once any file the request names has been read.
public enum PredictInput: Sendable {
    /// Keyword arguments, as the JSON text of an object.
    case args(json: String)
    /// One positional `bytes` argument: the contents of the request's `url`.
    case data([UInt8])
    /// A cloudpickled `{"args": [...], "kwargs": {...}}`.
    case pickledCall([UInt8])

    var argsJSON: String? {
        if case .args(let json) = self { return json }
        return nil
    }

    var data: [UInt8]? {
        if case .data(let bytes) = self { return bytes }
        return nil
    }

    var pickledCall: [UInt8]? {
        if case .pickledCall(let bytes) = self { return bytes }
        return nil
    }
}

/// predict's output, encoded.
public enum PredictOutput: Sendable, Equatable {
    /// `json.dumps(output)`.
    case json(String)
    /// `cloudpickle.dumps(output)`.
    case pickled([UInt8])
}

/// A bundle whose loading failed in Python; the worker never becomes ready.
public struct BundleLoadError: Error, Sendable, CustomStringConvertible {
    /// The bundle folder.
    public var bundle: String
    /// The Python exception, with its traceback.
    public var python: PythonError

    public var description: String {
        "cannot load bundle \(bundle): \(python)\n\(python.traceback)"
    }
}
