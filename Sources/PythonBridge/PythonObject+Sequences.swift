import CPython

extension GIL {
    /// A Python `list` of `str`, one for each of `values`: many inputs passed in one call.
    public func stringList(_ values: [String]) throws(PythonError) -> PythonObject {
        let list = try PythonObject.checked(PyList_New(values.count))
        for (index, value) in values.enumerated() {
            let item = try string(value)
            // PyList_SetItem steals a reference: give it one of its own.
            Py_IncRef(item.pointer)
            PyList_SetItem(list.pointer, index, item.pointer)
        }
        return list
    }
}

extension PythonObject {
    /// `len(self)`.
    public func count() throws(PythonError) -> Int {
        let count = PyObject_Size(pointer)
        guard count >= 0 else { throw PythonError.fetch() }
        return count
    }

    /// `self[index]`, for a sequence.
    public func item(_ index: Int) throws(PythonError) -> PythonObject {
        try PythonObject.checked(PySequence_GetItem(pointer, index))
    }

    /// The value of an `int`, or nil when this is not one that fits.
    public func intValue() -> Int? {
        let value = PyLong_AsLong(pointer)
        guard value == -1, PyErr_Occurred() != nil else { return value }
        PyErr_Clear()
        return nil
    }
}
