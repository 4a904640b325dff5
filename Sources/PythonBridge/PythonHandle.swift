import CPython

/// A Python object kept across jobs and threads, such as a loaded bundle's predict function.
///
/// Its reference can only be used through a ``GIL``, and it is dropped on the interpreter's
/// main thread when the handle goes away, so no thread touches the object without the GIL.
public final class PythonHandle: @unchecked Sendable {
    // Safe to share: `pointer` is only read through `object(_:)`, which needs the GIL, and the
    // reference is dropped by a job on a Python thread, which holds the GIL.
    private let pointer: UnsafeMutablePointer<PyObject>
    private let owner: PythonThreads

    /// Keeps a new reference to `object`, to be dropped on `owner` when the handle goes away.
    public init(_ object: PythonObject, droppedOn owner: PythonThreads) {
        Py_IncRef(object.pointer)
        self.pointer = object.pointer
        self.owner = owner
    }

    /// The object, for use while `gil` is held.
    public func object(_ gil: GIL) -> PythonObject {
        PythonObject(borrowed: pointer)
    }

    deinit {
        let address = UInt(bitPattern: pointer)
        owner.post { _ in
            Py_DecRef(UnsafeMutablePointer<PyObject>(bitPattern: address))
        }
    }
}
