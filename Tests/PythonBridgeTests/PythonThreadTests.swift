import Dispatch
import PythonBridge
import Synchronization
import TestSupport
import Testing

@Suite("Python threads and objects")
struct PythonThreadTests {
    @Test("a job runs Python with the GIL held and returns Swift values")
    func runsPython() async throws {
        let interpreter = try await SharedInterpreter.get()
        let thread = try await interpreter.makeThreads(name: "test-values")
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
        let thread = try await interpreter.makeThreads(name: "test-local")
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

    @Test("a task that prefers a thread runs its Swift code there, and its jobs on it at once")
    func threadIsATaskExecutor() async throws {
        let interpreter = try await SharedInterpreter.get()
        let thread = try await interpreter.makeThreads(name: "test-executor")
        defer { thread.stop() }
        let ident: @Sendable (GIL) throws -> String = { gil in
            try gil.importModule("threading").attribute("get_ident").call().description
        }
        let fromOutside = try await thread.run(ident)
        #expect(!thread.isCurrent)
        let (onThread, fromInside, mainIsCurrent) = try await withTaskExecutorPreference(thread) {
            (thread.isCurrent, try await thread.run(ident), interpreter.mainThread.isCurrent)
        }
        #expect(onThread)
        #expect(fromInside == fromOutside)
        #expect(!mainIsCurrent)
    }

    @Test("a thread busy with a job tells whether other work waits for it")
    func queuedWork() async throws {
        let interpreter = try await SharedInterpreter.get()
        let thread = try await interpreter.makeThreads(name: "test-queued")
        defer { thread.stop() }
        let gate = DispatchSemaphore(value: 0)
        let started = Atomic(false)
        let busy = Task {
            try await thread.run { _ in
                started.store(true, ordering: .relaxed)
                gate.wait()
            }
        }
        while !started.load(ordering: .relaxed) { await Task.yield() }
        #expect(!thread.hasQueuedWork)
        let waiting = Task { try await thread.run { _ in thread.hasQueuedWork } }
        while !thread.hasQueuedWork { await Task.yield() }
        gate.signal()
        try await busy.value
        // The second job no longer waits once it runs.
        #expect(try await waiting.value == false)
    }

    @Test("the OS thread carries the thread's name, cut to Linux's 15 bytes")
    func osThreadName() async throws {
        let interpreter = try await SharedInterpreter.get()
        let thread = try await interpreter.makeThreads(name: "python-slot-name-test")
        defer { thread.stop() }
        let nativeID = try await thread.run { gil in
            try gil.importModule("threading").attribute("get_native_id").call().description
        }
        let comm = try String(contentsOfFile: "/proc/self/task/\(nativeID)/comm", encoding: .utf8)
        #expect(comm == "python-slot-nam\n")
    }

    @Test("a task that prefers a stopped thread still runs, elsewhere")
    func stoppedExecutorForwards() async throws {
        let interpreter = try await SharedInterpreter.get()
        let thread = try await interpreter.makeThreads(name: "test-stopped")
        thread.stop()
        let ranOnThread = await Task(executorPreference: thread) { thread.isCurrent }.value
        #expect(!ranOnThread)
    }

    @Test("a job cancelled before it starts is skipped with CancellationError")
    func cancelledJobIsSkipped() async throws {
        let interpreter = try await SharedInterpreter.get()
        let thread = try await interpreter.makeThreads(name: "test-cancel")
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

    @Test("a running job whose caller is cancelled returns at once; the thread then serves the next job")
    func cancelledRunningJob() async throws {
        let interpreter = try await SharedInterpreter.get()
        let thread = try await interpreter.makeThreads(name: "test-abandon")
        defer { thread.stop() }
        let gate = DispatchSemaphore(value: 0)
        let (entered, enteredSignal) = AsyncStream<Void>.makeStream()
        let running = Task {
            try await thread.run { _ in
                enteredSignal.yield()
                gate.wait()
                return "dropped"
            }
        }
        for await _ in entered { break }
        running.cancel()
        await #expect(throws: CancellationError.self) { try await running.value }
        gate.signal()
        #expect(try await thread.run { _ in "next" } == "next")
    }

    @Test("an exception raised into a running job stops pure Python code, and only that job")
    func interruptRunningJob() async throws {
        let interpreter = try await SharedInterpreter.get()
        let thread = try await interpreter.makeThreads(name: "test-interrupt")
        defer { thread.stop() }
        let timeoutError = try await interpreter.mainThread.run { gil in
            PythonHandle(try gil.importModule("builtins").attribute("TimeoutError"), droppedOn: interpreter.mainThread)
        }
        let (entered, enteredSignal) = AsyncStream<PythonJob?>.makeStream()
        let spinning = Task {
            try await thread.run { gil in
                enteredSignal.yield(thread.currentJob)
                let builtins = try gil.importModule("builtins")
                let globals = try builtins.attribute("dict").call()
                _ = try builtins.attribute("exec").call(try gil.string("while True: pass"), globals)
            }
        }
        var job: PythonJob?
        for await running in entered {
            job = running
            break
        }
        let spinningJob = try #require(job)
        // The job may not have reached the loop yet: raise until it ends.
        while !spinning.isCancelled {
            interpreter.interrupt(spinningJob, raising: timeoutError)
            if try await Self.finished(spinning) { break }
        }
        let error = await #expect(throws: PythonError.self) { try await spinning.value }
        #expect(error?.typeName == "TimeoutError", "\(error?.traceback ?? "")")
        #expect(try await thread.run { _ in "clean" } == "clean")
    }

    /// Whether `task` ends within a moment (used only to stop re-raising, never as a timing check).
    private static func finished(_ task: Task<Void, any Error>) async throws -> Bool {
        try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask {
                _ = try? await task.value
                return true
            }
            group.addTask {
                try await Task.sleep(for: .milliseconds(50))
                return false
            }
            defer { group.cancelAll() }
            return try await group.next() ?? false
        }
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
