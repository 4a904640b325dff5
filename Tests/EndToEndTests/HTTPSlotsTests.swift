import Foundation
import TestSupport
import Testing

/// Many slots over HTTP: GIL-bound work is answered right and in order on every connection
/// whichever slot runs it, and GIL-releasing work still runs on every slot at once.
@Suite("launch-worker serve --listen with many slots")
struct HTTPSlotsTests {
    @Test("per_worker 8, GIL-bound predict: four connections of pipelined requests, each answered right and in order")
    func manySlotsAnswerInOrder() async throws {
        let worker = try await HTTPWorker.start("function", "127.0.0.1:0", ["--per-worker", "8"])
        let answers = try await withThrowingTaskGroup(of: (Int, [RawHTTP.Response]).self) { group in
            for connection in 0..<4 {
                group.addTask {
                    let requests = (0..<50).map { index in
                        RawHTTP.request(
                            "POST", "/predict", body: #"{"args": {"x": \#(connection), "y": \#(index * 10)}}"#,
                            close: index == 49)
                    }
                    return (connection, try await RawHTTP.exchange(worker.address, requests))
                }
            }
            return try await group.reduce(into: [:]) { $0[$1.0] = $1.1 }
        }
        for connection in 0..<4 {
            let responses = try #require(answers[connection])
            #expect(responses.map(\.status) == Array(repeating: 200, count: 50))
            #expect(
                responses.map { $0.json["result"] as? String } == (0..<50).map { #"{"sum": \#(connection + $0 * 10)}"# }
            )
        }
        #expect(await worker.stop() == 0)
    }

    @Test("per_worker 4, GIL-releasing predict: four requests on four connections run at once (a barrier)")
    func gilReleasingWorkOverlaps() async throws {
        let worker = try await HTTPWorker.start("barrier", "127.0.0.1:0", ["--per-worker", "4"])
        let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
            for index in 0..<4 {
                group.addTask {
                    try await worker.send("POST", "/predict", body: #"{"args": {"index": \#(index)}}"#).status
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        // With fewer calls at once, the barrier breaks after its timeout and the calls fail.
        #expect(statuses == [200, 200, 200, 200])
        #expect(await worker.stop() == 0)
    }
}
