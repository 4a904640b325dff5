import Dispatch
import PythonBridge
import TestSupport
import Testing

@Suite("Python threads and objects")
struct PythonThreadTests {
    @Test("a job runs Python with the GIL held and returns Swift values")
    func runsPython() async throws {
        let interpreter = try await SharedInterpreter.get()
        let thread = try await interpreter.makeThread(name: "test-values")
        defer { thread.stop() }
        let (text, bytes) = try await thread.run { gil in
            let json = try gil.importModule("json")
            let dumped = try json.attribute("dumps").call(try gil.importModule("builtins").attribute("list").call())
            let encoded = try gil.string("héllo").attribute("encode").call()
            return (try dumped.stringValue(), try encoded.bytesValue())
        }
        #expect(text == "[]")
        #expect(bytes == Array("héllo".utf8))
    }

    @Test("a Python exception becomes a PythonError with type, message and traceback")
    func exceptionsBecomeErrors() async throws {
        let interpreter = try await SharedInterpreter.get()
        let error = await #expect(throws: PythonError.self) {
            try await interpreter.mainThread.run { gil in
                _ = try gil.importModule("json").attribute("loads").call(try gil.string("{not json"))
            }
        }
        #expect(error?.typeName == "json.decoder.JSONDecodeError")
        #expect(error?.message.contains("Expecting property name") == true)
        #expect(error?.traceback.hasPrefix("Traceback (most recent call last):") == true)
        #expect(error?.traceback.contains("JSONDecodeError") == true)
    }

    @Test("importing a missing module is a ModuleNotFoundError")
    func missingModule() async throws {
        let interpreter = try await SharedInterpreter.get()
        let error = await #expect(throws: PythonError.self) {
            try await interpreter.mainThread.run { gil in _ = try gil.importModule("no_such_module_here") }
        }
        #expect(error?.typeName == "ModuleNotFoundError")
    }

    @Test("a thread keeps one thread state, so threading.local survives between jobs")
    func threadLocalSurvives() async throws {
        let interpreter = try await SharedInterpreter.get()
        let thread = try await interpreter.makeThread(name: "test-local")
        defer { thread.stop() }
        let module = "launch_worker_test_local"
        try await thread.run { gil in
            let types = try gil.importModule("types")
            let made = try types.attribute("ModuleType").call(try gil.string(module))
            let local = try gil.importModule("threading").attribute("local").call()
            try gil.importModule("builtins").attribute("setattr").call(made, try gil.string("local"), local)
            try gil.importModule("builtins").attribute("setattr").call(
                local, try gil.string("value"), try gil.string("kept"))
            let modules = try gil.importModule("sys").attribute("modules")
            try modules.attribute("__setitem__").call(try gil.string(module), made)
        }
        let value = try await thread.run { gil in
            try gil.importModule(module).attribute("local").attribute("value").stringValue()
        }
        #expect(value == "kept")
    }

    @Test("a job cancelled before it starts is skipped with CancellationError")
    func cancelledJobIsSkipped() async throws {
        let interpreter = try await SharedInterpreter.get()
        let thread = try await interpreter.makeThread(name: "test-cancel")
        defer { thread.stop() }
        let gate = DispatchSemaphore(value: 0)
        let (entered, enteredSignal) = AsyncStream<Void>.makeStream()
        let blocker = Task {
            try await thread.run { _ in
                enteredSignal.yield()
                gate.wait()
            }
        }
        for await _ in entered { break }
        let skipped = Task { try await thread.run { _ in "ran" } }
        skipped.cancel()
        gate.signal()
        try await blocker.value
        await #expect(throws: CancellationError.self) { try await skipped.value }
    }

    @Test("Python starts only once per process")
    func startsOnce() async throws {
        let interpreter = try await SharedInterpreter.get()
        let error = await #expect(throws: PythonBridgeError.self) {
            _ = try await PythonInterpreter.start(environment: interpreter.environment)
        }
        #expect(error?.code == .alreadyStarted)
    }

    @Test("the interpreter runs in the checkout's venv")
    func runsInVenv() async throws {
        let interpreter = try await SharedInterpreter.get()
        let (prefix, executable) = try await interpreter.mainThread.run { gil in
            let sys = try gil.importModule("sys")
            return (try sys.attribute("prefix").stringValue(), try sys.attribute("executable").stringValue())
        }
        #expect(prefix == Checkout.venv.path)
        #expect(executable == Checkout.python.path)
    }
}
