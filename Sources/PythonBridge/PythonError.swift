import CPython

/// A Python exception, turned into plain Swift values while the GIL was held.
///
/// It carries no live Python object, so it can cross threads and outlive the interpreter call.
public struct PythonError: Error, Sendable, CustomStringConvertible {
    /// The exception's type, qualified by its module unless it is a builtin (`ValueError`,
    /// `launch_worker.invoke.ResultNotJSONSerializable`).
    public var typeName: String
    /// `str(exception)`.
    public var message: String
    /// The formatted traceback, as Python prints it (`Traceback (most recent call last): ...`).
    public var traceback: String

    /// Makes an error by hand, for failures found on the Swift side of a Python call.
    public init(typeName: String, message: String, traceback: String) {
        self.typeName = typeName
        self.message = message
        self.traceback = traceback
    }

    public var description: String {
        message.isEmpty ? typeName : "\(typeName): \(message)"
    }

    /// Takes the pending Python exception (clearing it) and formats it.
    ///
    /// - Important: Call only with the GIL held, right after a C API call reported failure.
    static func fetch() -> PythonError {
        var type: UnsafeMutablePointer<PyObject>?
        var value: UnsafeMutablePointer<PyObject>?
        var traceback: UnsafeMutablePointer<PyObject>?
        PyErr_Fetch(&type, &value, &traceback)
        guard type != nil else {
            return PythonError(
                typeName: "SystemError", message: "a Python call failed without setting an exception",
                traceback: "")
        }
        PyErr_NormalizeException(&type, &value, &traceback)
        let typeObject = type.map { PythonObject(owned: $0) }
        let valueObject = value.map { PythonObject(owned: $0) }
        let tracebackObject = traceback.map { PythonObject(owned: $0) }
        if let valueObject, let tracebackObject {
            PyException_SetTraceback(valueObject.pointer, tracebackObject.pointer)
        }
        let typeName = typeObject.map(qualifiedName(of:)) ?? "Exception"
        let message = valueObject?.description ?? ""
        let formatted = valueObject.flatMap(format(_:)) ?? "\(typeName): \(message)\n"
        return PythonError(typeName: typeName, message: message, traceback: formatted)
    }

    private static func qualifiedName(of type: PythonObject) -> String {
        let name = (try? type.attribute("__qualname__").stringValue()) ?? nil
        let module = (try? type.attribute("__module__").stringValue()) ?? nil
        PyErr_Clear()
        guard let name else { return "Exception" }
        guard let module, module != "builtins" else { return name }
        return "\(module).\(name)"
    }

    /// `"".join(traceback.format_exception(exception))`, or nil when formatting itself fails.
    private static func format(_ exception: PythonObject) -> String? {
        let gil = GIL()
        do {
            let formatException = try gil.importModule("traceback").attribute("format_exception")
            let lines = try formatException.call(exception)
            let joined = try PythonObject.checked(PyUnicode_Join(try gil.string("").pointer, lines.pointer))
            return try joined.stringValue()
        } catch {
            PyErr_Clear()
            return nil
        }
    }
}
