import Testing
import WorkerCore

/// The slots' hand-outs, of real Python slots.
struct SlotPoolTests {
    /// Waits (yielding, not sleeping) until `condition` holds.
    private func until(_ condition: () -> Bool) async {
        while !condition() { await Task.yield() }
    }

    @Test func aWaitingRequestGetsTheNextSlotBeforeTheServingLoop() async throws {
        let pool = SlotPool([try await Harness("trivial").slot])
        let slot = try #require(await pool.acquire())
        #expect(!pool.requestsWaiting)

        let loop = Task { await pool.acquireForQueue() }
        // The loop waits first; a request comes after it.
        await until { pool.waiterCount == 1 }
        #expect(!pool.requestsWaiting)
        let request = Task { await pool.acquire() }
        await until { pool.requestsWaiting }

        pool.release(slot)
        #expect(await request.value === slot)
        #expect(!pool.requestsWaiting)
        pool.release(slot)
        #expect(await loop.value === slot)
    }

    @Test func wakingTheWaitersLeavesNoRequestWaiting() async throws {
        let pool = SlotPool([try await Harness("trivial").slot])
        let slot = try #require(await pool.acquire())
        let requests = (0..<3).map { _ in Task { await pool.acquire() } }
        await until { pool.requestsWaiting }
        pool.wakeWaiters()
        for request in requests { #expect(await request.value == nil) }
        #expect(!pool.requestsWaiting)
        pool.release(slot)
        #expect(pool.tryAcquire() === slot)
    }
}
