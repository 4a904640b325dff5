import HTTPEndpoint
import Testing

@Suite("EventLoopShare")
struct EventLoopShareTests {
    @Test("a process gets half of its share of the cores, at least one")
    func loops() {
        #expect(EventLoopShare.loops(cores: 1, processes: 1) == 1)
        #expect(EventLoopShare.loops(cores: 2, processes: 1) == 1)
        #expect(EventLoopShare.loops(cores: 2, processes: 2) == 1)
        #expect(EventLoopShare.loops(cores: 8, processes: 1) == 4)
        #expect(EventLoopShare.loops(cores: 16, processes: 2) == 4)
        #expect(EventLoopShare.loops(cores: 16, processes: 32) == 1)
        #expect(EventLoopShare.loops(cores: 16, processes: 0) == 8)
    }
}
