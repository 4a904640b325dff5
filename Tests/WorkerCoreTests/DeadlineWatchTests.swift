import Synchronization
import Testing

@testable import WorkerCore

/// The one thread that times every task: stages run in order, and a cancelled watch runs nothing
/// more.
@Suite("DeadlineWatch")
struct DeadlineWatchTests {
    @Test("a watch's stages run in time order, and a cancelled watch's never run")
    func stagesRunInOrderUnlessCancelled() async {
        let watch = DeadlineWatch()
        let ran = Mutex<[String]>([])
        let (done, finished) = AsyncStream<Void>.makeStream()
        let record: @Sendable (String) -> @Sendable () -> Void = { name in { ran.withLock { $0.append(name) } } }
        // Due before the last stage below: had the cancel not dropped it, it would run first.
        let cancelled = watch.watch([(.milliseconds(10), record("cancelled"))])
        watch.cancel(cancelled)
        _ = watch.watch([
            (.milliseconds(20), record("timeout")),
            (.milliseconds(30), record("answer")),
            (.milliseconds(40), { finished.yield() }),
        ])
        for await _ in done { break }
        #expect(ran.withLock { $0 } == ["timeout", "answer"])
    }
}
