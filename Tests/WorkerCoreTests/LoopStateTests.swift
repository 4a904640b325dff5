import Testing

@testable import WorkerCore

@Suite("The serving loop's state")
struct LoopStateTests {
    @Test("after a storage failure claiming pauses 0.5 s, doubling with each failure to 30 s")
    func storagePauseDoubles() {
        let state = LoopState()
        let pauses = (0..<9).map { _ in state.storageFailed() }
        let expected: [Duration] = [
            .milliseconds(500), .seconds(1), .seconds(2), .seconds(4), .seconds(8), .seconds(16), .seconds(30),
            .seconds(30), .seconds(30),
        ]
        #expect(pauses == expected)
        #expect(!state.storageHealthy)
    }

    @Test("a stored answer ends the backoff: the next failure pauses 0.5 s again")
    func storedAnswerResets() {
        let state = LoopState()
        _ = state.storageFailed()
        _ = state.storageFailed()
        state.storageSucceeded()
        #expect(state.storageHealthy)
        #expect(state.storageFailed() == .milliseconds(500))
    }

    @Test("each storage failure pauses the next claim once")
    func pauseTakenOnce() {
        let state = LoopState()
        #expect(state.claimPause() == nil)
        let pause = state.storageFailed()
        #expect(state.claimPause() == pause)
        #expect(state.claimPause() == nil)
        #expect(state.storageFailed() == pause * 2)
        #expect(state.claimPause() == pause * 2)
    }

    @Test("an unusable queue is news once per reason, and its end once")
    func queueAvailability() {
        let state = LoopState()
        #expect(!state.queueAvailable())
        #expect(state.queueUnavailable("the spool folder is gone"))
        #expect(!state.queueUnavailable("the spool folder is gone"))
        #expect(state.queueUnavailable("cannot read incoming/"))
        #expect(state.queueAvailable())
        #expect(!state.queueAvailable())
    }
}
