import Testing

@testable import HTTPEndpoint

/// The predicts answered on the event loop, which the server cancels when it is cancelled.
@Suite("InFlightPredicts")
struct InFlightPredictsTests {
    @Test("cancelAll cancels the tasks running, and each started after it at once")
    func cancelAllReachesEveryTask() async {
        let inFlight = InFlightPredicts()
        let (started, starts) = AsyncStream.makeStream(of: Void.self)
        let (ended, ends) = AsyncStream.makeStream(of: Bool.self)
        for _ in 0..<3 {
            inFlight.start(on: nil) {
                starts.yield()
                // Waits until cancelled (a minute is a deadline never meant to pass).
                try? await Task.sleep(for: .seconds(60))
                ends.yield(Task.isCancelled)
            }
        }
        var waiting = started.makeAsyncIterator()
        for _ in 0..<3 { await waiting.next() }
        inFlight.cancelAll()
        inFlight.start(on: nil) { ends.yield(Task.isCancelled) }
        var outcomes = ended.makeAsyncIterator()
        var cancelled = 0
        for _ in 0..<4 where await outcomes.next() == true { cancelled += 1 }
        #expect(cancelled == 4)
    }
}
