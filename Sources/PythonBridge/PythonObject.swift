import CPython

/// An owned reference to a Python object: it holds one reference and drops it in `deinit`.
///
/// Made only while the GIL is held (from a ``GIL`` or another `PythonObject`). It is not
/// `Sendable`, so it cannot outlive the ``PythonThreads`` job that made it in a way the compiler
/// allows; to keep an object across jobs, wrap it in a ``PythonHandle``.
public final class PythonObject: CustomStringConvertible {
    let pointer: UnsafeMutablePointer<PyObject>

    /// Takes over a reference the caller owns (a "new reference" in the C API's words).
    init(owned pointer: UnsafeMutablePointer<PyObject>) {
        self.pointer = pointer
    }

    /// Adds a reference to an object the caller only borrows.
    init(borrowed pointer: UnsafeMutablePointer<PyObject>) {
        Py_IncRef(pointer)
        self.pointer = pointer
    }

    deinit {
        Py_DecRef(pointer)
    }

    /// Wraps a new reference returned by the C API, or throws the pending Python exception.
    static func checked(_ pointer: UnsafeMutablePointer<PyObject>?) throws(PythonError) -> PythonObject {
        guard let pointer else { throw PythonError.fetch() }
        return PythonObject(owned: pointer)
    }

    /// `self.name`.
    public func attribute(_ name: String) throws(PythonError) -> PythonObject {
        try PythonObject.checked(PyObject_GetAttrString(pointer, name))
    }

    /// `self(*arguments)`.
    @discardableResult
    public func call(_ arguments: PythonObject...) throws(PythonError) -> PythonObject {
        try call(arguments)
    }

    /// `self(*arguments)`, with the arguments as an array.
    @discardableResult
    public func call(_ arguments: [PythonObject]) throws(PythonError) -> PythonObject {
        let tuple = try PythonObject.checked(PyTuple_New(arguments.count))
        for (index, argument) in arguments.enumerated() {
            // PyTuple_SetItem steals a reference: give it one of its own.
            Py_IncRef(argument.pointer)
            PyTuple_SetItem(tuple.pointer, index, argument.pointer)
        }
        return try PythonObject.checked(PyObject_Call(pointer, tuple.pointer, nil))
    }

    /// Whether this is Python's `None`.
    public var isNone: Bool { pointer == cpy_none() }

    /// The text of a `str`, or nil when this is not a `str`.
    public func stringValue() throws(PythonError) -> String? {
        guard cpy_unicode_check(pointer) != 0 else { return nil }
        var size = 0
        guard let utf8 = PyUnicode_AsUTF8AndSize(pointer, &size) else { throw PythonError.fetch() }
        let buffer = UnsafeRawBufferPointer(start: utf8, count: size)
        return String(decoding: buffer, as: UTF8.self)
    }

    /// A copy of the contents of a `bytes`, or nil when this is not a `bytes`.
    public func bytesValue() throws(PythonError) -> [UInt8]? {
        guard cpy_bytes_check(pointer) != 0 else { return nil }
        var start: UnsafeMutablePointer<CChar>?
        var size = 0
        guard PyBytes_AsStringAndSize(pointer, &start, &size) == 0 else { throw PythonError.fetch() }
        return Array(UnsafeRawBufferPointer(start: start, count: size))
    }

    /// `str(self)`, falling back to a placeholder if even that raises.
    public var description: String {
        guard let text = PyObject_Str(pointer) else {
            PyErr_Clear()
            return "<unprintable object>"
        }
        let object = PythonObject(owned: text)
        return (try? object.stringValue()) ?? "<unprintable object>"
    }
}
