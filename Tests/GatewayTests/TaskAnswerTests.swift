import Foundation
import NIOCore
import Testing

@testable import Gateway

@Suite("TaskAnswer")
struct TaskAnswerTests {
    private let answers = TaskAnswer(results: URL(filePath: "/state/results"), baseURL: "http://127.0.0.1:5000")

    /// The answer's body as an object.
    private func object(_ answer: TaskAnswer.SyncAnswer?) throws -> [String: Any] {
        let answer = try #require(answer)
        return try #require(
            try JSONSerialization.jsonObject(with: Data(answer.body.readableBytesView)) as? [String: Any])
    }

    @Test("a JSON result gets its state, its text unchanged")
    func jsonResult() throws {
        let body = Data(#"{"result":"{\"x\": 1.0}","status":"SUCCESS"}"#.utf8)
        let answer = try #require(answers.sync(status: 200, body: ByteBuffer(bytes: body)))
        #expect(answer.state == "SUCCESS")
        #expect(try object(answer)["state"] as? String == "SUCCESS")
        #expect(try object(answer)["result"] as? String == #"{"x": 1.0}"#)
    }

    @Test("a pickle in the results folder is served by the gateway; other URLs are left")
    func resultURLs() throws {
        let body = Data(#"{"status":"SUCCESS","result_url":"file:///state/results/abc-1.pkl"}"#.utf8)
        let answer = try object(answers.sync(status: 200, body: ByteBuffer(bytes: body)))
        #expect(answer["state"] as? String == "SUCCESS")
        #expect(answer["result_url"] as? String == "http://127.0.0.1:5000/results/abc-1.pkl")
        let elsewhere = Data(#"{"status":"SUCCESS","result_url":"file:///elsewhere/x.pkl"}"#.utf8)
        #expect(
            try object(answers.sync(status: 200, body: ByteBuffer(bytes: elsewhere)))["result_url"] as? String
                == "file:///elsewhere/x.pkl"
        )
    }

    @Test("a predict error is a FAILURE with its traceback; other statuses pass through")
    func failures() throws {
        let body = Data(#"{"detail":{"traceback":"ValueError: no"}}"#.utf8)
        let answer = try object(answers.sync(status: 500, body: ByteBuffer(bytes: body)))
        #expect(answer["state"] as? String == "FAILURE")
        #expect(answer["traceback"] as? String == "ValueError: no")
        #expect(answers.sync(status: 400, body: ByteBuffer(string: #"{"detail":"bad"}"#)) == nil)
    }

    @Test("only plain pickle names are served")
    func resultNames() {
        #expect(ResultFiles.isValidName("0f1e-2d.pkl"))
        for name in ["../x.pkl", ".hidden.pkl", "a/b.pkl", "x.json", "é.pkl"] {
            #expect(!ResultFiles.isValidName(name))
        }
    }
}
