/// A slot that runs many `args` inputs in one call, taking the GIL once for them all rather
/// than once each: what `launch-worker batch` uses for its JSON-result `args` inputs, where the
/// per-input cost of a trivial predict is mostly the way in and out of Python.
public protocol ArgsChunkPredicting: Slot {
    /// predict's answer to each of `argsJSON` (JSON objects: keyword arguments), in order, each
    /// the same as ``Slot/predict(_:pickled:)`` with `.args(json:)` and no pickling would give.
    ///
    /// - Throws: ``PredictFailure`` when the call as a whole fails; `CancellationError` when the
    ///   caller was cancelled before it started.
    func predictArgs(_ argsJSON: [String]) async throws -> [ArgsOutcome]
}
