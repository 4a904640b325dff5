/// A failure to start or reach the embedded interpreter (not an exception raised by Python code).
public struct PythonBridgeError: Error, Sendable, CustomStringConvertible {
    /// What went wrong.
    public enum Code: Sendable, Equatable {
        /// No Python environment was found where the worker looks for one.
        case environmentNotFound
        /// The environment was made by a Python other than the one the worker links.
        case environmentMismatch
        /// `Py_InitializeFromConfig` failed.
        case initializationFailed
        /// The interpreter was already started in this process with another environment.
        case alreadyStarted
    }

    /// What went wrong.
    public var code: Code
    /// The whole story, with what to do about it.
    public var message: String

    /// Makes an error with a message that says what to do.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
