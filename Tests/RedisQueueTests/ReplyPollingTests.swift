import Testing

@testable import RedisQueue

struct ReplyPollingTests {
    @Test func pollsUntilRepliesKeepComingAfterThePollsThenRestsAWhile() {
        var polling = ReplyPolling()
        #expect(polling.pollsForNextWait() == ReplyPolling.polls)
        // Misses that a caught reply interrupts never add up to a rest.
        for _ in 1..<ReplyPolling.missesBeforeRest { polling.record(caught: false) }
        polling.record(caught: true)
        for _ in 1..<ReplyPolling.missesBeforeRest { polling.record(caught: false) }
        #expect(polling.pollsForNextWait() == ReplyPolling.polls)

        // One more miss in a row: the next waits sleep at once, then polling is tried again.
        polling.record(caught: false)
        let rested = (0..<ReplyPolling.rest).map { _ in polling.pollsForNextWait() }
        #expect(rested.allSatisfy { $0 == 0 })
        #expect(polling.pollsForNextWait() == ReplyPolling.polls)
    }
}
