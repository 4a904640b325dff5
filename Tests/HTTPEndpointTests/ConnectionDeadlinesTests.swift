import NIOCore
import Testing

@testable import HTTPEndpoint

/// ``ConnectionDeadlines`` driven by hand: which wait runs, when it runs out, and whether a 408
/// can be written then; no sockets, no clock.
@Suite("ConnectionDeadlines")
struct ConnectionDeadlinesTests {
    private let limits = ConnectionDeadlines.Limits(header: .seconds(10), body: .seconds(60), idle: .seconds(75))

    private func at(_ seconds: Int64) -> NIODeadline {
        .uptimeNanoseconds(UInt64(1_000 + seconds) * 1_000_000_000)
    }

    private func opened() -> ConnectionDeadlines {
        var deadlines = ConnectionDeadlines(limits: limits)
        deadlines.opened(at: at(0))
        return deadlines
    }

    @Test("a connection that sends nothing is closed quietly after the header limit")
    func silentConnection() {
        let deadlines = opened()
        #expect(deadlines.waiting == .init(kind: .header, deadline: at(10)))
        #expect(deadlines.wake(at: at(9)) == .sleep(until: at(10)))
        #expect(deadlines.wake(at: at(10)) == .expired(.header, respond: false))
    }

    @Test("a head begun keeps the deadline of its first byte however slowly the rest comes; 408")
    func slowHead() {
        var deadlines = opened()
        deadlines.bytesRead(at: at(1))
        deadlines.bytesRead(at: at(9))
        #expect(deadlines.wake(at: at(10)) == .expired(.header, respond: true))
    }

    @Test("a body is timed from its head, once; 408 while nothing answered it")
    func slowBody() {
        var deadlines = opened()
        deadlines.headRead(at: at(2))
        #expect(deadlines.waiting == .init(kind: .body, deadline: at(62)))
        #expect(deadlines.wake(at: at(30)) == .sleep(until: at(40)))
        #expect(deadlines.wake(at: at(62)) == .expired(.body, respond: true))
    }

    @Test("a body answered before it arrived (413) is still timed, and closed without a 408")
    func bodyAnsweredEarly() {
        var deadlines = opened()
        deadlines.headRead(at: at(0))
        deadlines.responseBegan()
        deadlines.responseEnded(at: at(1))
        #expect(deadlines.waiting == .init(kind: .body, deadline: at(60)))
        #expect(deadlines.wake(at: at(60)) == .expired(.body, respond: false))
    }

    @Test("nothing is timed while a request read waits for its answer, however long")
    func busy() {
        var deadlines = opened()
        deadlines.headRead(at: at(0))
        deadlines.endRead(at: at(0))
        #expect(deadlines.waiting == nil)
        #expect(deadlines.wake(at: at(10_000)) == .stop)
        #expect(deadlines.firstWake(at: at(10_000)) == nil)
        deadlines.responseBegan()
        deadlines.responseEnded(at: at(10_000))
        #expect(deadlines.waiting == .init(kind: .idle, deadline: at(10_075)))
        #expect(deadlines.firstWake(at: at(10_000)) == at(10_010))
        #expect(deadlines.wake(at: at(10_075)) == .expired(.idle, respond: false))
    }

    @Test("a body pipelined behind a request still answered is timed only once that is answered")
    func pipelinedBody() {
        var deadlines = opened()
        deadlines.headRead(at: at(0))
        deadlines.endRead(at: at(0))
        deadlines.headRead(at: at(1))
        #expect(deadlines.waiting == nil)
        deadlines.responseBegan()
        deadlines.responseEnded(at: at(500))
        #expect(deadlines.waiting == .init(kind: .body, deadline: at(560)))
        #expect(deadlines.wake(at: at(560)) == .expired(.body, respond: true))
    }

    @Test("an idle connection's next head is timed from its first byte")
    func idleThenHead() {
        var deadlines = opened()
        deadlines.headRead(at: at(0))
        deadlines.endRead(at: at(0))
        deadlines.responseEnded(at: at(1))
        #expect(deadlines.waiting?.kind == .idle)
        deadlines.bytesRead(at: at(50))
        #expect(deadlines.waiting == .init(kind: .header, deadline: at(60)))
        #expect(deadlines.wake(at: at(60)) == .expired(.header, respond: true))
    }

    @Test("the timer set for one wait fires before the deadline of any later one")
    func timerNeverLate() throws {
        var deadlines = opened()
        // Set at the opening, for 10 s; every later wait ends later.
        let wake = deadlines.firstWake(at: at(0))
        #expect(wake == at(10))
        deadlines.headRead(at: at(0))
        deadlines.endRead(at: at(0))
        deadlines.responseEnded(at: at(0))
        deadlines.bytesRead(at: at(0))
        #expect(try #require(deadlines.waiting).deadline >= at(10))
    }
}
