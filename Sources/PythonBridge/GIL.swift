import CPython

/// Proof that the current thread holds the GIL.
///
/// Only a ``PythonThreads`` makes one, and only for the duration of a job it runs. The type is
/// deliberately not `Sendable`: a closure that could carry it to another thread does not compile,
/// so Python objects made with it stay on the thread that holds the GIL.
///
/// - Important: Never keep a `GIL` or a ``PythonObject`` beyond the job that received it.
public struct GIL {
    init() {}

    /// Python's `None`.
    public var none: PythonObject { PythonObject(borrowed: cpy_none()) }

    /// A Python `bool`.
    public func bool(_ value: Bool) -> PythonObject {
        PythonObject(borrowed: value ? cpy_true() : cpy_false())
    }

    /// A Python `str` holding `value`.
    public func string(_ value: String) throws(PythonError) -> PythonObject {
        var value = value
        let made = value.withUTF8 { buffer in
            PyUnicode_FromStringAndSize(
                UnsafeRawPointer(buffer.baseAddress)?.assumingMemoryBound(to: CChar.self), buffer.count)
        }
        return try PythonObject.checked(made)
    }

    /// A Python `bytes` holding a copy of `value`.
    public func bytes(_ value: [UInt8]) throws(PythonError) -> PythonObject {
        let made = value.withUnsafeBytes { buffer in
            PyBytes_FromStringAndSize(buffer.baseAddress?.assumingMemoryBound(to: CChar.self), buffer.count)
        }
        return try PythonObject.checked(made)
    }

    /// `value` as a Python `str`, or `None` when `value` is nil.
    public func optionalString(_ value: String?) throws(PythonError) -> PythonObject {
        guard let value else { return none }
        return try string(value)
    }

    /// `value` as a Python `bytes`, or `None` when `value` is nil.
    public func optionalBytes(_ value: [UInt8]?) throws(PythonError) -> PythonObject {
        guard let value else { return none }
        return try bytes(value)
    }

    /// Imports a module by its dotted name, like `import name`.
    public func importModule(_ name: String) throws(PythonError) -> PythonObject {
        try PythonObject.checked(PyImport_ImportModule(name))
    }
}

@available(*, unavailable, message: "the GIL belongs to one thread; it cannot be sent to another")
extension GIL: Sendable {}
